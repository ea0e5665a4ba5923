/**
 * The batch scorer on the real stack: a ClickHouse query scored by `rheo score`, killed with SIGKILL
 * mid-job and run again, ends with every row's prediction exactly once in Kafka (read_committed) and
 * in ClickHouse; a third run finds the job complete. A topic offset range is scored the same way.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { take, transactions } from '../../examples/fraud/generator.ts';
import { loadServingSettings, openArtifactStore } from '../../gateway/settings.ts';
import { type ClickHouseClient, createClickHouse } from '../../kernel/clients.ts';
import { loadConfig } from '../../kernel/config.ts';
import { createAdmin, createKafka, createProducer, type Kafka } from '../../kernel/kafka.ts';
import { createLogger } from '../../kernel/log.ts';
import { ident, sql } from '../../kernel/sql.ts';
import { RegistryClient } from '../../registry/client.ts';
import { CONTRACTS, type PredictionRequestInput, SchemaCodec } from '../../schemas/index.ts';
import { ensureHistoryTables } from '../../tables/admin.ts';
import { ensureTopics } from '../../topics/admin.ts';
import { catalogue, TOPICS } from '../../topics/catalogue.ts';
import { exited } from '../support/child.ts';
import { uniqueModelName } from '../support/models.ts';
import { promote, registerFraudModel, TopicTail } from '../support/serving.ts';
import { waitFor } from '../support/wait.ts';

const CLI = fileURLToPath(new URL('../../cli/main.ts', import.meta.url));
const config = loadConfig();
const settings = loadServingSettings(config);
const logger = createLogger('batch-test', { level: 'silent' });
const model = uniqueModelName('batch');
const table = `test_batch_${randomUUID().slice(0, 8)}`;
const ROWS = 4000;
let kafka: Kafka;
let clickhouse: ClickHouseClient;
let client: RegistryClient;

function score(args: string[]) {
  const child = spawn(process.execPath, [CLI, 'score', '--model', model, ...args], {
    env: { ...process.env, RHEO_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  let stdout = '';
  child.stdout.on('data', (c: Buffer) => {
    output += c.toString();
    stdout += c.toString();
  });
  child.stderr.on('data', (c: Buffer) => {
    output += c.toString();
  });
  return Object.assign(child, { output: () => output, stdout: () => stdout });
}

async function predictionCount(): Promise<{ rows: number; unique: number }> {
  const rs = await clickhouse.query({
    query:
      sql`SELECT count() AS rows, uniqExact(event_id) AS unique FROM ${ident(`${config.clickhouse.database}.predictions`)} WHERE model_name = ${model}`
        .text,
    format: 'JSONEachRow',
  });
  const [row] = (await rs.json()) as Array<{ rows: string; unique: string }>;
  return { rows: Number(row?.rows ?? 0), unique: Number(row?.unique ?? 0) };
}

beforeAll(async () => {
  kafka = createKafka(config.kafka, logger, 'batch-test');
  const admin = createAdmin(kafka);
  await admin.connect();
  await ensureTopics(admin, catalogue());
  await admin.disconnect();
  clickhouse = createClickHouse(config);
  await ensureHistoryTables(clickhouse, config.clickhouse.database);
  await clickhouse.command({
    query: `CREATE TABLE ${ident(`${config.clickhouse.database}.${table}`).text} (entity_id String, amount Float64, hour_of_day Float64, distance_from_home_km Float64, merchant_risk Float64, request_time DateTime('UTC')) ENGINE = MergeTree() ORDER BY entity_id`,
  });
  const rows = take(transactions({ seed: 11, startTime: Date.UTC(2026, 0, 1) }), ROWS).map((t, i) => ({
    entity_id: `${t.cardId}#${String(i).padStart(5, '0')}`,
    amount: t.amount,
    hour_of_day: t.hourOfDay,
    distance_from_home_km: t.distanceFromHomeKm,
    merchant_risk: t.merchantRisk,
    request_time: new Date(t.eventTime).toISOString().slice(0, 19).replace('T', ' '),
  }));
  await clickhouse.insert({ table: ident(`${config.clickhouse.database}.${table}`).text, values: rows, format: 'JSONEachRow' });
  client = await RegistryClient.connect(config, logger);
  await registerFraudModel(client, openArtifactStore(settings), model, '1.0.0', -2);
  await promote(client, model, '1.0.0');
});

afterAll(async () => {
  await clickhouse
    ?.command({ query: `DROP TABLE IF EXISTS ${ident(`${config.clickhouse.database}.${table}`).text}` })
    .catch(() => undefined);
  await clickhouse?.close();
  await client?.close();
});

describe('batch scorer', () => {
  it('resumes a query job killed mid-way, with no duplicate and no missing prediction', async () => {
    const tail = new TopicTail(kafka, config, TOPICS.predictions.name);
    await tail.start();
    const job = `test-${model}`;
    const query = `SELECT entity_id, amount, hour_of_day, distance_from_home_km, merchant_risk, request_time FROM ${config.clickhouse.database}.${table} ORDER BY entity_id`;
    const args = ['--query', query, '--batch-size', '200', '--job', job];

    const t0 = Date.now();
    const mark = (what: string) =>
      process.env.RHEO_TEST_TRACE && process.stderr.write(`[batch-test] ${what} at ${Date.now() - t0} ms\n`);
    const first = score(args);
    await waitFor('some batches committed', async () => (await predictionCount()).rows >= 400, {
      timeoutMs: 60_000,
      intervalMs: 50,
    });
    mark('first batches committed');
    first.kill('SIGKILL');
    expect((await exited(first)).signal).toBe('SIGKILL');
    const partial = await predictionCount();
    expect(partial.rows).toBeLessThan(ROWS);

    const second = score(args);
    expect((await exited(second)).code, second.output()).toBe(0);
    mark('second run done');
    expect(second.output()).toMatch(/resumed at \d+|predictions by/);
    const rs = await clickhouse.query({
      query:
        sql`SELECT count() AS rows, uniqExact(event_id) AS unique, uniqExact(entity_id) AS entities FROM ${ident(`${config.clickhouse.database}.predictions`)} FINAL WHERE model_name = ${model}`
          .text,
      format: 'JSONEachRow',
    });
    const [final] = (await rs.json()) as Array<{ rows: string; unique: string; entities: string }>;
    expect(Number(final?.rows)).toBe(ROWS);
    expect(Number(final?.entities)).toBe(ROWS);

    // Kafka, read_committed: every row exactly once (the killed run's open transaction was aborted).
    const mine = () => tail.records.filter((r) => r.value.model_name === model);
    await waitFor('all predictions in Kafka', () => mine().length >= ROWS, { timeoutMs: 30_000 });
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(mine()).toHaveLength(ROWS);
    expect(new Set(mine().map((r) => r.value.event_id)).size).toBe(ROWS);
    expect(mine().every((r) => r.value.source === 'BATCH' && r.value.model_version === '1.0.0')).toBe(true);

    const third = score(args);
    expect((await exited(third)).code).toBe(0);
    expect(third.output()).toMatch(/already complete/);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(mine()).toHaveLength(ROWS);
    await tail.stop();
  });

  it('scores a topic offset range of prediction requests', async () => {
    const codec = await SchemaCodec.fromConfig(config.registry).forTopic(
      TOPICS.predictionRequests.name,
      CONTRACTS.PredictionRequest,
    );
    const admin = createAdmin(kafka);
    await admin.connect();
    const before = await admin.fetchTopicOffsets(TOPICS.predictionRequests.name);
    const producer = createProducer(kafka);
    await producer.connect();
    const requests: PredictionRequestInput[] = Array.from({ length: 60 }, (_, i) => ({
      event_id: randomUUID(),
      event_time: Date.now(),
      entity_id: `range-${i}`,
      model_name: model,
      inputs: { amount: i, hour_of_day: 1, distance_from_home_km: 2, merchant_risk: 0.5 },
    }));
    await producer.send({
      topic: TOPICS.predictionRequests.name,
      acks: -1,
      messages: requests.map((r) => ({ key: r.entity_id, value: codec.encode(r) })),
    });
    await producer.disconnect();
    const after = await admin.fetchTopicOffsets(TOPICS.predictionRequests.name);
    await admin.disconnect();
    const range = after
      .map((a) => `${a.partition}:${before.find((b) => b.partition === a.partition)?.high ?? a.low}-${a.high}`)
      .join(',');
    const tail = new TopicTail(kafka, config, TOPICS.predictions.name);
    await tail.start();
    const run = score(['--topic', TOPICS.predictionRequests.name, '--range', range, '--json']);
    expect((await exited(run)).code, run.output()).toBe(0);
    const result = JSON.parse(run.stdout()) as { scored: number; done: boolean };
    expect(result).toMatchObject({ scored: 60, done: true });
    await waitFor(
      'range predictions',
      () => tail.records.filter((r) => r.value.entity_id.startsWith('range-') && r.value.model_name === model).length === 60,
      { timeoutMs: 20_000 },
    );
    await tail.stop();
  });
});
