/**
 * The feature materializer on the real stack (Kafka, registry, Redis, ClickHouse): out-of-order
 * events and corrections, dead letters, full replay (over the same stores and into fresh ones),
 * kill -9 of one of two instances mid-batch, and reconcile after each.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FeatureGroupDecl, FeatureRow } from '../../../features/declaration.ts';
import { ClickHouseOfflineStore } from '../../../features/offline/clickhouse.ts';
import { getHistoricalFeatures } from '../../../features/offline/historical.ts';
import { RedisOnlineStore } from '../../../features/online/redis.ts';
import { reconcile } from '../../../features/reconcile.ts';
import { FeatureRegistry } from '../../../features/registry.ts';
import { createClickHouse, createRedis } from '../../../kernel/clients.ts';
import { loadConfig } from '../../../kernel/config.ts';
import { type Admin, createAdmin, createKafka, createProducer, type Kafka } from '../../../kernel/kafka.ts';
import { createLogger } from '../../../kernel/log.ts';
import { createRegistry } from '../../../kernel/metrics.ts';
import { createMaterializer } from '../../../processors/materializer/index.ts';
import type { ProcessorRunner } from '../../../runtime/runner.ts';
import { featureGroupContract, SchemaCodec } from '../../../schemas/index.ts';
import { featureTopic } from '../../../topics/catalogue.ts';
import { exited, startChild } from '../../support/child.ts';
import { row, testGroup } from '../../support/feature-groups.ts';
import {
  applyGroup,
  clickhouseSnapshot,
  duplicateEvents,
  eventOf,
  newestByEntity,
  produceRows,
  redisSnapshot,
  waitUntilLanded,
} from '../../support/feature-pipeline.ts';
import { waitFor } from '../../support/wait.ts';

const CHILD = new URL('../fixtures/materializer-child.ts', import.meta.url);
const config = loadConfig();
const logger = createLogger('materializer-test', { level: 'warn' });
let kafka: Kafka;
let admin: Admin;
let online: RedisOnlineStore;
let offline: ClickHouseOfflineStore;
const groups: FeatureGroupDecl[] = [];
const runners: Array<ProcessorRunner<unknown, unknown>> = [];

beforeAll(async () => {
  kafka = createKafka(config.kafka, undefined, 'materializer-test');
  admin = createAdmin(kafka);
  await admin.connect();
  online = new RedisOnlineStore(createRedis(config), { ownsClient: true });
  offline = new ClickHouseOfflineStore(createClickHouse(config), { database: config.clickhouse.database, ownsClient: true });
});

afterAll(async () => {
  for (const runner of runners) await runner.stop().catch(() => undefined);
  for (const group of groups) {
    await online.teardown(group).catch(() => undefined);
    await offline.teardown(group).catch(() => undefined);
    const topic = featureTopic(group.name);
    await admin.deleteTopics({ topics: [topic.name, topic.dlq as string] }).catch(() => undefined);
  }
  await admin.disconnect();
  await online.close();
  await offline.close();
});

async function freshGroup(prefix: string): Promise<FeatureGroupDecl> {
  const group = testGroup(prefix, { ttlSeconds: 86_400 });
  groups.push(group);
  await applyGroup(config, group, { admin, online, offline });
  return group;
}

async function materialize(
  group: FeatureGroupDecl,
  stores: { online?: RedisOnlineStore; offline?: ClickHouseOfflineStore } = {},
) {
  const runner = await createMaterializer(
    config,
    {
      logger,
      metrics: createRegistry('materializer-test', { defaultMetrics: false }),
      online: stores.online ?? online,
      offline: stores.offline ?? offline,
    },
    {
      startFrom: 'earliest',
      groups: [group],
      groupId: `test.materializer.${randomUUID().slice(0, 8)}`,
      sessionTimeoutMs: 10_000,
    },
  );
  runners.push(runner as ProcessorRunner<unknown, unknown>);
  await runner.start();
  return runner;
}

/** Ten versions per entity, produced out of event-time order, plus corrections and stale corrections. */
function shuffledHistory(entities: number, base: number): FeatureRow[] {
  const rows: FeatureRow[] = [];
  for (let e = 0; e < entities; e++) {
    const id = `card-${e}`;
    const versions = Array.from({ length: 10 }, (_, v) => row(id, base + v * 60_000 + e));
    // A fixed shuffle: newest in the middle, oldest last.
    const order = [3, 9, 0, 5, 7, 1, 8, 2, 6, 4].map((i) => versions[i] as FeatureRow);
    const newest = versions[9] as FeatureRow;
    const correction = row(id, newest.eventTime, {
      createdTime: newest.createdTime + 1_000,
      values: { amount: -1, count: -1, label: `corrected-${e}`, flag: true },
    });
    const staleCorrection = row(id, newest.eventTime, {
      createdTime: newest.createdTime - 1,
      values: { amount: -2, count: -2, label: 'stale', flag: false },
    });
    rows.push(...order.slice(0, 5), correction, ...order.slice(5), staleCorrection);
  }
  return rows;
}

