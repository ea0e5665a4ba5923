/**
 * The processor runner against the real local stack: kill -9 and restart loses nothing, poison records
 * go to the DLQ while the rest flows, a member joining mid-run loses nothing, a failing sink pauses
 * and resumes, heartbeats survive a chunk longer than the session timeout, SIGTERM leaves cleanly.
 */
import { rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedis, type Redis } from '../../kernel/clients.ts';
import { loadConfig } from '../../kernel/config.ts';
import { type Admin, createAdmin, createKafka, createProducer, type Kafka, type Producer } from '../../kernel/kafka.ts';
import { createLogger } from '../../kernel/log.ts';
import { createRegistry } from '../../kernel/metrics.ts';
import { sleep } from '../../kernel/retry.ts';
import { MemorySink } from '../../runtime/driver.ts';
import { ProcessorRunner } from '../../runtime/runner.ts';
import { statelessProcessor } from '../../runtime/types.ts';
import { ensureTopics } from '../../topics/admin.ts';
import { withDeadLetters } from '../../topics/catalogue.ts';
import { exited, startChild } from '../support/child.ts';
import { testTopic, uniqueName } from '../support/topics.ts';
import { waitFor } from '../support/wait.ts';

const CHILD = new URL('./fixtures/runner-child.ts', import.meta.url);
const config = loadConfig();
let kafka: Kafka;
let admin: Admin;
let producer: Producer;
let redis: Redis;

beforeAll(async () => {
  kafka = createKafka(config.kafka, undefined, 'runner-test');
  admin = createAdmin(kafka);
  producer = createProducer(kafka);
  redis = createRedis(config);
  await Promise.all([admin.connect(), producer.connect()]);
});

afterAll(async () => {
  await Promise.allSettled([admin.disconnect(), producer.disconnect()]);
  redis.disconnect();
});

async function freshTopic(prefix: string, partitions = 6) {
  const entry = testTopic(uniqueName(prefix), partitions);
  await ensureTopics(admin, withDeadLetters([entry]));
  return entry;
}

/** Produces `count` events over `keys` keys; seq counts per key so order can be checked. */
async function produceEvents(
  topic: string,
  count: number,
  keys = 20,
  poisonEvery = 0,
): Promise<{ ids: string[]; poison: number }> {
  const seqByKey = new Map<string, number>();
  const ids: string[] = [];
  let poison = 0;
  const messages = [];
  for (let i = 0; i < count; i++) {
    const key = `k${i % keys}`;
    if (poisonEvery && i % poisonEvery === poisonEvery - 1) {
      messages.push({ key, value: Buffer.from(`{"broken": ${i}`) });
      poison++;
      continue;
    }
    const seq = seqByKey.get(key) ?? 0;
    seqByKey.set(key, seq + 1);
    const id = `e${i}`;
    ids.push(id);
    messages.push({ key, value: Buffer.from(JSON.stringify({ id, key, seq })) });
  }
  for (let i = 0; i < messages.length; i += 500) await producer.send({ topic, acks: -1, messages: messages.slice(i, i + 500) });
  return { ids, poison };
}

/** Per key, a redelivery may go back, but a delivery never skips ahead or reorders: next is prev+1 or ≤ prev. */
async function assertPerKeyOrder(prefix: string, keys: number, expectedPerKey: (key: string) => number) {
  for (let k = 0; k < keys; k++) {
    const key = `k${k}`;
    const seqs = (await redis.lrange(`${prefix}:order:${key}`, 0, -1)).map(Number);
    for (let i = 1; i < seqs.length; i++) {
      const [prev, next] = [seqs[i - 1] as number, seqs[i] as number];
      expect(next === prev + 1 || next <= prev, `key ${key}: ${prev} then ${next}`).toBe(true);
    }
    expect(new Set(seqs).size).toBe(expectedPerKey(key));
  }
}

async function readAll(
  topic: string,
  expected: number,
): Promise<Array<{ value: Buffer | null; headers: Record<string, string> }>> {
  const consumer = kafka.consumer({ groupId: uniqueName('reader') });
  const out: Array<{ value: Buffer | null; headers: Record<string, string> }> = [];
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) => {
      const headers = Object.fromEntries(Object.entries(message.headers ?? {}).map(([k, v]) => [k, String(v)]));
      out.push({ value: message.value, headers });
    },
  });
  await waitFor(`${expected} records on ${topic}`, () => out.length >= expected, { timeoutMs: 30_000 });
  await consumer.disconnect();
  return out;
}

