/**
 * Demo step: the feature pipeline on the running stack. The declared groups are applied (schemas,
 * topics, tables), a few thousand feature events computed from card transactions are produced, the
 * materializer lands them in Redis and ClickHouse, and the output shows one card's online vector
 * with staleness, a point-in-time lookup, and reconcile finding online = offline.
 */
import type { CliIO } from '../../cli/command.ts';
import { table } from '../../cli/format.ts';
import { featureEvents } from '../../examples/fraud/feature-events.ts';
import { take, transactions } from '../../examples/fraud/generator.ts';
import { cardActivity, fraud, merchantRisk } from '../../examples/fraud/index.ts';
import { applyFeatureGroups } from '../../features/apply.ts';
import { compareVersions, type FeatureRow } from '../../features/declaration.ts';
import { ClickHouseOfflineStore } from '../../features/offline/clickhouse.ts';
import { getHistoricalFeatures } from '../../features/offline/historical.ts';
import { getOnlineFeatures } from '../../features/online/read.ts';
import { RedisOnlineStore } from '../../features/online/redis.ts';
import { FeatureProducer } from '../../features/producer.ts';
import { reconcile } from '../../features/reconcile.ts';
import { createClickHouse, createRedis } from '../../kernel/clients.ts';
import type { RheoConfig } from '../../kernel/config.ts';
import { createAdmin, createKafka } from '../../kernel/kafka.ts';
import type { Logger } from '../../kernel/log.ts';
import { createRegistry } from '../../kernel/metrics.ts';
import { sleep } from '../../kernel/retry.ts';
import { createMaterializer } from '../../processors/materializer/index.ts';
import { SchemaCodec } from '../../schemas/index.ts';

