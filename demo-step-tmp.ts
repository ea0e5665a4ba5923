import { loadConfig } from './kernel/config.ts';
import { createLogger } from './kernel/log.ts';
import { trainingStep } from './demo/steps/training.ts';
import { processIO } from './cli/command.ts';
const t0 = Date.now();
const r = await trainingStep(processIO, { config: loadConfig(), logger: createLogger('demo', { level: 'error' }) });
console.log('done', r.model, r.version, r.stage, (Date.now() - t0) / 1000);
process.exit(0);
