/**
 * The supervisor's process: `node daemon.ts <plan file>`, started detached by `rheo up` (client.ts).
 * Its stdout and stderr are `<stack>/logs/services/supervisor.log`, so its pino logs (JSON) land there.
 */
import { createLogger } from '../../../kernel/log.ts';
import { runSupervisor } from './supervisor.ts';

if (import.meta.main) {
  const planFile = process.argv[2];
  if (!planFile) {
    process.stderr.write('usage: node deploy/local/services/daemon.ts <plan file> (rheo up starts it)\n');
    process.exitCode = 2;
  } else {
    await runSupervisor(planFile, createLogger('rheo-supervisor'));
  }
}
