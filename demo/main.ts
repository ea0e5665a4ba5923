/**
 * `npm run demo`: brings the local stack up and runs the end-to-end demo loop. The demo is a client of
 * Rheo's commands and services; nothing in the CLI or the services imports it.
 */
import { processIO } from '../cli/command.ts';
import { stackCommand } from '../cli/commands/stack.ts';
import { runDemo } from './loop.ts';

async function main(argv: string[]): Promise<number> {
  const index = argv.indexOf('--transactions');
  const transactions = index >= 0 ? Number(argv[index + 1]) : undefined;
  processIO.out('[0] Local stack');
  const up = await stackCommand.run(['up'], processIO);
  if (up !== 0) return up;
  await runDemo(processIO, transactions ? { transactions } : {});
  return 0;
}

if (import.meta.main) process.exitCode = await main(process.argv.slice(2));
