/**
 * The trainer service: a consumer-group member on `training.requests`, bound to the one processor
 * runner. Several trainers share the requests (keyed by model, so one model's requests run in
 * order); each request is one run.
 *
 * How a long, one-request-one-run consumer fits the runner:
 * - one record per chunk and one partition at a time, so a trainer holds one run in flight;
 * - the run is the sink's write: it resolves once the run's outcome is durable — the version
 *   registered with its decision and COMPLETED produced, or FAILED produced for a failure retrying
 *   cannot fix (too little data, a bad request) — and only then does the runner commit the offset;
 * - a retriable failure (ClickHouse or Kafka down) throws: the runner pauses the partition and
 *   retries the request with backoff, nothing committed;
 * - the runner heartbeats on a timer while the write is in flight, and training yields to the event
 *   loop after every batch, so a long run keeps its membership; a trainer killed mid-run stops
 *   heartbeating, its session times out (`RHEO_TRAINER_SESSION_TIMEOUT_MS`) and another trainer gets
 *   the request, uncommitted;
 * - a rebalance during a run (a trainer joining) makes the runner drop the commit, so the request is
 *   delivered again: the run id comes from the request id, and a run that finds its version already
 *   registered only finishes the decision — a request never registers two versions;
 * - SIGTERM: the run is aborted after the runner's grace period (the abort signal of the write),
 *   FAILED (SHUTTING_DOWN, retriable) is produced, nothing is committed, and another trainer runs it.
 */

import { ClickHouseOfflineStore } from '../features/offline/clickhouse.ts';
import { FeatureRegistry } from '../features/registry.ts';
import { artifactResolver, loadServingSettings, openArtifactStore } from '../gateway/settings.ts';
import { createClickHouse } from '../kernel/clients.ts';
import type { RheoConfig } from '../kernel/config.ts';
import { errorMessage, isRetriable, type RheoError } from '../kernel/errors.ts';
import { createKafka } from '../kernel/kafka.ts';
import type { Logger } from '../kernel/log.ts';
import type { Registry } from '../kernel/metrics.ts';
import { ensureOfflineTables } from '../processors/archiver/index.ts';
import { RegistryClient } from '../registry/client.ts';
import { ProcessorRunner, type RunnerOptions } from '../runtime/runner.ts';
import type { ProcessorSpec, Rejection, SourceRecord } from '../runtime/types.ts';
import { CONTRACTS, type RetrainRequest, SchemaCodec } from '../schemas/index.ts';
import { TOPICS } from '../topics/catalogue.ts';
import { ClickHouseLabelSource } from './data/labels.ts';
import { KafkaRunEvents } from './events.ts';
import { type RunDeps, type RunProgressUpdate, type RunResult, runRequestFrom, runTraining } from './run.ts';
import { loadTrainerSettings, type TrainerSettings } from './settings.ts';
import type { TrainingSpec } from './spec.ts';
import { TRAINING_SPECS } from './specs/index.ts';
import { ClickHouseTracker } from './tracking.ts';

export interface ConnectedDeps {
  deps: RunDeps;
  close(): Promise<void>;
}

/** Everything a run needs, on the configured cluster: ClickHouse (labels, features, trials), the registry, artifacts, run events. */
export async function connectRunDeps(
  config: RheoConfig,
  logger: Logger,
  settings: TrainerSettings = loadTrainerSettings(),
  options: { registry?: RegistryClient; events?: RunDeps['events'] } = {},
): Promise<ConnectedDeps> {
  const serving = loadServingSettings(config);
  const clickhouse = createClickHouse(config);
  const closers: Array<() => Promise<void>> = [() => clickhouse.close()];
  try {
    await ensureOfflineTables(clickhouse, config.clickhouse.database);
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
      features: FeatureRegistry.demo(),
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
  /** Specs by model (default: `trainers/specs/`). A request for a model without one goes to the dead-letter topic. */
  specs?: Readonly<Record<string, TrainingSpec>>;
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

/** The processor: decode requests, pick those this trainer serves, and run each one as the sink's write. */
export function trainerSpec(
  run: (request: RetrainRequest, signal: AbortSignal) => Promise<void>,
  codec: SchemaCodec,
  specs: Readonly<Record<string, TrainingSpec>>,
  models?: readonly string[],
): ProcessorSpec<RetrainRequest, RetrainRequest> {
  return {
    name: 'trainer',
    inputs: [TOPICS.trainingRequests],
    async decode(raw) {
      return (await codec.decode<RetrainRequest>(raw.value ?? new Uint8Array(), { reader: CONTRACTS.RetrainRequest.type })).value;
    },
    transform(records: ReadonlyArray<SourceRecord<RetrainRequest>>) {
      const writes: RetrainRequest[] = [];
      const rejected: Rejection[] = [];
      for (const record of records) {
        const model = record.value.model_name;
        if (models && !models.includes(model)) continue;
        if (!specs[model])
          rejected.push({
            record,
            code: 'NOT_FOUND',
            reason: `no training spec for model ${model}; declared: ${Object.keys(specs).join(', ') || '(none)'}`,
          });
        else writes.push(record.value);
      }
      return { writes, rejected };
    },
    sink: {
      name: 'training-run',
      async write(requests, signal) {
        for (const request of requests) await run(request, signal);
      },
    },
  };
}

export async function createTrainer(
  config: RheoConfig,
  deps: { logger: Logger; metrics: Registry; registry?: RegistryClient; events?: RunDeps['events'] },
  options: TrainerOptions = {},
): Promise<ProcessorRunner<RetrainRequest, RetrainRequest>> {
  const { specs = TRAINING_SPECS, models, onOutcome, onProgress, settings: given, ...runnerOptions } = options;
  const settings = given ?? loadTrainerSettings();
  const log = deps.logger.child({ component: 'trainer' });
  const connected = await connectRunDeps(config, deps.logger, settings, {
    ...(deps.registry ? { registry: deps.registry } : {}),
    ...(deps.events ? { events: deps.events } : {}),
  });
  const codec = SchemaCodec.fromConfig(config.registry);
  const run = async (request: RetrainRequest, signal: AbortSignal) => {
    const spec = specs[request.model_name] as TrainingSpec;
    try {
      const result = await runTraining(connected.deps, spec, runRequestFrom(request), {
        signal,
        ...(onProgress ? { onProgress: (update: RunProgressUpdate) => onProgress(request, update) } : {}),
      });
      onOutcome?.({ ok: true, result });
    } catch (error) {
      onOutcome?.({ ok: false, requestId: request.event_id, model: request.model_name, error: error as Error });
      // Retriable (a store or the cluster is down, or we are shutting down): leave the request uncommitted and retry.
      if (isRetriable(error) || signal.aborted) throw error;
      // Otherwise FAILED is the run's durable outcome: the request is done.
      log.warn({ request: request.event_id, err: errorMessage(error) }, 'training request failed for good; committed');
    }
  };
  const spec = trainerSpec(run, codec, specs, models);
  spec.sink.close = () => connected.close();
  return new ProcessorRunner(spec, {
    kafka: createKafka(config.kafka, deps.logger, 'trainer'),
    logger: deps.logger,
    metrics: deps.metrics,
    startFrom: 'earliest',
    groupId: 'rheo.trainer',
    maxChunkRecords: 1,
    partitionsConsumedConcurrently: 1,
    sessionTimeoutMs: settings.sessionTimeoutMs,
    sinkRetry: { initialDelayMs: 1_000, maxDelayMs: settings.retryMaxDelayMs },
    shutdownGraceMs: 5_000,
    ...runnerOptions,
  });
}
