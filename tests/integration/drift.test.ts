/**
 * The drift processor on the real stack: baselines from the registry, a stream drawn from the
 * baseline distribution, the same stream with one feature shifted by one standard deviation, reports
 * on `monitoring.drift`-shaped topics, exactly one retraining request; kill -9 mid-window gives the
 * same reports as an uninterrupted run.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../cli/main.ts';
import { createClickHouse, createRedis, type Redis } from '../../kernel/clients.ts';
import { loadConfig } from '../../kernel/config.ts';
import { type Admin, createAdmin, createKafka, createProducer, type Kafka, type Producer } from '../../kernel/kafka.ts';
import { createLogger } from '../../kernel/log.ts';
import { createRegistry } from '../../kernel/metrics.ts';
import { sql } from '../../kernel/sql.ts';
import { archiverSpec } from '../../processors/archiver/index.ts';
import { staticBaselines } from '../../processors/drift/baselines.ts';
import { createDriftProcessor, type DriftProcessor } from '../../processors/drift/index.ts';
import { DEFAULT_DRIFT_SETTINGS, type DriftSettings } from '../../processors/drift/settings.ts';
import { DriftStore } from '../../processors/drift/store.ts';
import { RegistryClient } from '../../registry/client.ts';
import { ProcessorRunner } from '../../runtime/runner.ts';
import { CONTRACTS, type DriftReport, type RetrainRequest, SchemaCodec } from '../../schemas/index.ts';
import { ensureMonitoringTables } from '../../tables/admin.ts';
import { ARCHIVED_TABLES } from '../../tables/history.ts';
import { ensureTopics } from '../../topics/admin.ts';
import { TOPICS, type TopicEntry, withDeadLetters } from '../../topics/catalogue.ts';
import { exited, startChild } from '../support/child.ts';
import { type PlannedRecord, plannedStream, syntheticBaseline, X_WIDE_SD } from '../support/drift.ts';
import { spec, uniqueModelName } from '../support/models.ts';
import { testTopic, uniqueName } from '../support/topics.ts';
import { waitFor } from '../support/wait.ts';

const CHILD = new URL('./fixtures/drift-child.ts', import.meta.url);
const config = loadConfig();
const logger = createLogger('drift-test', { level: process.env.RHEO_LOG_LEVEL ?? 'error' });
const MIN = 60_000;
const ORIGIN = Date.UTC(2025, 0, 1);
const SETTINGS: DriftSettings = {
  ...DEFAULT_DRIFT_SETTINGS,
  window: { sizeMs: MIN, slideMs: MIN, latenessMs: 5_000 },
  defaults: { ...DEFAULT_DRIFT_SETTINGS.defaults, minSamples: 200, cooldownMs: 24 * 3_600_000 },
};
let kafka: Kafka;
let admin: Admin;
let producer: Producer;
let redis: Redis;
let codec: SchemaCodec;
const cleanup: Array<() => Promise<unknown>> = [];

beforeAll(async () => {
  kafka = createKafka(config.kafka, logger, 'drift-test');
  admin = createAdmin(kafka);
  producer = createProducer(kafka);
  redis = createRedis(config);
  codec = SchemaCodec.fromConfig(config.registry);
  await Promise.all([admin.connect(), producer.connect()]);
  await ensureTopics(admin, withDeadLetters([TOPICS.modelsLifecycle]));
});

afterAll(async () => {
  for (const step of cleanup.reverse()) await step().catch(() => undefined);
  await Promise.allSettled([admin.disconnect(), producer.disconnect()]);
  redis.disconnect();
});

async function topics(
  prefix: string,
  partitions: number,
): Promise<{ input: TopicEntry; drift: TopicEntry; retrain: TopicEntry }> {
  const input = { ...testTopic(uniqueName(`${prefix}.predictions`), partitions), valueSchema: 'Prediction' };
  const drift = { ...testTopic(uniqueName(`${prefix}.drift`), 1), valueSchema: 'DriftReport' };
  const retrain = { ...testTopic(uniqueName(`${prefix}.retrain`), 1), valueSchema: 'RetrainRequest' };
  await ensureTopics(admin, withDeadLetters([input, drift, retrain]));
  return { input, drift, retrain };
}

async function produce(topic: string, records: readonly PlannedRecord[]): Promise<void> {
  const encoder = await codec.forTopic(topic, CONTRACTS.Prediction);
  for (let i = 0; i < records.length; i += 1000) {
    await producer.send({
      topic,
      acks: -1,
      messages: records
        .slice(i, i + 1000)
        .map((r) => ({ partition: r.partition, key: r.value.entity_id, value: encoder.encode(r.value) })),
    });
  }
}

/** Every record of a topic, decoded, with the raw bytes (to compare duplicates byte for byte). */
async function readAll<T>(topic: string, reader: typeof CONTRACTS.DriftReport.type): Promise<Array<{ value: T; bytes: string }>> {
  const consumer = kafka.consumer({ groupId: uniqueName('drift-reader') });
  const out: Array<{ value: T; bytes: string }> = [];
  const admin2 = createAdmin(kafka);
  await admin2.connect();
  const end = (await admin2.fetchTopicOffsets(topic)).reduce((s, p) => s + Number(p.high), 0);
  await admin2.disconnect();
  if (end === 0) return out;
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) => {
      const decoded = await codec.decode<T>(message.value ?? Buffer.alloc(0), { reader });
      out.push({ value: decoded.value, bytes: (message.value ?? Buffer.alloc(0)).toString('base64') });
    },
  });
  await waitFor(`${end} records of ${topic}`, () => out.length >= end, { timeoutMs: 30_000 });
  await consumer.disconnect();
  return out;
}

