/**
 * The drift processor: `predictions` → per model version, feature and event-time window, bin counts
 * against the version's frozen baseline → DriftReports on `monitoring.drift` (the archiver lands them
 * in ClickHouse `rheo.drift_reports`), Prometheus gauges, and a RetrainRequest on `training.requests`
 * when a window crosses the alert band (at most one per model per cool-down).
 *
 * Restart consistency: window state lives in Redis (store.ts), written with each chunk before the
 * runner commits its offset, compare-and-set on the offset it covers; reports and requests carry ids
 * derived from the window. So a kill -9 at any point gives the same reports as an uninterrupted run.
 *
 * Run: `node processors/drift/index.ts --from earliest|latest [--group-id <id>]`.
 */

import { createRedis, type Redis } from '../../kernel/clients.ts';
import { loadConfig, type RheoConfig } from '../../kernel/config.ts';
import { errorMessage } from '../../kernel/errors.ts';
import { createAdmin, createKafka, createProducer, type Kafka, type Producer } from '../../kernel/kafka.ts';
import { createLogger, type Logger } from '../../kernel/log.ts';
import { createRegistry, type Registry } from '../../kernel/metrics.ts';
import { RegistryFollower } from '../../registry/follower.ts';
import { parseProcessorArgs } from '../../runtime/args.ts';
import { ProcessorRunner, type RunnerOptions, runUntilSignalled } from '../../runtime/runner.ts';
import type { ProcessorSpec } from '../../runtime/types.ts';
import { CONTRACTS, type Prediction, SchemaCodec } from '../../schemas/index.ts';
import { TOPICS, type TopicEntry } from '../../topics/catalogue.ts';
import { type BaselineSource, registryBaselines } from './baselines.ts';
import { createDriftMetrics, type DriftMetrics } from './metrics.ts';
import { type DriftOutput, DriftReporter } from './reporter.ts';
import { type DriftSettings, loadDriftSettings } from './settings.ts';
import { driftSink, type StateCache } from './sink.ts';
import { DriftStore } from './store.ts';
import { type DriftInput, emptyState, type PartitionWrite, step } from './transform.ts';

export interface DriftSpecDeps {
  codec: SchemaCodec;
  store: DriftStore;
  baselines: BaselineSource;
  reporter: DriftReporter;
  settings: DriftSettings;
  input?: TopicEntry;
  metrics?: DriftMetrics;
  close?: () => Promise<void>;
}

/** The processor as the runner sees it: decode (never throws), the pure step bound to the cached state, the sink. */
export function driftSpec(deps: DriftSpecDeps): ProcessorSpec<DriftInput, PartitionWrite> {
  const { codec, store, baselines, settings, metrics } = deps;
  const cache: StateCache = new Map();
  const waited = new Set<string>();
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
    async transform(records) {
      const first = records[0];
      if (!first) return { writes: [], rejected: [] };
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
      let state = cache.get(first.partition);
      if (!state || state.next !== first.offset) state = (await store.load(first.partition)) ?? emptyState();
      const outcome = step(state, records, (m, v) => baselines.baseline(m, v), settings.window);
      if (metrics) {
        const { applied, skipped, late, unbaselined, undecodable } = outcome.stats;
        metrics.records.inc({ outcome: 'counted' }, applied - late - unbaselined - undecodable);
        metrics.records.inc({ outcome: 'late' }, late);
        metrics.records.inc({ outcome: 'unbaselined' }, unbaselined);
        metrics.records.inc({ outcome: 'undecodable' }, undecodable);
        metrics.records.inc({ outcome: 'redelivered' }, skipped);
      }
      return { writes: outcome.write ? [outcome.write] : [], rejected: outcome.rejected };
    },
    sink: driftSink(store, cache, deps.reporter, deps.close),
  };
}

/** Publishes to Kafka: reports keyed by model on `monitoring.drift`, requests on `training.requests`, acks=all. */
export async function kafkaDriftOutput(
  producer: Producer,
  codec: SchemaCodec,
  topics: { drift: TopicEntry; retrain: TopicEntry },
): Promise<DriftOutput> {
  const drift = await codec.forTopic(topics.drift.name, CONTRACTS.DriftReport);
  const retrain = await codec.forTopic(topics.retrain.name, CONTRACTS.RetrainRequest);
  return {
    async publish(reports, requests) {
      const topicMessages = [];
      if (reports.length > 0)
        topicMessages.push({
          topic: topics.drift.name,
          messages: reports.map((r) => ({ key: r.model_name, value: drift.encode(r) })),
        });
      if (requests.length > 0)
        topicMessages.push({
          topic: topics.retrain.name,
          messages: requests.map((r) => ({ key: r.model_name, value: retrain.encode(r) })),
        });
      if (topicMessages.length > 0) await producer.sendBatch({ acks: -1, topicMessages });
    },
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
  runner: ProcessorRunner<DriftInput, PartitionWrite>;
  store: DriftStore;
  reporter: DriftReporter;
  settings: DriftSettings;
  start(): Promise<void>;
  stop(reason?: string): Promise<void>;
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
  if (partitions.length === 0) throw new Error(`topic ${input.name} has no partitions (run \`rheo topics ensure\`)`);

  let follower: RegistryFollower | undefined;
  let baselines = givenBaselines;
  if (!baselines) {
    follower = new RegistryFollower({ kafka, codec, logger, groupPrefix: `${groupId}.registry` });
    await follower.start();
    await follower.waitUntilCaughtUp(120_000);
    baselines = registryBaselines(follower, logger);
  }
  const producer = createProducer(kafka);
  await producer.connect();
  const metrics = createDriftMetrics(deps.metrics);
  const reporter = new DriftReporter({
    store,
    baselines,
    settings,
    output: await kafkaDriftOutput(producer, codec, outputs),
    partitions,
    logger,
    metrics,
  });
  let timer: NodeJS.Timeout | undefined;
  const spec = driftSpec({
    codec,
    store,
    baselines,
    reporter,
    settings,
    input,
    metrics,
    close: async () => {
      clearInterval(timer);
      await reporter.run().catch(() => undefined);
      await Promise.allSettled([producer.disconnect(), follower?.stop()]);
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
  // Windows may become complete through another member's progress: look now and then, not only after our
  // own chunks. Stopped when the runner closes the sink.
  timer = setInterval(() => {
    reporter.run().catch((error: unknown) => logger.warn({ err: errorMessage(error) }, 'drift report pass failed'));
  }, reportIntervalMs);
  timer.unref();
  return {
    runner,
    store,
    reporter,
    settings,
    start: () => runner.start(),
    stop: (reason) => runner.stop(reason),
  };
}

if (import.meta.main) {
  const args = parseProcessorArgs(process.argv.slice(2));
  const config = loadConfig();
  const logger = createLogger('drift', { level: config.logLevel });
  const processor = await createDriftProcessor(config, { logger, metrics: createRegistry('drift') }, args);
  await runUntilSignalled(processor.runner, logger);
}
