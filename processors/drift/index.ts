/**
 * The drift processor: `predictions` → per model version, feature and event-time window, bin counts
 * against the version's frozen baseline → DriftReports on `monitoring.drift` (the archiver lands them
 * in ClickHouse `rheo.drift_reports`), Prometheus gauges, and a RetrainRequest on `training.requests`
 * when a window crosses the alert band (at most one per model per cool-down).
 *
 * Stages: decode (never throws: undecodable records are counted in their window's dlq_count) →
 * enrich (waits, once per version, for the registry to know a version's baseline) → transform (pure:
 * `step` folds the chunk into the partition's window state) → state flush (Redis, compare-and-set on
 * the offset it covers, store.ts) → commit. A punctuation reports the windows every partition has
 * closed (reporter.ts), through the context's `forward`; a commit that moved the closing horizon
 * triggers it at once.
 *
 * Restart consistency: reports and requests carry ids derived from the window, and window state is
 * flushed before offsets commit, so a kill -9 at any point gives the same reports as an
 * uninterrupted run.
 *
 * Run: `node processors/drift/index.ts --from earliest|latest [--group-id <id>]`.
 */

import { createRedis, type Redis } from '../../kernel/clients.ts';
import type { RheoConfig } from '../../kernel/config.ts';
import { errorMessage, RheoError, rheoError } from '../../kernel/errors.ts';
import { createAdmin, createKafka, type Kafka } from '../../kernel/kafka.ts';
import type { Logger } from '../../kernel/log.ts';
import type { Registry } from '../../kernel/metrics.ts';
import type { ModelDecl } from '../../projects/declaration.ts';
import { RegistryFollower } from '../../registry/follower.ts';
import { runMain, type ServiceEnvironment } from '../../runtime/main.ts';
import type { Readiness } from '../../runtime/ops.ts';
import { ProcessorRunner, type RunnerOptions } from '../../runtime/runner.ts';
import type { ForwardMessage, ProcessorContext, ProcessorSpec, StateStore } from '../../runtime/types.ts';
import { CONTRACTS, type Prediction, SchemaCodec } from '../../schemas/index.ts';
import { TOPICS, type TopicEntry } from '../../topics/catalogue.ts';
import { type BaselineSource, registryBaselines } from './baselines.ts';
import { createDriftMetrics, type DriftMetrics } from './metrics.ts';
import { type DriftOutput, DriftReporter, type ReportPass } from './reporter.ts';
import { type DriftSettings, loadDriftSettings, type ModelDriftOverride } from './settings.ts';
import { DriftStore } from './store.ts';
import { type DriftInput, emptyState, type PartitionState, type PartitionWrite, step } from './transform.ts';

/** The window store as the runner's state store: an update is a chunk's `PartitionWrite`. */
export function driftStateStore(store: DriftStore): StateStore<PartitionState, PartitionWrite> {
  return {
    name: 'drift-window-store',
    load: (partition) => store.load(partition),
    async flush(partition, write) {
      let outcome: Awaited<ReturnType<DriftStore['persist']>>;
      try {
        outcome = await store.persist(write);
      } catch (error) {
        throw new RheoError('SINK_UNAVAILABLE', `drift window store write failed: ${errorMessage(error)}`, { cause: error });
      }
      if (outcome === 'conflict')
        throw new RheoError(
          'SINK_UNAVAILABLE',
          `window state of ${write.topic}/${partition} was changed by another member; the chunk will be redelivered`,
        );
      // 'already': a retried flush found its state stored (the stored state is this write's).
      return write.state;
    },
  };
}

/** Publishes through a context's `forward`: reports keyed by model on `monitoring.drift`, requests on `training.requests`. */
export async function forwardDriftOutput(
  forward: ProcessorContext['forward'],
  codec: SchemaCodec,
  topics: { drift: TopicEntry; retrain: TopicEntry },
): Promise<DriftOutput> {
  const drift = await codec.forTopic(topics.drift.name, CONTRACTS.DriftReport);
  const retrain = await codec.forTopic(topics.retrain.name, CONTRACTS.RetrainRequest);
  return {
    async publish(reports, requests) {
      const toMessages = <T extends { model_name: string }>(rows: readonly T[], encode: (row: T) => Buffer): ForwardMessage[] =>
        rows.map((r) => ({ key: r.model_name, value: encode(r) }));
      await forward(
        topics.drift,
        toMessages(reports, (r) => drift.encode(r)),
      );
      await forward(
        topics.retrain,
        toMessages(requests, (r) => retrain.encode(r)),
      );
    },
  };
}

