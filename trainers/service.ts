/**
 * The trainer service: a consumer-group member on `training.requests`, on the one runner in its
 * long-task mode (`runtime/task.ts`). Several trainers share the requests (keyed by model, so one
 * model's requests run in order); each request is one run.
 *
 * Stages: decode (RetrainRequest) → accept (a pool may serve only some models: others are passed over,
 * committed unrun; a model without a spec is dead-lettered) → the task (`runTraining`, abortable) →
 * outcome sink (observers and metrics) → commit.
 * - The run's outcome is durable before the task resolves: the version registered with its decision
 *   and COMPLETED produced, or FAILED produced for a failure retrying cannot fix (too little data, a
 *   bad request); only then is the offset committed.
 * - A retriable failure (ClickHouse or Kafka down) throws: the runner pauses the partition and runs
 *   the request again with backoff, nothing committed.
 * - The runner heartbeats on a timer while the task runs, and training yields to the event loop
 *   after every batch, so a long run keeps its membership; a trainer killed mid-run stops
 *   heartbeating, its session times out (`RHEO_TRAINER_SESSION_TIMEOUT_MS`) and another trainer gets
 *   the request, uncommitted.
 * - A rebalance or SIGTERM aborts the run at once; uncommitted, the request is delivered again: the run
 *   id comes from the request id, and a run that finds its version already registered only finishes
 *   the decision — a request never registers two versions.
 */

import { ClickHouseOfflineStore } from '../features/offline/clickhouse.ts';
import type { FeatureRegistry } from '../features/registry.ts';
import { artifactResolver, loadServingSettings, openArtifactStore } from '../gateway/settings.ts';
import { createClickHouse } from '../kernel/clients.ts';
import type { RheoConfig } from '../kernel/config.ts';
import { errorMessage, isRetriable, type RheoError } from '../kernel/errors.ts';
import { createKafka } from '../kernel/kafka.ts';
import type { Logger } from '../kernel/log.ts';
import { Counter, type Registry } from '../kernel/metrics.ts';
import type { ProjectContext } from '../projects/context.ts';
import { RegistryClient } from '../registry/client.ts';
import { ProcessorRunner, type RunnerOptions } from '../runtime/runner.ts';
import { longTaskProcessor } from '../runtime/task.ts';
import type { ProcessorSpec, Sink } from '../runtime/types.ts';
import { CONTRACTS, type RetrainRequest, SchemaCodec } from '../schemas/index.ts';
import { ensureHistoryTables } from '../tables/admin.ts';
import { TOPICS } from '../topics/catalogue.ts';
import { ClickHouseLabelSource } from './data/labels.ts';
import { KafkaRunEvents } from './events.ts';
import { type RunDeps, type RunProgressUpdate, type RunResult, runRequestFrom, runTraining } from './run.ts';
import { loadTrainerSettings, type TrainerSettings } from './settings.ts';
import type { TrainingSpec } from './spec.ts';
import { ClickHouseTracker } from './tracking.ts';

export interface ConnectedDeps {
  deps: RunDeps;
  close(): Promise<void>;
}

/** Everything a run needs, on the configured cluster: ClickHouse (labels, features, trials), the registry, artifacts, run events. */
export async function connectRunDeps(
  config: RheoConfig,
  logger: Logger,
  features: FeatureRegistry,
  settings: TrainerSettings = loadTrainerSettings(),
  options: { registry?: RegistryClient; events?: RunDeps['events'] } = {},
): Promise<ConnectedDeps> {
  const serving = loadServingSettings(config);
  const clickhouse = createClickHouse(config);
  const closers: Array<() => Promise<void>> = [() => clickhouse.close()];
  try {
    await ensureHistoryTables(clickhouse, config.clickhouse.database);
    const registry = options.registry ?? (await RegistryClient.connect(config, logger));
    if (!options.registry) closers.push(() => registry.close());
    let events = options.events;
    if (!events) {
      const kafkaEvents = await KafkaRunEvents.create(
        createKafka(config.kafka, logger, 'trainer-runs'),
        SchemaCodec.fromConfig(config.registry),
      );
      closers.push(() => kafkaEvents.close());
      events = kafkaEvents;
    }
    const deps: RunDeps = {
      logger,
      labels: new ClickHouseLabelSource(clickhouse, config.clickhouse.database),
      offline: new ClickHouseOfflineStore(clickhouse, { database: config.clickhouse.database }),
      features,
      registry,
      artifacts: openArtifactStore(serving),
      resolver: artifactResolver(serving),
      tracker: new ClickHouseTracker(clickhouse, config.clickhouse.database),
      events,
      trainer: settings.instance,
      backend: settings.backend,
    };
    return {
      deps,
      async close() {
        for (const close of closers.reverse()) await close().catch(() => undefined);
      },
    };
  } catch (error) {
    for (const close of closers.reverse()) await close().catch(() => undefined);
    throw error;
  }
}

export type RunOutcome =
  | { ok: true; result: RunResult }
  | { ok: false; requestId: string; model: string; error: RheoError | Error };