async function countOn(topic: string): Promise<number> {
  return (await admin.fetchTopicOffsets(topic)).reduce((s, p) => s + Number(p.high), 0);
}

async function startProcessor(
  t: { input: TopicEntry; drift: TopicEntry; retrain: TopicEntry },
  extra: Partial<Parameters<typeof createDriftProcessor>[2]> = {},
): Promise<DriftProcessor> {
  const processor = await createDriftProcessor(
    config,
    { logger, metrics: createRegistry('drift-test', { defaultMetrics: false }), codec, redis },
    {
      startFrom: 'earliest',
      groupId: uniqueName('drift-group'),
      input: t.input,
      outputs: { drift: t.drift, retrain: t.retrain },
      settings: SETTINGS,
      reportIntervalMs: 300,
      ...extra,
    },
  );
  cleanup.push(async () => {
    await processor.stop('test over');
    await processor.store.clear();
  });
  await processor.start();
  return processor;
}

describe('drift processor on the real stack', () => {
  it('scores a baseline-shaped stream below 0.1, flags a 1σ shift in one feature only, and asks to retrain exactly once', async () => {
    const model = uniqueModelName('drift');
    const baseline = syntheticBaseline();
    // The baseline comes from the registry: the version's REGISTERED event carries it.
    const registry = await RegistryClient.connect(config, logger);
    cleanup.push(() => registry.close());
    await registry.execute({
      kind: 'register',
      model,
      version: '1.0.0',
      actor: 'user:test',
      spec: spec({
        inputs: ['x_norm', 'x_wide', 'x_exp'].map((name) => ({ name, type: 'DOUBLE' as const, feature_group: null })),
        baseline,
      }),
    });
    const t = await topics('drift', 3);
    // Windows 0–2 from the baseline distribution; windows 3 and 4 with x_wide shifted by one standard deviation.
    const shifts = [0, 0, 0, X_WIDE_SD, X_WIDE_SD];
    await produce(
      t.input.name,
      plannedStream(
        { model, version: '1.0.0', origin: ORIGIN, windowMs: MIN, perWindow: 2000, shifts, partitions: 3, seed: 42 },
        20_000,
      ),
    );
    const processor = await startProcessor(t);
    const expected = shifts.length * 5; // 4 features + the score, per window
    await waitFor(`${expected} drift reports`, async () => (await countOn(t.drift.name)) >= expected, { timeoutMs: 90_000 });
    const reports = new Map(
      (await readAll<DriftReport>(t.drift.name, CONTRACTS.DriftReport.type)).map((r) => [r.value.event_id, r.value]),
    );
    expect(reports.size).toBe(expected);
    for (const r of reports.values()) {
      const w = (r.window_start - ORIGIN) / MIN;
      expect(r).toMatchObject({
        model_name: model,
        model_version: '1.0.0',
        window_end: r.window_start + MIN,
        count: 2000,
        null_count: 0,
        late_count: 0,
      });
      const shifted = (shifts[w] as number) > 0 && r.feature === 'x_wide';
      if (shifted) expect(r, `window ${w} ${r.feature}`).toMatchObject({ status: 'ALERT' });
      else {
        expect(r.psi, `window ${w} ${r.feature}`).toBeLessThan(0.1);
        expect(r.status).toBe('OK');
      }
    }
    // Exactly one request: the first alerting window asks, the second is inside the cool-down.
    await waitFor('the retraining request', async () => (await countOn(t.retrain.name)) >= 1, { timeoutMs: 30_000 });
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    const requests = await readAll<RetrainRequest>(t.retrain.name, CONTRACTS.RetrainRequest.type);
    expect(requests).toHaveLength(1);
    const [request] = requests.map((r) => r.value);
    expect(request).toMatchObject({ model_name: model, reason: 'DRIFT', requested_by: 'service:drift', base_version: '1.0.0' });
    expect(request?.evidence.drift.map((d) => [d.feature, d.window_start, d.status])).toEqual([
      ['x_wide', ORIGIN + 3 * MIN, 'ALERT'],
    ]);
    expect(request?.evidence.summary).toMatch(/^PSI of x_wide at \d\.\d{3}/);
    expect(await processor.report()).toMatchObject({ windows: 0 });

    // Through the archiver into ClickHouse, where the CLI, the gateway and the analysts' views read them.
    const client = createClickHouse(config);
    cleanup.push(() => client.close());
    await ensureMonitoringTables(client, config.clickhouse.database);
    const tables = ARCHIVED_TABLES.filter((table) => table.name === 'drift_reports' || table.name === 'retrain_requests').map(
      (table) => ({
        ...table,
        topic: table.name === 'drift_reports' ? t.drift : t.retrain,
      }),
    );
    const archiver = new ProcessorRunner(archiverSpec(config, client, codec, tables), {
      kafka,
      logger,
      metrics: createRegistry('drift-test-archiver', { defaultMetrics: false }),
      startFrom: 'earliest',
      groupId: uniqueName('drift-archiver'),
    });
    cleanup.push(() => archiver.stop('test over'));
    await archiver.start();
    const count = async (query: string) => {
      const result = await client.query({ query, format: 'JSONEachRow' });
      return Number(Object.values(((await result.json()) as Array<Record<string, unknown>>)[0] ?? {})[0] ?? 0);
    };
    await waitFor(
      'the reports in ClickHouse',
      async () => (await count(sql`SELECT count() FROM rheo.drift_windows WHERE model_name = ${model}`.text)) === expected,
    );
    await waitFor(
      'the request in ClickHouse',
      async () => (await count(sql`SELECT count() FROM rheo.retrain_requests FINAL WHERE model_name = ${model}`.text)) === 1,
    );
    expect(await count(sql`SELECT count() FROM rheo.drift_alerts WHERE model_name = ${model} AND feature = 'x_wide'`.text)).toBe(
      2,
    );
    const out: string[] = [];
    const io = { out: (text: string) => out.push(text), err: (text: string) => out.push(text) };
    const range = ['--model', model, '--from', String(ORIGIN), '--to', String(ORIGIN + 10 * MIN)];
    expect(await main(['drift', 'report', ...range, '--json'], io)).toBe(0);
    const json = JSON.parse(out.join('')) as {
      series: Array<{ feature: string; windows: Array<{ status: string }> }>;
      retrain_requests: unknown[];
    };
    expect(json.series.map((x) => x.feature).sort()).toEqual(['channel', 'probability', 'x_exp', 'x_norm', 'x_wide']);
    expect(json.series.find((x) => x.feature === 'x_wide')?.windows.map((w) => w.status)).toEqual([
      'OK',
      'OK',
      'OK',
      'ALERT',
      'ALERT',
    ]);
    expect(json.retrain_requests).toHaveLength(1);
    out.length = 0;
    expect(await main(['drift', 'report', ...range], io)).toBe(0);
    expect(out.join('\n')).toMatch(/x_wide \(feature, version 1\.0\.0\) {2}PSI ▁▁▁██ {2}last \d\.\d{3} ALERT/);
  });

  it('gives the same reports after kill -9 mid-window as an uninterrupted run', { timeout: 240_000 }, async () => {
    const model = uniqueModelName('drift_kill');
    const baseline = syntheticBaseline(7);
    const t = await topics('drift-kill', 3);
    const shifts = [0, 0, X_WIDE_SD, 0, X_WIDE_SD, 0];
    const plan = { model, version: '2.0.0', origin: ORIGIN, windowMs: MIN, perWindow: 1500, shifts, partitions: 3, seed: 7 };
    const stream = plannedStream(plan, 20_000);
    const expected = shifts.length * 5;
    // First half now, the rest once the child is busy, so it dies with windows open and a chunk in flight.
    const half = Math.floor((stream.length - 3) / 2);
    await produce(t.input.name, stream.slice(0, half));

    const group = uniqueName('drift-kill-group');
    const namespace = uniqueName('drift-kill-ns');
    const childOut = {
      drift: { ...t.drift, name: uniqueName('drift-kill.out') },
      retrain: { ...t.retrain, name: uniqueName('drift-kill.rr') },
    };
    await ensureTopics(admin, withDeadLetters([childOut.drift, childOut.retrain]));
    const env = {
      TOPIC: t.input.name,
      DRIFT_TOPIC: childOut.drift.name,
      RETRAIN_TOPIC: childOut.retrain.name,
      GROUP: group,
      NAMESPACE: namespace,
      MODEL: model,
      VERSION: '2.0.0',
      BASELINE: JSON.stringify(baseline),
      SETTINGS: JSON.stringify(SETTINGS),
      CHUNK: '25',
    };
    const store = new DriftStore(redis, namespace);
    cleanup.push(() => store.clear());
    const applied = async () => {
      let n = 0;
      for (let p = 0; p < 3; p++) n += Number((await store.load(p))?.next ?? 0);
      return n;
    };
    const first = startChild(CHILD, env);
    await waitFor('the first half folded', async () => (await applied()) >= half, { timeoutMs: 90_000 });
    await produce(t.input.name, stream.slice(half));
    await waitFor('progress into the second half', async () => (await applied()) > half + 200, {
      timeoutMs: 60_000,
      intervalMs: 20,
    });
    first.kill('SIGKILL');
    await exited(first);
    const killedAt = await applied();
    expect(killedAt).toBeLessThan(stream.length);
    // Killed mid-window: windows were open, and the stored state is never behind the committed offsets
    // (what was stored but not yet committed is redelivered on restart and skipped, not counted twice).
    const states = await Promise.all([0, 1, 2].map((p) => store.load(p)));
    expect(states.some((s) => Object.keys(s?.open ?? {}).length > 0)).toBe(true);
    const [committed] = await admin.fetchOffsets({ groupId: group, topics: [t.input.name] });
    for (const { partition, offset } of committed?.partitions ?? [])
      expect(BigInt(offset === '-1' ? '0' : offset)).toBeLessThanOrEqual(BigInt(states[partition]?.next ?? '0'));

    const second = startChild(CHILD, env);
    cleanup.push(async () => {
      second.kill('SIGKILL');
      await exited(second);
    });
    // The reference: an uninterrupted run over the same input, its own group, namespace and outputs.
    await startProcessor(t, { baselines: staticBaselines([{ model, version: '2.0.0', baseline }]) });
    await waitFor(`${expected} reports from the reference run`, async () => (await countOn(t.drift.name)) >= expected, {
      timeoutMs: 90_000,
    });
    await waitFor(`${expected} reports after the restart`, async () => (await countOn(childOut.drift.name)) >= expected, {
      timeoutMs: 120_000,
    });
    const reference = await readAll<DriftReport>(t.drift.name, CONTRACTS.DriftReport.type);
    const restarted = await readAll<DriftReport>(childOut.drift.name, CONTRACTS.DriftReport.type);
    // A crash between publishing and clearing a window republishes it: same id, same bytes, so sinks keep one.
    const byId = new Map<string, string>();
    for (const r of restarted) {
      const seen = byId.get(r.value.event_id);
      if (seen !== undefined) expect(r.bytes).toBe(seen);
      byId.set(r.value.event_id, r.bytes);
    }
    expect(byId.size).toBe(expected);
    const sorted = (rs: Array<{ value: DriftReport }>) =>
      [...new Map(rs.map((r) => [r.value.event_id, r.value])).values()].sort((a, b) => (a.event_id < b.event_id ? -1 : 1));
    expect(sorted(restarted)).toEqual(sorted(reference));
    // Both runs asked to retrain for the same window, with the same request.
    const rrReference = await readAll<RetrainRequest>(t.retrain.name, CONTRACTS.RetrainRequest.type);
    const rrRestarted = await readAll<RetrainRequest>(childOut.retrain.name, CONTRACTS.RetrainRequest.type);
    expect(new Set(rrRestarted.map((r) => r.value.event_id))).toEqual(new Set(rrReference.map((r) => r.value.event_id)));
    expect(rrReference.map((r) => r.value.evidence.drift[0]?.window_start)).toEqual([ORIGIN + 2 * MIN]);
  });
});