export async function featuresStep(
  io: CliIO,
  ctx: { config: RheoConfig; logger: Logger },
  options: { transactions?: number; seed?: number } = {},
): Promise<void> {
  const { config, logger } = ctx;
  const count = options.transactions ?? 3_000;
  const registry = fraud.features;
  const groups = registry.list();
  const online = new RedisOnlineStore(createRedis(config), { ownsClient: true });
  const offline = new ClickHouseOfflineStore(createClickHouse(config), {
    database: config.clickhouse.database,
    ownsClient: true,
  });
  const kafka = createKafka(config.kafka, logger, 'demo-features');
  try {
    io.out(
      `    feature groups: ${groups.map((g) => `${g.name} (${g.entity}: ${g.features.map((f) => f.name).join(', ')})`).join('; ')}`,
    );
    const admin = createAdmin(kafka);
    await admin.connect();
    const applied = await applyFeatureGroups(groups, {
      codec: SchemaCodec.fromConfig(config.registry),
      admin,
      offline,
      online,
    }).finally(() => admin.disconnect());
    for (const g of applied.groups)
      io.out(
        `    applied ${g.group}: schema ${g.subject} v${g.schema.version}, table ${config.clickhouse.database}.${g.table.table}, Redis ${online.prefix}:${g.group}:<id> (TTL ${g.online.ttlSeconds} s)`,
      );

    // Feature events from the last `count` seconds of card transactions.
    const seed = options.seed ?? Date.now() % 100_000;
    const events = [...featureEvents(take(transactions({ seed, startTime: Date.now() - count * 1_000 }), count))];
    const cards = await FeatureProducer.create(config, cardActivity, { kafka });
    const merchants = await FeatureProducer.create(config, merchantRisk, { kafka });
    const produced = { card_activity: 0, merchant_risk: 0 };
    const started = performance.now();
    await cards.sendMessages(events.filter((e) => e.group === 'card_activity').map((e) => cards.encodeChecked(e.event)));
    await merchants.sendMessages(events.filter((e) => e.group === 'merchant_risk').map((e) => merchants.encodeChecked(e.event)));
    for (const e of events) produced[e.group]++;
    await Promise.all([cards.close(), merchants.close()]);
    io.out(
      `    produced ${produced.card_activity} card_activity and ${produced.merchant_risk} merchant_risk events (Avro, keyed by entity) in ${Math.round(performance.now() - started)} ms`,
    );

    // The materializer lands them; wait until every entity's newest event is served online.
    const newest = new Map<string, Map<string, FeatureRow>>();
    for (const { group, event } of events) {
      const byEntity = newest.get(group) ?? new Map<string, FeatureRow>();
      const row = {
        entityId: event.entity_id,
        eventTime: event.event_time,
        createdTime: event.created_time,
        eventId: event.event_id,
        values: {},
      };
      const current = byEntity.get(row.entityId);
      if (!current || compareVersions(row, current) > 0) byEntity.set(row.entityId, row);
      newest.set(group, byEntity);
    }
    const metrics = createRegistry('demo-materializer', { defaultMetrics: false });
    const materializer = await createMaterializer(config, { logger, metrics }, { startFrom: 'earliest', groups });
    const landStarted = performance.now();
    await materializer.start();
    try {
      for (;;) {
        let pending = 0;
        for (const group of groups) {
          const expected = [...(newest.get(group.name)?.values() ?? [])];
          const [rows = []] = await online.read([{ group, entityIds: expected.map((r) => r.entityId), features: [] }]);
          pending += expected.filter((want, i) => !rows[i] || compareVersions(rows[i] as FeatureRow, want) < 0).length;
        }
        if (pending === 0) break;
        if (performance.now() - landStarted > 120_000)
          throw new Error(`${pending} entities still not up to date online after 120 s`);
        await sleep(200);
      }
    } finally {
      await materializer.stop('demo step done'); // finishes and commits the chunk in flight: ClickHouse has it too
    }
    const offlineRows = { card_activity: await offline.count(cardActivity), merchant_risk: await offline.count(merchantRisk) };
    io.out(
      `    materializer (consumer group ${materializer.groupId}) landed them in ${Math.round(performance.now() - landStarted)} ms: ` +
        `Redis holds the newest per entity (${newest.get('card_activity')?.size} cards, ${newest.get('merchant_risk')?.size} merchants); ` +
        `ClickHouse holds the history (${offlineRows.card_activity} card_activity rows, ${offlineRows.merchant_risk} merchant_risk rows in total)`,
    );

    // One card's vector for serving, with its merchant's risk.
    const last = events.filter((e) => e.group === 'card_activity').at(-1)?.event;
    const lastMerchant = events.filter((e) => e.group === 'merchant_risk').at(-1)?.event;
    if (last && lastMerchant) {
      const entity = { card: last.entity_id, merchant: lastMerchant.entity_id };
      const refs = [
        'card_activity:txn_count_1h',
        'card_activity:txn_count_24h',
        'card_activity:amount_avg_7d',
        'merchant_risk:chargeback_rate_30d',
        'merchant_risk:category',
      ];
      const t0 = performance.now();
      const [vector] = await getOnlineFeatures(online, registry, [entity], refs);
      const readMs = performance.now() - t0;
      io.out(`    getOnlineFeatures(${JSON.stringify(entity)}) in ${readMs.toFixed(2)} ms (one Redis round trip):`);
      io.out(
        table(
          refs.map((ref) => {
            const group = ref.split(':')[0] as string;
            const freshness = vector?.groups[group];
            return {
              feature: ref,
              value: vector?.values[ref] ?? null,
              event_time: freshness?.eventTime ? new Date(freshness.eventTime).toISOString() : '',
              staleness_s:
                freshness?.stalenessMs === null || freshness?.stalenessMs === undefined
                  ? ''
                  : (freshness.stalenessMs / 1000).toFixed(1),
            };
          }),
        )
          .split('\n')
          .map((line) => `      ${line}`)
          .join('\n'),
      );
      // The same card as of 30 minutes before its last event: the value then, not now.
      const then = last.event_time - 30 * 60_000;
      const [past, present] = await getHistoricalFeatures(
        offline,
        registry,
        [
          { entity, timestamp: then },
          { entity, timestamp: last.created_time },
        ],
        ['card_activity:txn_count_24h', 'card_activity:amount_avg_7d'],
      );
      io.out(
        `    getHistoricalFeatures (point in time, ClickHouse): ${last.entity_id} at ${new Date(then).toISOString()} had txn_count_24h=${past?.values['card_activity:txn_count_24h'] ?? 'none'}, ` +
          `amount_avg_7d=${past?.values['card_activity:amount_avg_7d'] ?? 'none'}; once its last event was produced, ${present?.values['card_activity:txn_count_24h']} and ${present?.values['card_activity:amount_avg_7d']} (a value counts from its created_time, never before)`,
      );
    }

    for (const group of groups) {
      const report = await reconcile(group, online, offline);
      io.out(
        `    reconcile ${group.name}: ${report.matching} entities online = latest offline, ${report.differences} differences` +
          (report.expired ? ` (${report.expired} expired by TTL, correctly absent online)` : ''),
      );
    }
    io.out(
      `    look around: npx rheo features describe card_activity · redis-cli -p 16379 GET ${online.prefix}:card_activity:${last?.entity_id ?? 'card-1'}`,
    );
    io.out(
      `                 curl -s localhost:18123 --data-binary "SELECT * FROM ${config.clickhouse.database}.features_card_activity FINAL ORDER BY event_time DESC LIMIT 5 FORMAT PrettyCompact"`,
    );
  } finally {
    await Promise.allSettled([online.close(), offline.close()]);
  }
}