describe('feature materializer on the real stack', () => {
  let history: { group: FeatureGroupDecl; rows: FeatureRow[] };

  it('keeps the newest event online whatever the order, lands every event offline, and reconciles', async () => {
    const group = await freshGroup('order');
    const base = Date.now() - 3_600_000;
    const rows = shuffledHistory(40, base);
    await produceRows(config, kafka, group, rows);
    const runner = await materialize(group);
    await waitUntilLanded(group, online, offline, rows);
    await runner.stop();
    history = { group, rows };

    const newest = newestByEntity(rows);
    const [stored = []] = await online.read([{ group, entityIds: [...newest.keys()] }]);
    expect(stored).toEqual([...newest.values()]);
    expect(stored.every((r) => r?.values.label?.toString().startsWith('corrected-'))).toBe(true);
    expect(await offline.count(group)).toBe(rows.length);

    // Offline, the correction counts from its created time; before it, the original newest value.
    const registry = new FeatureRegistry([group]);
    const newest0 = rows.filter((r) => r.entityId === 'card-0').sort((a, b) => b.createdTime - a.createdTime);
    const correction = newest0.find((r) => r.values.label === 'corrected-0') as FeatureRow;
    const frame = await getHistoricalFeatures(
      offline,
      registry,
      [
        { entity: 'card-0', timestamp: correction.eventTime },
        { entity: 'card-0', timestamp: correction.createdTime },
        { entity: 'card-0', timestamp: base - 1 },
      ],
      [`${group.name}:label`],
    );
    expect(frame.map((f) => f.values[`${group.name}:label`])).toEqual([`v${correction.eventTime}`, 'corrected-0', null]);

    const report = await reconcile(group, online, offline);
    expect(report).toMatchObject({ differences: 0, matching: 40, entitiesOnline: 40 });
  });

  it('sends undecodable and invalid events to the dead-letter topic with the reason, and lands the rest', async () => {
    const group = await freshGroup('dlq');
    const codec = await SchemaCodec.fromConfig(config.registry).forTopic(
      featureTopic(group.name).name,
      featureGroupContract(group),
    );
    const good = [row('good-1', Date.now() - 1_000), row('good-2', Date.now() - 1_000)];
    const producer = createProducer(kafka);
    await producer.connect();
    await producer.send({
      topic: featureTopic(group.name).name,
      acks: -1,
      messages: [
        { key: 'good-1', value: codec.encode(eventOf(good[0] as FeatureRow) as never) },
        { key: 'x', value: Buffer.from('{"not": "avro"}') },
        { key: 'someone-else', value: codec.encode(eventOf(row('card-9', Date.now())) as never) },
        { key: '', value: codec.encode(eventOf(row('', Date.now())) as never) },
        {
          key: 'nan',
          value: codec.encode(
            eventOf(row('nan', Date.now(), { values: { amount: Number.NaN, count: 1, label: 'x', flag: true } })) as never,
          ),
        },
        { key: 'good-2', value: codec.encode(eventOf(good[1] as FeatureRow) as never) },
      ],
    });
    await producer.disconnect();
    const runner = await materialize(group);
    await waitUntilLanded(group, online, offline, good);

    const letters: Array<{ key: string; reason: string; code: string }> = [];
    const consumer = kafka.consumer({ groupId: `test.dlq-reader.${randomUUID().slice(0, 8)}` });
    await consumer.connect();
    await consumer.subscribe({ topics: [featureTopic(group.name).dlq as string], fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        letters.push({
          key: message.key?.toString() ?? '',
          reason: String(message.headers?.['rheo.error.reason']),
          code: String(message.headers?.['rheo.error.code']),
        });
      },
    });
    await waitFor('4 dead letters', () => letters.length >= 4, { timeoutMs: 30_000 });
    await consumer.disconnect();
    await runner.stop();
    const byKey = Object.fromEntries(letters.map((l) => [l.key, l]));
    expect(byKey.x).toMatchObject({ code: 'SCHEMA_DECODE_FAILED' });
    expect(byKey['someone-else']?.reason).toMatch(/key "someone-else" but entity_id is "card-9"/);
    expect(byKey['']?.reason).toMatch(/missing entity/);
    expect(byKey.nan?.reason).toMatch(/"amount" must be a finite double/);
    expect(await offline.count(group)).toBe(2);
  });

  it('replays the whole topic to identical Redis and ClickHouse contents, over the same stores or into empty ones', async () => {
    const { group, rows } = history;
    const before = { redis: await redisSnapshot(online, group), clickhouse: await clickhouseSnapshot(offline, group) };
    expect(Object.keys(before.redis)).toHaveLength(40);
    expect(before.clickhouse).toHaveLength(rows.length);

    // 1. Replay over the same stores (a new consumer group from the earliest offset): nothing changes.
    const again = await materialize(group);
    await waitFor('replay committed everything', async () => {
      const offsets = await admin.fetchOffsets({ groupId: again.groupId, topics: [featureTopic(group.name).name] });
      const ends = await admin.fetchTopicOffsets(featureTopic(group.name).name);
      const committed = (partition: number) => offsets[0]?.partitions.find((p) => p.partition === partition)?.offset;
      return ends.every((end) => end.high === '0' || committed(end.partition) === end.high);
    });
    await again.stop();
    expect(await redisSnapshot(online, group)).toEqual(before.redis);
    expect(await clickhouseSnapshot(offline, group)).toEqual(before.clickhouse);

    // 2. Rebuild into empty stores: the same contents.
    const id = randomUUID().slice(0, 8);
    const freshOnline = new RedisOnlineStore(createRedis(config), { prefix: `test:rebuild:${id}`, ownsClient: true });
    const freshOffline = new ClickHouseOfflineStore(createClickHouse(config), {
      database: config.clickhouse.database,
      tablePrefix: `test_rebuild_${id}_`,
      ownsClient: true,
    });
    try {
      const rebuild = await materialize(group, { online: freshOnline, offline: freshOffline });
      await waitUntilLanded(group, freshOnline, freshOffline, rows);
      await rebuild.stop();
      expect(await redisSnapshot(freshOnline, group)).toEqual(before.redis);
      expect(await clickhouseSnapshot(freshOffline, group)).toEqual(before.clickhouse);
    } finally {
      await freshOnline.teardown(group);
      await freshOffline.teardown(group);
    }
  });

  it('loses nothing and keeps no duplicate when one of two instances is killed -9 mid-batch and restarted', async () => {
    const group = await freshGroup('kill');
    const base = Date.now() - 3_600_000;
    const rows: FeatureRow[] = [];
    for (let i = 0; i < 20_000; i++) rows.push(row(`card-${i % 400}`, base + i * 100));
    await produceRows(config, kafka, group, rows);
    const consumerGroup = `test.materializer.${randomUUID().slice(0, 8)}`;
    const env = { GROUP_DECL: JSON.stringify(group), GROUP_ID: consumerGroup, CHUNK: '200', SINK_DELAY_MS: '300' };
    const a = startChild(CHILD, env);
    const b = startChild(CHILD, env);
    try {
      await waitFor('some progress', async () => (await offline.count(group)) > 2_000, { timeoutMs: 90_000 }).catch((error) => {
        throw new Error(`${error.message}\n--- a:\n${a.output()}\n--- b:\n${b.output()}`);
      });
      a.kill('SIGKILL');
      await exited(a);
      const atKill = await offline.count(group);
      expect(atKill).toBeLessThan(rows.length);
      const restarted = startChild(CHILD, { ...env, SINK_DELAY_MS: '0' });
      try {
        await waitUntilLanded(group, online, offline, rows, 180_000);
      } finally {
        restarted.kill('SIGTERM');
        expect((await exited(restarted)).code, restarted.output()).toBe(0);
      }
    } finally {
      b.kill('SIGTERM');
      await exited(b);
    }
    expect(await offline.count(group)).toBe(rows.length);
    expect(await duplicateEvents(offline, group)).toBe(0);
    const newest = newestByEntity(rows);
    const [stored = []] = await online.read([{ group, entityIds: [...newest.keys()] }]);
    expect(stored).toEqual([...newest.values()]);
    expect((await reconcile(group, online, offline)).differences).toBe(0);
  });
});