describe('processor runner on the real stack', () => {
  it('loses nothing when killed -9 mid-run and restarted, and keeps per-key order', async () => {
    const topic = await freshTopic('kill9');
    const prefix = uniqueName('kill9');
    const group = uniqueName('group');
    const { ids } = await produceEvents(topic.name, 3000);
    const env = { TOPIC: topic.name, GROUP: group, PREFIX: prefix, SINK_DELAY_MS: '40', CHUNK: '50' };
    const first = startChild(CHILD, env);
    await waitFor('some progress', async () => (await redis.scard(`${prefix}:seen`)) > 300, { timeoutMs: 60_000 });
    first.kill('SIGKILL');
    await exited(first);
    const before = await redis.scard(`${prefix}:seen`);
    expect(before).toBeLessThan(ids.length);
    const second = startChild(CHILD, { ...env, SINK_DELAY_MS: '0' });
    await waitFor('every event', async () => (await redis.scard(`${prefix}:seen`)) === ids.length, { timeoutMs: 90_000 });
    second.kill('SIGTERM');
    expect((await exited(second)).code).toBe(0);
    const seen = await redis.smembers(`${prefix}:seen`);
    expect(new Set(seen)).toEqual(new Set(ids));
    await assertPerKeyOrder(prefix, 20, () => ids.length / 20);
    // Offsets were committed only after writes: total writes ≥ events, duplicates only from the killed chunk(s).
    const writes = Number(await redis.get(`${prefix}:writes`));
    expect(writes).toBeGreaterThanOrEqual(ids.length);
  });

  it('sends poison records to the DLQ with the reason while the rest flows', async () => {
    const topic = await freshTopic('poison', 3);
    const prefix = uniqueName('poison');
    const { ids, poison } = await produceEvents(topic.name, 600, 10, 50);
    const child = startChild(CHILD, { TOPIC: topic.name, GROUP: uniqueName('group'), PREFIX: prefix });
    await waitFor('every good event', async () => (await redis.scard(`${prefix}:seen`)) === ids.length, { timeoutMs: 60_000 });
    child.kill('SIGTERM');
    expect((await exited(child)).code).toBe(0);
    const letters = await readAll(topic.dlq as string, poison);
    expect(letters).toHaveLength(poison);
    for (const letter of letters) {
      expect(letter.value?.toString()).toMatch(/^\{"broken": \d+$/);
      expect(letter.headers['rheo.error.code']).toBe('SCHEMA_DECODE_FAILED');
      expect(letter.headers['rheo.source.topic']).toBe(topic.name);
      expect(letter.headers['rheo.source.offset']).toMatch(/^\d+$/);
      expect(letter.headers['rheo.error.reason']).toContain('JSON');
    }
  });

  it('loses nothing when a member joins mid-run (duplicates only, idempotent)', async () => {
    const topic = await freshTopic('join');
    const prefix = uniqueName('join');
    const group = uniqueName('group');
    const { ids } = await produceEvents(topic.name, 3000);
    // Slow enough (≈10 s of work) that the second member joins while the first is busy.
    const env = { TOPIC: topic.name, GROUP: group, PREFIX: prefix, SINK_DELAY_MS: '100', CHUNK: '20' };
    const a = startChild(CHILD, env);
    await waitFor('some progress', async () => (await redis.scard(`${prefix}:seen`)) > 200, { timeoutMs: 60_000 });
    const b = startChild(CHILD, env);
    await waitFor('every event', async () => (await redis.scard(`${prefix}:seen`)) === ids.length, { timeoutMs: 120_000 });
    a.kill('SIGTERM');
    b.kill('SIGTERM');
    expect((await exited(a)).code).toBe(0);
    expect((await exited(b)).code).toBe(0);
    await assertPerKeyOrder(prefix, 20, () => ids.length / 20);
    // Both members did work: the joiner got partitions in the rebalance.
    expect(Number(await redis.get(`${prefix}:worker:${a.pid}`))).toBeGreaterThan(0);
    expect(Number(await redis.get(`${prefix}:worker:${b.pid}`))).toBeGreaterThan(0);
  });

  it('pauses on a failing sink and lands everything, in order, once it recovers', async () => {
    const topic = await freshTopic('sinkdown', 3);
    const prefix = uniqueName('sinkdown');
    const flag = join(tmpdir(), `${prefix}.fail`);
    writeFileSync(flag, 'fail');
    const { ids } = await produceEvents(topic.name, 900, 9);
    const child = startChild(CHILD, { TOPIC: topic.name, GROUP: uniqueName('group'), PREFIX: prefix, FAIL_FLAG: flag });
    await sleep(4_000);
    expect(await redis.scard(`${prefix}:seen`)).toBe(0);
    rmSync(flag);
    await waitFor('every event after recovery', async () => (await redis.scard(`${prefix}:seen`)) === ids.length, {
      timeoutMs: 60_000,
    });
    child.kill('SIGTERM');
    expect((await exited(child)).code).toBe(0);
    await assertPerKeyOrder(prefix, 9, () => ids.length / 9);
  });

  it('keeps its membership through a chunk longer than the session timeout, and commits on SIGTERM-style stop', async () => {
    const topic = await freshTopic('slow', 1);
    await producer.send({
      topic: topic.name,
      acks: -1,
      messages: [
        { key: 'k', value: Buffer.from('1') },
        { key: 'k', value: Buffer.from('2') },
      ],
    });
    const metrics = createRegistry('slow-test', { defaultMetrics: false });
    const sink = new MemorySink<string>();
    const slowSink = {
      name: 'slow',
      async write(writes: readonly string[]) {
        await sleep(9_000); // longer than the 6 s session timeout
        await sink.write(writes);
      },
    };
    const group = uniqueName('group');
    const runner = new ProcessorRunner(
      {
        name: 'slow',
        inputs: [topic],
        decode: (raw) => raw.value?.toString() ?? '',
        supply: statelessProcessor((rs) => ({ writes: rs.map((r) => r.value), rejected: [] })),
        sink: slowSink,
      },
      {
        kafka,
        logger: createLogger('slow-test', { level: 'warn' }),
        metrics,
        startFrom: 'earliest',
        groupId: group,
        sessionTimeoutMs: 6_000,
        heartbeatIntervalMs: 1_000,
      },
    );
    await runner.start();
    await waitFor('slow chunk written', () => sink.written.length === 2, { timeoutMs: 60_000 });
    await waitFor('commit', () => runner.state().committed >= 1, { timeoutMs: 10_000 });
    const rebalances = (await metrics.getSingleMetricAsString('rheo_processor_rebalances_total')).match(/ (\d+)$/m)?.[1];
    expect(Number(rebalances)).toBe(1);
    await runner.stop();
    const offsets = await admin.fetchOffsets({ groupId: group, topics: [topic.name] });
    expect(offsets[0]?.partitions[0]?.offset).toBe('2');
    const described = await admin.describeGroups([group]);
    expect(described.groups[0]?.state).toBe('Empty');
  });
});
