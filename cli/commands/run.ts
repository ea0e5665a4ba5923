/**
 * `rheo run <service> --from earliest|latest [--group-id ID] [--project DIR]`: runs one of Rheo's
 * stream services in the foreground until SIGTERM/SIGINT, through the same entry point as
 * `node processors/<name>/index.ts` (runtime/main.ts `runMain`), on the pinned Node. Start as many
 * as you like: members of one consumer group share its partitions.
 */

import { defineArgs } from '../../kernel/args.ts';
import { PROCESSOR_ARGS } from '../../runtime/args.ts';
import { type RunnableService, runMain, type ServiceEnvironment } from '../../runtime/main.ts';
import { defineCommand } from '../command.ts';

type ServiceBuilder = (environment: ServiceEnvironment) => Promise<RunnableService>;

/** Each service, imported only when run (the trainer pulls in TensorFlow.js). */
export const SERVICES: Record<string, { summary: string; load: () => Promise<ServiceBuilder> }> = {
  materializer: {
    summary: 'feature events → Redis (online) and ClickHouse (offline), every group of the project',
    load: async () => (await import('../../processors/materializer/index.ts')).materializerService,
  },
  archiver: {
    summary: 'predictions, feedback, lifecycle, training and drift events → their ClickHouse history tables',
    load: async () => (await import('../../processors/archiver/index.ts')).archiverService,
  },
  scorer: {
    summary: 'prediction requests → micro-batched ONNX scoring → predictions',
    load: async () => (await import('../../processors/scorer/index.ts')).scorerService,
  },
  'feedback-joiner': {
    summary: 'feedback joined to logged predictions → prediction outcomes and live quality',
    load: async () => (await import('../../processors/feedback-joiner/index.ts')).feedbackJoinerService,
  },
  drift: {
    summary: 'windowed PSI/KL per feature and prediction → drift reports and retraining requests',
    load: async () => (await import('../../processors/drift/index.ts')).driftService,
  },
  trainer: {
    summary: 'retraining requests → point-in-time training set → TensorFlow.js → ONNX → registered version',
    load: async () => (await import('../../trainers/index.ts')).trainerService,
  },
  'rollout-controller': {
    summary: 'staged versions → shadow → canary steps → promotion (or rollback), by each model’s rollout policy, on live quality',
    load: async () => (await import('../../serving/rollout/controller.ts')).rolloutControllerService,
  },
};

const RUN_ARGS = defineArgs({
  program: 'rheo run',
  positionals: [{ name: 'service', description: `one of: ${Object.keys(SERVICES).join(', ')}`, required: true }],
  flags: PROCESSOR_ARGS.flags,
  notes: Object.entries(SERVICES).map(([name, s]) => `${name}: ${s.summary}`),
});

export const runCommand = defineCommand({
  name: 'run',
  summary:
    'run one stream service (materializer, archiver, scorer, feedback-joiner, drift, trainer, rollout-controller) until SIGTERM',
  args: RUN_ARGS,
  async run({ positionals, flags }, io) {
    const name = positionals.service;
    const entry = SERVICES[name];
    if (!entry) {
      io.err(`rheo run: no service "${name}"; one of: ${Object.keys(SERVICES).join(', ')}`);
      return 2;
    }
    // Checked already by the same declaration; runMain parses them again into the runner's options.
    const argv = [
      '--from',
      flags.from,
      ...(flags['group-id'] ? ['--group-id', flags['group-id']] : []),
      ...(flags.project ? ['--project', flags.project] : []),
    ];
    await runMain(name, await entry.load(), argv);
    return Number(process.exitCode ?? 0);
  },
});
