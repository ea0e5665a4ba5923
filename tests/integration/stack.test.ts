/**
 * The local stack against itself: every service answers, and data written before a restart (down, up)
 * is there after it — a Kafka record, a registry schema id, a Redis key, a ClickHouse row.
 * Starts the stack when it is not up (idempotent), and leaves it up.
 */
import { randomUUID } from 'node:crypto';
import { createClient } from '@clickhouse/client';
import { Redis } from 'ioredis';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { brokerList } from '../../deploy/local/kafka.ts';
import { type BrokerCount, envFor, stackDown, stackStatus, stackUp } from '../../deploy/local/stack.ts';

const run = randomUUID().slice(0, 8);
const topic = `stack-test.${run}`;
const subject = `stack-test-${run}-value`;
const redisKey = `rheo:stack-test:${run}`;
const table = `stack_test_${run}`;
const avro = {
  type: 'record',
  name: 'StackProbe',
  namespace: 'dev.rheo.test',
  fields: [
    { name: 'run', type: 'string' },
    { name: 'n', type: 'int' },
  ],
};
const CT = 'application/vnd.schemaregistry.v1+json';

let brokers: BrokerCount = 1;
let env: Record<string, string> = {};

const kafka = () => new Kafka({ clientId: `stack-test-${run}`, brokers: brokerList(brokers), logLevel: logLevel.NOTHING });
const redis = () => new Redis(env.RHEO_REDIS_URL ?? '', { lazyConnect: true, maxRetriesPerRequest: 2 });
const clickhouse = () => createClient({ url: env.RHEO_CLICKHOUSE_URL ?? '', database: env.RHEO_CLICKHOUSE_DATABASE ?? 'rheo' });
const registry = (path: string, init?: RequestInit) => fetch(`${env.RHEO_SCHEMA_REGISTRY_URL}${path}`, init);

beforeAll(async () => {
  const up = await stackUp();
  brokers = up.status.brokers;
  env = envFor(brokers);
}, 900_000);

afterAll(async () => {
  const admin = kafka().admin();
  await admin.connect();
  await admin.deleteTopics({ topics: [topic] }).catch(() => {});
  await admin.disconnect();
  await registry(`/subjects/${subject}`, { method: 'DELETE' }).catch(() => {});
  await registry(`/subjects/${subject}?permanent=true`, { method: 'DELETE' }).catch(() => {});
  const r = redis();
  await r.del(redisKey).catch(() => {});
  r.disconnect();
  const ch = clickhouse();
  await ch.command({ query: `DROP TABLE IF EXISTS ${table}` }).catch(() => {});
  await ch.close();
}, 120_000);

describe('local stack', () => {
  it('reports every service up', async () => {
    const status = await stackStatus();
    expect(status.services.map((s) => [s.name, s.state])).toEqual(status.services.map((s) => [s.name, 'up']));
    expect(status.services.map((s) => s.name)).toEqual(expect.arrayContaining(['redis', 'clickhouse', 'kafka-0', 'registry']));
    for (const s of status.services) expect(s.pid).toBeGreaterThan(0);
  });

  it('answers on each service', async () => {
    const admin = kafka().admin();
    await admin.connect();
    const cluster = await admin.describeCluster();
    await admin.disconnect();
    expect(cluster.brokers).toHaveLength(brokers);

    const subjects = await registry('/subjects');
    expect(subjects.status).toBe(200);
    expect(Array.isArray(await subjects.json())).toBe(true);

    const r = redis();
    await r.connect();
    expect(await r.ping()).toBe('PONG');
    r.disconnect();

    const ch = clickhouse();
    const rows = await (await ch.query({ query: 'SELECT version() AS v, currentDatabase() AS db', format: 'JSONEachRow' })).json<{
      v: string;
      db: string;
    }>();
    await ch.close();
    expect(rows[0]?.v).toMatch(/^\d+\.\d+/);
    expect(rows[0]?.db).toBe('rheo');
  }, 60_000);

  it('keeps a Kafka record, a schema id, a Redis key and a ClickHouse row across down and up', async () => {
    // Write.
    const admin = kafka().admin();
    await admin.connect();
    await admin.createTopics({
      waitForLeaders: true,
      topics: [{ topic, numPartitions: 1, replicationFactor: brokers === 3 ? 3 : 1 }],
    });
    await admin.disconnect();
    const producer = kafka().producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
    await producer.connect();
    await producer.send({ topic, acks: -1, messages: [{ key: run, value: `before-restart-${run}` }] });
    await producer.disconnect();

    const registered = await registry(`/subjects/${subject}/versions`, {
      method: 'POST',
      headers: { 'content-type': CT },
      body: JSON.stringify({ schema: JSON.stringify(avro) }),
    });
    expect(registered.status).toBe(200);
    const { id } = (await registered.json()) as { id: number };
    expect(id).toBeGreaterThan(0);

    const r = redis();
    await r.connect();
    await r.set(redisKey, `value-${run}`);
    r.disconnect();

    const ch = clickhouse();
    await ch.command({ query: `CREATE TABLE ${table} (id String, n UInt32) ENGINE = MergeTree() ORDER BY id` });
    await ch.insert({ table, values: [{ id: run, n: 42 }], format: 'JSONEachRow' });
    await ch.close();

    // Restart.
    const down = await stackDown();
    expect(down.stopped.map((s) => s.name)).toEqual(expect.arrayContaining(['redis', 'clickhouse', 'kafka-0', 'registry']));
    expect((await stackStatus()).services.every((s) => s.state === 'down')).toBe(true);
    const up = await stackUp();
    expect(up.alreadyRunning).toBe(false);
    expect(up.status.running).toBe(true);

    // Read back.
    const consumer = kafka().consumer({ groupId: `stack-test-${run}` });
    const values: string[] = [];
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({ eachMessage: async ({ message }) => void values.push(message.value?.toString() ?? '') });
    const deadline = Date.now() + 60_000;
    while (values.length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 200));
    await consumer.disconnect();
    expect(values).toEqual([`before-restart-${run}`]);

    const byId = await registry(`/schemas/ids/${id}`);
    expect(byId.status).toBe(200);
    expect(JSON.parse(((await byId.json()) as { schema: string }).schema)).toEqual(avro);

    const r2 = redis();
    await r2.connect();
    expect(await r2.get(redisKey)).toBe(`value-${run}`);
    r2.disconnect();

    const ch2 = clickhouse();
    const rows = await (await ch2.query({ query: `SELECT id, n FROM ${table}`, format: 'JSONEachRow' })).json();
    await ch2.close();
    expect(rows).toEqual([{ id: run, n: 42 }]);
  }, 900_000);

  it('treats a second up as a no-op', async () => {
    const before = await stackStatus();
    const again = await stackUp();
    expect(again.alreadyRunning).toBe(true);
    expect(again.status.services.map((s) => s.pid)).toEqual(before.services.map((s) => s.pid));
  }, 120_000);
});