export interface DriftSpecDeps {
  codec: SchemaCodec;
  store: DriftStore;
  baselines: BaselineSource;
  reporter: DriftReporter;
  settings: DriftSettings;
  input?: TopicEntry;
  outputs?: { drift: TopicEntry; retrain: TopicEntry };
  metrics?: DriftMetrics;
  /** How often each partition's punctuation looks for complete windows; default 1000 ms. */
  reportIntervalMs?: number;
  logger?: Logger;
  close?: () => Promise<void>;
}

/** The processor as the runner sees it. */
export function driftSpec(deps: DriftSpecDeps): ProcessorSpec<DriftInput, never, DriftInput, PartitionState, PartitionWrite> {
  const { codec, baselines, settings, metrics, reporter } = deps;
  const outputs = deps.outputs ?? { drift: TOPICS.monitoringDrift, retrain: TOPICS.trainingRequests };
  const waited = new Set<string>();
  let output: Promise<DriftOutput> | undefined;
  return {
    name: 'drift',
    inputs: [deps.input ?? TOPICS.predictions],
    async decode(raw) {
      try {
        const decoded = await codec.decode<Prediction>(raw.value ?? new Uint8Array(), { reader: CONTRACTS.Prediction.type });
        return { ok: true, prediction: decoded.value };
      } catch (error) {
        // Refused by the transform, so the record is dead-lettered and also counted in its window's dlq_count.
        return { ok: false, reason: errorMessage(error) };
      }
    },
    state: { store: driftStateStore(deps.store), initial: emptyState },
    supply(context) {
      // Windows may become complete through another member's progress: look now and then, not only after our own chunks.
      const reports = context.schedule(deps.reportIntervalMs ?? 1_000, async () => {
        // One output for the processor (every context forwards through the same runner producer), made
        // on first use inside the punctuation, so a registry failure is a failed pass that the next retries.
        output ??= forwardDriftOutput(context.forward, codec, outputs).catch((error: unknown) => {
          output = undefined;
          throw error;
        });
        await reporter.run(await output);
      });
      return {
        async enrich(records) {
          // A version's registration precedes its predictions; give the registry a moment to catch up, once per version.
          const unknown = new Map<string, [string, string]>();
          for (const r of records) {
            if (!r.value.ok) continue;
            const { model_name: m, model_version: v } = r.value.prediction;
            const k = `${m}\u0000${v}`;
            if (!waited.has(k) && !baselines.knows(m, v)) unknown.set(k, [m, v]);
          }
          if (unknown.size > 0) {
            await baselines.waitFor([...unknown.values()], settings.baselineWaitMs);
            for (const k of unknown.keys()) waited.add(k);
          }
          return { records: [...records], rejected: [] };
        },
        transform(records, state) {
          const outcome = step(state, records, (m, v) => baselines.baseline(m, v), settings.window);
          if (metrics) {
            const { applied, skipped, late, unbaselined, undecodable } = outcome.stats;
            metrics.records.inc({ outcome: 'counted' }, applied - late - unbaselined - undecodable);
            metrics.records.inc({ outcome: 'late' }, late);
            metrics.records.inc({ outcome: 'unbaselined' }, unbaselined);
            metrics.records.inc({ outcome: 'undecodable' }, undecodable);
            metrics.records.inc({ outcome: 'redelivered' }, skipped);
          }
          return { writes: [], rejected: outcome.rejected, ...(outcome.write ? { update: outcome.write } : {}) };
        },
        committed({ update }) {
          // Windows complete only when some partition's horizon crosses their end.
          if (update?.crossed) reports.trigger();
        },
      };
    },
    ...(deps.close ? { close: deps.close } : {}),
  };
}

export interface DriftProcessorOptions extends Partial<Omit<RunnerOptions, 'startFrom' | 'kafka' | 'logger' | 'metrics'>> {
  /** Where a new consumer group starts reading. Required. */
  startFrom: 'earliest' | 'latest';
  input?: TopicEntry;
  outputs?: { drift: TopicEntry; retrain: TopicEntry };
  settings?: DriftSettings;
  /** Default: the registry, followed from `models.lifecycle`. */
  baselines?: BaselineSource;
  /** Redis key namespace; default `rheo:drift:<group>:<input topic>`. */
  namespace?: string;
  /** How often windows are checked for completeness besides after each chunk; default 1000 ms. */
  reportIntervalMs?: number;
}

export interface DriftProcessor {
  runner: ProcessorRunner<DriftInput, never, DriftInput, PartitionState, PartitionWrite>;
  store: DriftStore;
  reporter: DriftReporter;
  settings: DriftSettings;
  /** One reporting pass now, published through the runner (what the partitions' punctuation runs). */
  report(): Promise<ReportPass>;
  start(): Promise<void>;
  stop(reason?: string): Promise<void>;
  finished(): Promise<void>;
  /** The runner's: a running member of its group (the registry was folded before it was built). */
  readiness(): Readiness;
}

