/**
 * `npm run bench -- drift [--events 100000] [--wide-events 3000] [--features 10] [--wide-features 1000]`
 *
 * One run, one broker; for each feature count (10, then 1000):
 *   1. produce N Avro Prediction events of a fresh model to a fresh 3-partition topic, spread over ten
 *      one-minute event-time windows, plus one closing event per partition;
 *   2. raw kafkajs on that topic: a consumer group that only counts the records (the ceiling), then one
 *      that also Avro-decodes them; then the shared runner with the same decode and a no-op transform
 *      and sink (what any processor pays for offsets, chunks and commits);
 *   3. the drift processor (the shared runner, window state in Redis, reports to Kafka) in its own
 *      process, from its first record fetched to its last folded (its listed metrics), with its peak RSS
 *      and the size of its window state (what Redis holds per partition: O(versions × features × bins)).
 * Everything the run creates (topics, consumer groups' Redis state) is removed at the end.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { defineArgs, parseArgs } from '../kernel/args.ts';
import { createRedis } from '../kernel/clients.ts';
import { loadConfig } from '../kernel/config.ts';
import { type Admin, createAdmin, createKafka, createProducer, type Kafka, type ProducerMessage } from '../kernel/kafka.ts';
import { createLogger } from '../kernel/log.ts';
import { createRegistry } from '../kernel/metrics.ts';
import { rng } from '../kernel/random.ts';
import { sleep } from '../kernel/retry.ts';
import { DriftStore } from '../processors/drift/store.ts';
import { ProcessorRunner } from '../runtime/runner.ts';
import { CONTRACTS, type DriftBaseline, type PredictionInput, SchemaCodec } from '../schemas/index.ts';
import { deterministicUuid } from '../serving/scoring.ts';
import { ensureTopics } from '../topics/admin.ts';
import { type TopicEntry, withDeadLetters } from '../topics/catalogue.ts';
import { numericBaseline } from '../trainers/baseline.ts';
import { report, round } from './lib.ts';

export const BENCH_ARGS = defineArgs({
  program: 'npm run bench -- drift',
  flags: {
    features: { type: 'number', integer: true, min: 1, default: 10, description: 'features of the narrow run' },
    events: { type: 'number', integer: true, min: 1, default: 100_000, description: 'events of the narrow run' },
    'wide-features': { type: 'number', integer: true, min: 1, default: 1_000, description: 'features of the wide run' },
    'wide-events': { type: 'number', integer: true, min: 1, default: 3_000, description: 'events of the wide run' },
  },
});

const log = (text: string) => process.stderr.write(`${text}\n`);
const WINDOW_MS = 60_000;
const WINDOWS = 10;
const PARTITIONS = 3;

function gaussian(random: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
}

function topicEntry(name: string, valueSchema: string, partitions: number): TopicEntry {
  return {
    name,
    description: 'bench',
    key: 'bench',
    valueSchema,
    partitions,
    retentionMs: 3_600_000,
    cleanup: 'delete',
    dlq: `${name}.dlq`,
  };
}

interface ChildLine {
  t: number;
  recordsIn: number;
  folded: number;
  reports: number;
  rssMiB: number;
  heapMiB: number;
}

function startChild(env: Record<string, string>) {
  const child: ChildProcess = spawn(
    process.execPath,
    ['--disable-warning=TimeoutNegativeWarning', fileURLToPath(new URL('./drift/processor-child.ts', import.meta.url))],
    { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let latest: ChildLine | undefined;
  let peak: number | undefined;
  let stderr = '';
  child.stderr?.on('data', (data: Buffer) => {
    if (process.env.BENCH_DIAGNOSTICS) process.stderr.write(data);
    stderr = (stderr + data.toString()).slice(-4_000);
  });
  createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (text) => {
    const line = JSON.parse(text) as ChildLine & { peakRssMiB?: number };
    if (line.peakRssMiB !== undefined) peak = line.peakRssMiB;
    else latest = line;
  });
  return {
    latest: () => latest,
    exited: () => child.exitCode !== null,
    stderr: () => stderr,
    async stop(): Promise<number> {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await new Promise((resolve) => child.once('exit', resolve));
      }
      return peak ?? Number.NaN;
    },
  };
}

interface Figures {
  features: number;
  events: number;
  eventBytes: number;
  produceRate: number;
  rawRate: number;
  rawDecodeRate: number;
  runnerRate: number;
  driftRate: number;
  peakRssMiB: number;
  idleRssMiB: number;
  stateKiB: number;
  openWindows: number;
  reports: number;
}

async function consumeAll(
  kafka: Kafka,
  topic: string,
  total: number,
  decode?: (value: Buffer) => Promise<unknown>,
): Promise<number> {
  const consumer = kafka.consumer({ groupId: `bench.drift.raw.${randomUUID().slice(0, 8)}`, maxBytesPerPartition: 1024 * 1024 });
  let consumed = 0;
  let firstAt = 0;
  let lastAt = 0;
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  await consumer.run({
    partitionsConsumedConcurrently: PARTITIONS,
    eachBatch: async ({ batch }) => {
      if (!firstAt) firstAt = performance.now();
      if (decode) for (const message of batch.messages) await decode(message.value as Buffer);
      consumed += batch.messages.length;
      if (consumed >= total && !lastAt) lastAt = performance.now();
    },
  });
  while (consumed < total) await sleep(10);
  await consumer.disconnect();
  return total / ((lastAt - firstAt) / 1000);
}

/** The runner itself: decode each record, transform to nothing, commit. What any processor pays. */
async function noopRunner(kafka: Kafka, codec: SchemaCodec, input: TopicEntry, total: number): Promise<number> {
  const metrics = createRegistry('bench-drift-noop', { defaultMetrics: false });
  const runner = new ProcessorRunner<unknown, never>(
    {
      name: 'bench-noop',
      inputs: [input],
      decode: async (raw) => (await codec.decode(raw.value ?? Buffer.alloc(0), { reader: CONTRACTS.Prediction.type })).value,
      supply: () => ({ transform: () => ({ writes: [], rejected: [] }) }),
    },
    {
      kafka,
      logger: createLogger('bench-noop', { level: 'error' }),
      metrics,
      startFrom: 'earliest',
      groupId: `bench.drift.noop.${randomUUID().slice(0, 8)}`,
    },
  );
  const count = async () => (await metrics.getSingleMetric('rheo_processor_records_in_total')?.get())?.values[0]?.value ?? 0;
  await runner.start();
  let first = 0;
  for (;;) {
    const n = await count();
    if (!first && n > 0) first = performance.now();
    if (n >= total) break;
    await sleep(5);
  }
  const rate = total / ((performance.now() - first) / 1000);
  await runner.stop('bench');
  return rate;
}

