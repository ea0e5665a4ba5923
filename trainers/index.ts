/**
 * The trainer service's entry point: `node trainers/index.ts` (or `rheo train serve`). Run as many
 * as you like; they share `training.requests` as the consumer group `rheo.trainer`. A new group
 * starts from the earliest request still retained.
 */
import { loadConfig } from '../kernel/config.ts';
import { createLogger } from '../kernel/log.ts';
import { createRegistry } from '../kernel/metrics.ts';
import { runUntilSignalled } from '../runtime/runner.ts';
import { createTrainer } from './service.ts';

export { connectRunDeps, createTrainer, type RunOutcome, type TrainerOptions } from './service.ts';

if (import.meta.main) {
  const config = loadConfig();
  const logger = createLogger('trainer', { level: config.logLevel });
  const runner = await createTrainer(config, { logger, metrics: createRegistry('trainer') });
  await runUntilSignalled(runner, logger);
}
