/** Helpers for feature pipeline tests on the real stack: apply a test group, produce rows, snapshot the stores. */
import { applyFeatureGroups } from '../../features/apply.ts';
import { compareVersions, type FeatureGroupDecl, type FeatureRow } from '../../features/declaration.ts';
import type { ClickHouseOfflineStore } from '../../features/offline/clickhouse.ts';
import type { RedisOnlineStore } from '../../features/online/redis.ts';
import type { RheoConfig } from '../../kernel/config.ts';
import { type Admin, createProducer, type Kafka } from '../../kernel/kafka.ts';
import { ident, sql } from '../../kernel/sql.ts';
import { featureGroupContract, SchemaCodec } from '../../schemas/index.ts';
import { featureTopic } from '../../topics/catalogue.ts';
import { waitFor } from './wait.ts';

export async function applyGroup(
  config: RheoConfig,
  group: FeatureGroupDecl,
  deps: { admin: Admin; online: RedisOnlineStore; offline: ClickHouseOfflineStore },
) {
  return applyFeatureGroups([group], { codec: SchemaCodec.fromConfig(config.registry), ...deps });
}

/** The Avro event of a row (what a producer sends). */
export function eventOf(row: FeatureRow): Record<string, unknown> {
  return {
    entity_id: row.entityId,
    ...row.values,
    event_time: row.eventTime,
    created_time: row.createdTime,
    event_id: row.eventId,
  };
}

/** Produces rows in the given order (same key → same partition → this order per entity). */
export async function produceRows(
  config: RheoConfig,
  kafka: Kafka,
  group: FeatureGroupDecl,
  rows: readonly FeatureRow[],
): Promise<void> {
  const codec = await SchemaCodec.fromConfig(config.registry).forTopic(
    featureTopic(group.name).name,
    featureGroupContract(group),
  );
  const producer = createProducer(kafka);
  await producer.connect();
  try {
    const messages = rows.map((row) => ({ key: row.entityId, value: codec.encode(eventOf(row) as never) }));
    for (let i = 0; i < messages.length; i += 2_000)
      await producer.send({ topic: featureTopic(group.name).name, acks: -1, messages: messages.slice(i, i + 2_000) });
  } finally {
    await producer.disconnect();
  }
}

export function newestByEntity(rows: readonly FeatureRow[]): Map<string, FeatureRow> {
  const newest = new Map<string, FeatureRow>();
  for (const row of rows) {
    const current = newest.get(row.entityId);
    if (!current || compareVersions(row, current) > 0) newest.set(row.entityId, row);
  }
  return newest;
}

/** Waits until the online store serves exactly the newest row of every entity and the offline store has every event. */
export async function waitUntilLanded(
  group: FeatureGroupDecl,
  online: RedisOnlineStore,
  offline: ClickHouseOfflineStore,
  rows: readonly FeatureRow[],
  timeoutMs = 120_000,
): Promise<void> {
  const newest = [...newestByEntity(rows).values()];
  const distinct = new Set(rows.map((r) => r.eventId)).size;
  await waitFor(
    `${newest.length} entities online and ${distinct} events offline`,
    async () => {
      const [stored = []] = await online.read([{ group, entityIds: newest.map((r) => r.entityId), features: [] }]);
      const behind = newest.filter((want, i) => stored[i]?.eventId !== want.eventId).length;
      if (behind > 0) return false;
      return (await offline.count(group)) >= distinct;
    },
    { timeoutMs, intervalMs: 500 },
  );
}

/** Every online entry of a group: entity → fields and absolute expiry (PEXPIRETIME). */
export async function redisSnapshot(store: RedisOnlineStore, group: FeatureGroupDecl): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  for await (const ids of store.entityIds(group)) {
    const pipeline = store.redis.pipeline();
    for (const id of ids) pipeline.hgetall(store.key(group.name, id)).call('PEXPIRETIME', store.key(group.name, id));
    const results = (await pipeline.exec()) ?? [];
    ids.forEach((id, i) => {
      out[id] = { fields: results[2 * i]?.[1], expireAt: results[2 * i + 1]?.[1] };
    });
  }
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** Every offline row of a group (deduplicated), in sorting-key order. */
export async function clickhouseSnapshot(store: ClickHouseOfflineStore, group: FeatureGroupDecl): Promise<unknown[]> {
  const table = ident(`${store.database}.${store.table(group)}`);
  const result = await store.client.query({
    query: sql`SELECT * FROM ${table} FINAL ORDER BY entity_id, event_time_ms, created_time_ms, event_id`.text,
    format: 'JSONEachRow',
  });
  return result.json();
}

export async function duplicateEvents(store: ClickHouseOfflineStore, group: FeatureGroupDecl): Promise<number> {
  const table = ident(`${store.database}.${store.table(group)}`);
  const result = await store.client.query({
    query: sql`SELECT count() AS n FROM (SELECT event_id, count() AS c FROM ${table} FINAL GROUP BY event_id HAVING c > 1)`.text,
    format: 'JSONEachRow',
  });
  const [row] = (await result.json()) as Array<{ n: string }>;
  return Number(row?.n ?? 0);
}