async function runOne(
  ctx: { kafka: Kafka; admin: Admin; codec: SchemaCodec; created: string[]; namespaces: string[]; dir: string },
  features: number,
  events: number,
): Promise<Figures> {
  const { kafka, admin, codec } = ctx;
  const id = randomUUID().slice(0, 8);
  const model = `bench_drift_${id}`;
  const input = topicEntry(`bench.drift.${id}.predictions`, 'Prediction', PARTITIONS);
  const drift = topicEntry(`bench.drift.${id}.reports`, 'DriftReport', 1);
  const retrain = topicEntry(`bench.drift.${id}.retrain`, 'RetrainRequest', 1);
  await ensureTopics(admin, withDeadLetters([input, drift, retrain]));
  ctx.created.push(...withDeadLetters([input, drift, retrain]).map((t) => t.name));
  const names = Array.from({ length: features }, (_, i) => `f${i}`);

  // The baseline a trainer would record: 10 quantile bins per feature, from a 2000-row sample.
  log(`[${features} features] baseline and ${events} events ...`);
  const random = rng(features);
  const sample = names.map(() => Array.from({ length: 2_000 }, () => gaussian(random)));
  const baseline: DriftBaseline = {
    features: names.map((name, i) => numericBaseline(name, sample[i] as number[])),
    prediction: numericBaseline(
      'probability',
      Array.from({ length: 2_000 }, () => random()),
    ),
  };
  const baselineFile = join(ctx.dir, `${id}.json`);
  writeFileSync(baselineFile, JSON.stringify(baseline));

  const encoder = await codec.forTopic(input.name, CONTRACTS.Prediction);
  const origin = Math.floor(Date.UTC(2025, 0, 1) / WINDOW_MS) * WINDOW_MS;
  const message = (i: number, t: number, partition: number): ProducerMessage => {
    const inputs: Record<string, number> = {};
    for (const name of names) inputs[name] = gaussian(random);
    const score = random();
    const value: PredictionInput = {
      event_id: deterministicUuid(model, String(i)),
      event_time: t,
      prediction_id: `${model}-${i}`,
      entity_id: `e-${i}`,
      model_name: model,
      model_version: '1.0.0',
      variant: 'PRODUCTION',
      source: 'STREAMING',
      inputs,
      outputs: { probability: score },
      score,
      latency_ms: 1,
      request_time: t,
    };
    return { partition, key: value.entity_id, value: encoder.encode(value) };
  };
  const producer = createProducer(kafka);
  await producer.connect();
  let bytes = 0;
  const produceStarted = performance.now();
  const batch = Math.max(50, Math.floor(2_000_000 / (features * 20)));
  for (let i = 0; i < events; i += batch) {
    const messages: ProducerMessage[] = [];
    for (let k = i; k < Math.min(events, i + batch); k++)
      messages.push(message(k, origin + Math.floor((k * WINDOWS * WINDOW_MS) / events), k % PARTITIONS));
    bytes += messages.reduce((s, m) => s + (m.value as Buffer).length, 0);
    await producer.send({ topic: input.name, acks: -1, messages });
  }
  const produceRate = events / ((performance.now() - produceStarted) / 1000);
  // One closing event per partition, so every window closes.
  await producer.send({
    topic: input.name,
    acks: -1,
    messages: Array.from({ length: PARTITIONS }, (_, p) => message(events + p, origin + (WINDOWS + 1) * WINDOW_MS + 5_000, p)),
  });
  await producer.disconnect();
  const total = events + PARTITIONS;

  log(`[${features} features] raw kafkajs consume ...`);
  const rawRate = await consumeAll(kafka, input.name, total);
  log(`[${features} features] raw kafkajs consume + Avro decode ...`);
  const rawDecodeRate = await consumeAll(kafka, input.name, total, (value) =>
    codec.decode(value, { reader: CONTRACTS.Prediction.type }),
  );

  log(`[${features} features] the shared runner with Avro decode and a no-op transform (the processor ceiling) ...`);
  const runnerRate = await noopRunner(kafka, codec, input, total);

  log(`[${features} features] drift processor in its own process ...`);
  const group = `bench.drift.${id}`;
  const namespace = `rheo:bench-drift:${id}`;
  ctx.namespaces.push(namespace);
  const child = startChild({
    TOPIC: input.name,
    GROUP: group,
    NAMESPACE: namespace,
    DRIFT_TOPIC: drift.name,
    RETRAIN_TOPIC: retrain.name,
    MODEL: model,
    VERSION: '1.0.0',
    BASELINE_FILE: baselineFile,
    WINDOW_MS: String(WINDOW_MS),
  });
  let idle: ChildLine | undefined;
  let first = 0;
  let last = 0;
  let reports = 0;
  try {
    for (;;) {
      const line = child.latest();
      if (line) {
        if (line.recordsIn === 0) idle = line;
        if (!first && line.recordsIn > 0) first = line.t;
        if (line.folded >= total) {
          last = line.t;
          break;
        }
      }
      if (child.exited()) throw new Error(`the drift processor exited: ${child.stderr()}`);
      await sleep(5);
    }
    // Windows 0–9 close with the closing events: (features + score) reports each.
    const expected = WINDOWS * (features + 1);
    const deadline = Date.now() + 60_000;
    while ((child.latest()?.reports ?? 0) < expected && Date.now() < deadline) await sleep(50);
    reports = child.latest()?.reports ?? 0;
  } catch (error) {
    await child.stop();
    throw error;
  }
  // The window state as stored per partition (what the processor holds per partition it owns).
  const redis = createRedis(loadConfig());
  const store = new DriftStore(redis, namespace);
  let stateBytes = 0;
  let openWindows = 0;
  for (let p = 0; p < PARTITIONS; p++) {
    const state = await store.load(p);
    stateBytes += JSON.stringify(state ?? {}).length;
    openWindows = Math.max(openWindows, Object.keys(state?.open ?? {}).length);
  }
  redis.disconnect();
  const peakRssMiB = await child.stop();
  return {
    features,
    events,
    eventBytes: bytes / events,
    produceRate,
    rawRate,
    rawDecodeRate,
    runnerRate,
    driftRate: total / ((last - first) / 1000),
    peakRssMiB,
    idleRssMiB: idle?.rssMiB ?? Number.NaN,
    stateKiB: stateBytes / 1024,
    openWindows,
    reports,
  };
}

