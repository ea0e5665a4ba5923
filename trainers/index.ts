/**
 * The trainer service's entry point: `node trainers/index.ts --from earliest|latest` (or `rheo train serve`). Run as many
 * as you like; they share `training.requests` as the consumer group `rheo.trainer`. A new group
 * starts from the earliest request still retained.
 */
import { runMain } from '../runtime/main.ts';
import { createTrainer } from './service.ts';

export { connectRunDeps, createTrainer, type RunOutcome, type TrainerOptions } from './service.ts';

if (import.meta.main) {
  await runMain('trainer', ({ config, logger, metrics, args }) => createTrainer(config, { logger, metrics }, args));
}