export interface TrainerOptions extends Partial<RunnerOptions> {
  /**
   * The project's trainable models (`trainingSpecs`, a request for a model without one goes to the
   * dead-letter topic) and the feature groups their inputs resolve in.
   */
  project: Pick<ProjectContext, 'features' | 'trainingSpecs'>;
  /**
   * Serve only these models; requests for others are passed over (committed unrun). For a pool
   * dedicated to some models, with its own consumer group.
   */
  models?: readonly string[];
  settings?: TrainerSettings;
  /** Told about every run's outcome (the demo and tests watch it). */
  onOutcome?: (outcome: RunOutcome) => void;
  onProgress?: (request: RetrainRequest, update: RunProgressUpdate) => void;
}

/** The processor: decode requests, accept those this trainer serves, run each as one abortable task. */
export function trainerSpec(
  run: (request: RetrainRequest, signal: AbortSignal) => Promise<RunOutcome>,
  codec: SchemaCodec,
  specs: Readonly<Record<string, TrainingSpec>>,
  outcomes: Sink<RunOutcome>,
  models?: readonly string[],
): ProcessorSpec<RetrainRequest, RunOutcome, RunOutcome> {
  return longTaskProcessor({
    name: 'trainer',
    inputs: [TOPICS.trainingRequests],
    async decode(raw) {
      return (await codec.decode<RetrainRequest>(raw.value ?? new Uint8Array(), { reader: CONTRACTS.RetrainRequest.type })).value;
    },
    accept(request) {
      const model = request.model_name;
      if (models && !models.includes(model)) return { run: false };
      if (!specs[model])
        return {
          run: false,
          code: 'NOT_FOUND',
          reason: `no training spec for model ${model}; declared: ${Object.keys(specs).join(', ') || '(none)'}`,
        };
      return { run: true };
    },
    run: (record, signal) => run(record.value, signal),
    outcomes,
  });
}

/** Where finished runs are reported: observers (the demo, tests), the log and a counter per outcome. */
export function runOutcomeSink(registry: Registry, logger: Logger, onOutcome?: (outcome: RunOutcome) => void): Sink<RunOutcome> {
  const runs = new Counter({
    name: 'rheo_trainer_runs_total',
    help: 'Training requests finished by this trainer, by outcome (completed, failed for good)',
    labelNames: ['outcome'],
    registers: [registry],
  });
  return {
    name: 'training-outcomes',
    async write(outcomes) {
      for (const outcome of outcomes) {
        runs.inc({ outcome: outcome.ok ? 'completed' : 'failed' });
        if (!outcome.ok)
          logger.warn(
            { request: outcome.requestId, model: outcome.model, err: errorMessage(outcome.error) },
            'training request failed for good; committed',
          );
        onOutcome?.(outcome);
      }
    },
  };
}

export async function createTrainer(
  config: RheoConfig,
  deps: { logger: Logger; metrics: Registry; registry?: RegistryClient; events?: RunDeps['events'] },
  options: TrainerOptions,
): Promise<ProcessorRunner<RetrainRequest, RunOutcome, RunOutcome>> {
  const { project, models, onOutcome, onProgress, settings: given, ...runnerOptions } = options;
  const specs = project.trainingSpecs;
  const settings = given ?? loadTrainerSettings();
  const log = deps.logger.child({ component: 'trainer' });
  const connected = await connectRunDeps(config, deps.logger, project.features, settings, {
    ...(deps.registry ? { registry: deps.registry } : {}),
    ...(deps.events ? { events: deps.events } : {}),
  });
  const codec = SchemaCodec.fromConfig(config.registry);
  const run = async (request: RetrainRequest, signal: AbortSignal): Promise<RunOutcome> => {
    const spec = specs[request.model_name] as TrainingSpec;
    try {
      const result = await runTraining(connected.deps, spec, runRequestFrom(request), {
        signal,
        ...(onProgress ? { onProgress: (update: RunProgressUpdate) => onProgress(request, update) } : {}),
      });
      return { ok: true, result };
    } catch (error) {
      const outcome: RunOutcome = { ok: false, requestId: request.event_id, model: request.model_name, error: error as Error };
      // Retriable (a store or the cluster is down, or we are shutting down): leave the request uncommitted and retry.
      if (isRetriable(error) || signal.aborted) {
        onOutcome?.(outcome);
        log.info({ request: request.event_id, err: errorMessage(error) }, 'training run interrupted; it will run again');
        throw error;
      }
      // Otherwise FAILED is the run's durable outcome: the request is done.
      return outcome;
    }
  };
  const spec: ProcessorSpec<RetrainRequest, RunOutcome, RunOutcome> = {
    ...trainerSpec(run, codec, specs, runOutcomeSink(deps.metrics, log, onOutcome), models),
    close: () => connected.close(),
  };
  return new ProcessorRunner(spec, {
    kafka: createKafka(config.kafka, deps.logger, 'trainer'),
    logger: deps.logger,
    metrics: deps.metrics,
    startFrom: 'earliest',
    groupId: 'rheo.trainer',
    sessionTimeoutMs: settings.sessionTimeoutMs,
    sinkRetry: { initialDelayMs: 1_000, maxDelayMs: settings.retryMaxDelayMs },
    shutdownGraceMs: 5_000,
    ...runnerOptions,
  });
}