async function partitionsOf(kafka: Kafka, topic: string): Promise<number[]> {
  const admin = createAdmin(kafka);
  await admin.connect();
  try {
    const metadata = await admin.fetchTopicMetadata({ topics: [topic] });
    return (metadata.topics[0]?.partitions ?? []).map((p) => p.partitionId).sort((a, b) => a - b);
  } finally {
    await admin.disconnect();
  }
}

export async function createDriftProcessor(
  config: RheoConfig,
  deps: { logger: Logger; metrics: Registry; codec?: SchemaCodec; redis?: Redis },
  options: DriftProcessorOptions,
): Promise<DriftProcessor> {
  const {
    input = TOPICS.predictions,
    outputs = { drift: TOPICS.monitoringDrift, retrain: TOPICS.trainingRequests },
    settings = loadDriftSettings(),
    namespace,
    reportIntervalMs = 1_000,
    baselines: givenBaselines,
    ...runnerOptions
  } = options;
  const logger = deps.logger.child({ processor: 'drift' });
  const kafka = createKafka(config.kafka, deps.logger, 'drift');
  const codec = deps.codec ?? SchemaCodec.fromConfig(config.registry);
  const redis = deps.redis ?? createRedis(config);
  const groupId = runnerOptions.groupId ?? 'rheo.drift';
  const store = new DriftStore(redis, namespace ?? `rheo:drift:${groupId}:${input.name}`);
  const partitions = await partitionsOf(kafka, input.name);
  if (partitions.length === 0) throw rheoError('KAFKA_TOPIC_MISSING', { topic: input.name });

  let follower: RegistryFollower | undefined;
  let baselines = givenBaselines;
  if (!baselines) {
    follower = new RegistryFollower({ kafka, codec, logger, groupPrefix: `${groupId}.registry` });
    await follower.start();
    await follower.waitUntilCaughtUp(120_000);
    baselines = registryBaselines(follower, logger);
  }
  const metrics = createDriftMetrics(deps.metrics);
  const reporter = new DriftReporter({ store, baselines, settings, partitions, logger, metrics });
  const spec = driftSpec({
    codec,
    store,
    baselines,
    reporter,
    settings,
    input,
    outputs,
    metrics,
    reportIntervalMs,
    close: async () => {
      await follower?.stop();
      if (!deps.redis) redis.disconnect();
    },
  });
  const runner = new ProcessorRunner(spec, {
    kafka,
    logger: deps.logger,
    metrics: deps.metrics,
    groupId,
    ...runnerOptions,
    startFrom: options.startFrom,
  });
  return {
    runner,
    store,
    reporter,
    settings,
    report: async () =>
      reporter.run(await forwardDriftOutput((topic, messages) => runner.forward(topic, messages), codec, outputs)),
    start: () => runner.start(),
    stop: (reason) => runner.stop(reason),
    finished: () => runner.finished(),
    readiness: () => runner.readiness(),
  };
}

/**
 * Drift as a service: each project model's declared thresholds, minimum sample and cool-down, under
 * what `RHEO_DRIFT_MODELS` says for a model (an operator's override wins). Window geometry stays
 * global (`RHEO_DRIFT_WINDOW_MS`…): the stored window state depends on it.
 */
export async function driftService({ config, logger, metrics, args, project }: ServiceEnvironment): Promise<DriftProcessor> {
  const settings = loadDriftSettings();
  const declared = projectDriftOverrides((await project()).project.models);
  const models: Record<string, ModelDriftOverride> = { ...declared };
  for (const [model, override] of Object.entries(settings.models))
    models[model] = {
      ...declared[model],
      ...override,
      thresholds: { ...declared[model]?.thresholds, ...override.thresholds },
    };
  return createDriftProcessor(config, { logger, metrics }, { ...args, settings: { ...settings, models } });
}

/** Pure: the drift policy fields each model declares (what it leaves out keeps the processor's defaults). */
export function projectDriftOverrides(models: readonly Pick<ModelDecl, 'name' | 'drift'>[]): Record<string, ModelDriftOverride> {
  const out: Record<string, ModelDriftOverride> = {};
  for (const { name, drift } of models) {
    if (!drift) continue;
    out[name] = {
      ...(drift.thresholds ? { thresholds: drift.thresholds } : {}),
      ...(drift.minSamples !== undefined ? { minSamples: drift.minSamples } : {}),
      ...(drift.cooldownMs !== undefined ? { cooldownMs: drift.cooldownMs } : {}),
    };
  }
  return out;
}

if (import.meta.main) await runMain('drift', driftService);
