/**
 * The trainer service's entry point: `node trainers/index.ts --from earliest|latest [--project DIR]` (or `rheo run trainer`). Run as many
 * as you like; they share `training.requests` as the consumer group `rheo.trainer`. A new group
 * starts from the earliest request still retained.
 */
import { runMain, type ServiceEnvironment } from '../runtime/main.ts';
import { createTrainer } from './service.ts';

export { connectRunDeps, createTrainer, type RunOutcome, type TrainerOptions } from './service.ts';

/** The trainer service as `runMain` builds it: the project's trainable models. */
export const trainerService = async ({ config, logger, metrics, args, project }: ServiceEnvironment) =>
  createTrainer(config, { logger, metrics }, { ...args, project: await project() });

if (import.meta.main) await runMain('trainer', trainerService);