export async function run(args: string[]): Promise<void> {
  const options = parseArgs(BENCH_ARGS, args).flags;
  process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1';
  const config = loadConfig();
  const logger = createLogger('bench-drift', { defaultLevel: 'error' });
  const kafka = createKafka(config.kafka, logger, 'bench-drift');
  const admin = createAdmin(kafka);
  await admin.connect();
  const codec = SchemaCodec.fromConfig(config.registry);
  const dir = mkdtempSync(join(tmpdir(), 'rheo-bench-drift-'));
  const ctx = { kafka, admin, codec, created: [] as string[], namespaces: [] as string[], dir };
  try {
    const narrow = await runOne(ctx, options.features, options.events);
    const wide = await runOne(ctx, options['wide-features'], options['wide-events']);
    const rows: Array<[string, string | number]> = [];
    for (const f of [narrow, wide]) {
      const tag = `${f.features} features`;
      rows.push(
        [`${tag}: events (Avro bytes each)`, `${f.events} (${Math.round(f.eventBytes)} B)`],
        [`${tag}: raw kafkajs consume, events/s`, Math.round(f.rawRate)],
        [`${tag}: raw consume + Avro decode, events/s`, Math.round(f.rawDecodeRate)],
        [`${tag}: runner + decode, no-op transform, events/s`, Math.round(f.runnerRate)],
        [`${tag}: drift processor, events/s`, Math.round(f.driftRate)],
        [
          `${tag}: drift vs raw+decode / vs no-op runner`,
          `${round((f.driftRate / f.rawDecodeRate) * 100, 1)} % / ${round((f.driftRate / f.runnerRate) * 100, 1)} %`,
        ],
        [`${tag}: processor RSS idle → peak, MiB`, `${round(f.idleRssMiB, 1)} → ${round(f.peakRssMiB, 1)}`],
        [`${tag}: window state (all partitions), KiB`, `${round(f.stateKiB, 1)} (${f.openWindows} open window per partition)`],
        [`${tag}: reports produced`, f.reports],
      );
    }
    report('drift processor vs raw consume (same topic, same broker)', rows, {
      events_10: narrow.events,
      raw_consume_per_s_10: Math.round(narrow.rawRate),
      raw_decode_per_s_10: Math.round(narrow.rawDecodeRate),
      noop_runner_per_s_10: Math.round(narrow.runnerRate),
      drift_per_s_10: Math.round(narrow.driftRate),
      peak_rss_mib_10: round(narrow.peakRssMiB, 1),
      state_kib_10: round(narrow.stateKiB, 1),
      events_1000: wide.events,
      raw_consume_per_s_1000: Math.round(wide.rawRate),
      raw_decode_per_s_1000: Math.round(wide.rawDecodeRate),
      noop_runner_per_s_1000: Math.round(wide.runnerRate),
      drift_per_s_1000: Math.round(wide.driftRate),
      peak_rss_mib_1000: round(wide.peakRssMiB, 1),
      state_kib_1000: round(wide.stateKiB, 1),
      reports_10: narrow.reports,
      reports_1000: wide.reports,
    });
  } finally {
    await admin.deleteTopics({ topics: ctx.created }).catch((error: unknown) => log(`topics not deleted: ${String(error)}`));
    await admin.disconnect();
    const redis = createRedis(config);
    for (const ns of ctx.namespaces) await new DriftStore(redis, ns).clear().catch(() => undefined);
    redis.disconnect();
    rmSync(dir, { recursive: true, force: true });
  }
}
