/**
 * A labeled history of the fraud domain for training: card payments with the generator's known
 * signal, the feature events a streaming job would have computed from them, the rule baseline's
 * predictions (which log the payment's inputs and the merchant id) and the fraud labels that arrive
 * an hour later. Entity ids carry a prefix, so a history never mixes with another's features.
 *
 * It lands in ClickHouse either through Kafka (produced as Avro, landed by the archiver and the
 * feature materializer — the real loop) or written straight to the same tables (tests that only
 * need the rows).
 */
import { randomUUID } from 'node:crypto';
import type { FeatureRow } from '../../features/declaration.ts';
import { ClickHouseOfflineStore } from '../../features/offline/clickhouse.ts';
import { FeatureProducer } from '../../features/producer.ts';
import { createClickHouse } from '../../kernel/clients.ts';
import type { RheoConfig } from '../../kernel/config.ts';
import { createKafka, createProducer } from '../../kernel/kafka.ts';
import type { Logger } from '../../kernel/log.ts';
import { createRegistry } from '../../kernel/metrics.ts';
import { sleep } from '../../kernel/retry.ts';
import { ident, sql } from '../../kernel/sql.ts';
import { createArchiver } from '../../processors/archiver/index.ts';
import { createMaterializer } from '../../processors/materializer/index.ts';
import { CONTRACTS, type FeedbackInput, type PredictionInput, SchemaCodec } from '../../schemas/index.ts';
import { ensureHistoryTables } from '../../tables/admin.ts';
import { TABLES, tableRef } from '../../tables/catalogue.ts';
import { archivedTable } from '../../tables/history.ts';
import { TOPICS } from '../../topics/catalogue.ts';
import { type DemoFeatureEvent, featureEvents } from './feature-events.ts';
import { cardActivity, merchantRisk } from './features/index.ts';
import { fraudSignal, type Transaction, take, transactions } from './generator.ts';

export const RULES_VERSION = '0.0.0-rules';
const HOUR = 3_600_000;

export interface LabeledHistoryOptions {
  model: string;
  transactions: number;
  seed: number;
  /** The last payment happens before `end − labelDelayMs`, so every label is known by `end`. */
  end: number;
  /** Prefix of every entity and prediction id (namespacing one history from another). */
  prefix: string;
  labelDelayMs?: number;
  /** Mean gap between payments (default 30 s: 10 000 payments span about 3.5 days, so every hour of the day is seen). */
  meanGapMs?: number;
  amountInflation?: number;
}

export interface LabeledHistory {
  prefix: string;
  transactions: Transaction[];
  features: DemoFeatureEvent[];
  predictions: PredictionInput[];
  labels: FeedbackInput[];
  /** Reference times span [start, lastPayment]. */
  start: number;
  lastPayment: number;
}

/** The rule baseline the history's predictions come from: the known signal without the merchant's risk, which it cannot see. */
export function ruleScore(t: Transaction): number {
  return fraudSignal({ ...t, merchantRisk: 0.2 });
}

export function labeledHistory(options: LabeledHistoryOptions): LabeledHistory {
  const gap = options.meanGapMs ?? 30_000;
  const delay = options.labelDelayMs ?? HOUR;
  // Exponential gaps: the span's spread is about 1/√n of it, so a 10% margin keeps every label before `end`.
  const span = options.transactions * gap * 1.1;
  const start = options.end - delay - span - 10 * gap;
  const p = options.prefix;
  const txs = take(
    transactions({ seed: options.seed, startTime: start, meanGapMs: gap, amountInflation: options.amountInflation ?? 1 }),
    options.transactions,
  ).map((t) => ({
    ...t,
    transactionId: `${p}-${t.transactionId}`,
    cardId: `${p}-${t.cardId}`,
    merchantId: `${p}-${t.merchantId}`,
  }));
  const predictions: PredictionInput[] = txs.map((t) => {
    const score = ruleScore(t);
    return {
      event_id: randomUUID(),
      event_time: t.eventTime + 15,
      prediction_id: `${t.transactionId}`,
      entity_id: t.cardId,
      model_name: options.model,
      model_version: RULES_VERSION,
      variant: 'PRODUCTION',
      source: 'BATCH',
      inputs: {
        amount: t.amount,
        hour_of_day: t.hourOfDay,
        distance_from_home_km: t.distanceFromHomeKm,
        merchant_id: t.merchantId,
      },
      outputs: { probability: score },
      score,
      predicted_label: score > 0.5 ? 'fraud' : 'legit',
      latency_ms: 0.05,
      request_time: t.eventTime,
    };
  });
  const labels: FeedbackInput[] = txs.map((t) => ({
    event_id: randomUUID(),
    event_time: t.eventTime + delay,
    prediction_id: t.transactionId,
    entity_id: t.cardId,
    label: t.isFraud ? 1 : 0,
    observed_time: t.eventTime + delay,
    label_source: 'chargeback',
  }));
  return {
    prefix: p,
    transactions: txs,
    features: [...featureEvents(txs)],
    predictions,
    labels,
    start,
    lastPayment: txs.at(-1)?.eventTime ?? start,
  };
}

export interface LandReport {
  via: 'kafka' | 'clickhouse';
  ms: number;
  counts: { predictions: number; labels: number; card_activity: number; merchant_risk: number };
}

/** Lands the history in ClickHouse and waits until every row is there. */
export async function landLabeledHistory(
  config: RheoConfig,
  logger: Logger,
  history: LabeledHistory,
  options: { via: 'kafka' | 'clickhouse'; timeoutMs?: number; servicesRunning?: boolean },
): Promise<LandReport> {
  const started = performance.now();
  const clickhouse = createClickHouse(config);
  const db = config.clickhouse.database;
  const offline = new ClickHouseOfflineStore(clickhouse, { database: db });
  const byGroup = (name: 'card_activity' | 'merchant_risk') =>
    history.features.filter((f) => f.group === name).map((f) => f.event);
  const want = {
    predictions: history.predictions.length,
    labels: history.labels.length,
    card_activity: byGroup('card_activity').length,
    merchant_risk: byGroup('merchant_risk').length,
  };
  const tables = { card_activity: offline.table(cardActivity), merchant_risk: offline.table(merchantRisk) };
  const finish = async (): Promise<LandReport> => {
    const counts = await waitLanded(clickhouse, db, tables, history.prefix, want, options.timeoutMs ?? 180_000);
    return { via: options.via, ms: Math.round(performance.now() - started), counts };
  };
  try {
    await ensureHistoryTables(clickhouse, db);
    await offline.ensure(cardActivity);
    await offline.ensure(merchantRisk);
    if (options.via === 'clickhouse') {
      const rows = (group: typeof cardActivity | typeof merchantRisk): FeatureRow[] =>
        byGroup(group.name as 'card_activity' | 'merchant_risk').map((e) => {
          const { entity_id, event_time, created_time, event_id, ...values } = e;
          return { entityId: entity_id, eventTime: event_time, createdTime: created_time, eventId: event_id, values };
        });
      await offline.writeBatch(cardActivity, rows(cardActivity));
      await offline.writeBatch(merchantRisk, rows(merchantRisk));
      for (const [name, events] of [
        ['predictions', history.predictions],
        ['feedback', history.labels],
      ] as const) {
        const table = archivedTable(name);
        await clickhouse.insert({
          table: tableRef(db, table.entry).text,
          values: events.map((e) => table.toRow(e as unknown as Record<string, unknown>)),
          format: 'JSONEachRow',
        });
      }
    } else {
      await produce(config, logger, history, byGroup);
      // The platform's own archiver and materializer land it (`rheo up`); otherwise run them here.
      if (options.servicesRunning) return finish();
      // One metrics registry per runner: each registers the runner's metric names.
      const archiver = await createArchiver(config, {
        logger,
        metrics: createRegistry('history-archiver', { defaultMetrics: false }),
      });
      const materializer = await createMaterializer(
        config,
        { logger, metrics: createRegistry('history-materializer', { defaultMetrics: false }) },
        { startFrom: 'earliest', groups: [cardActivity, merchantRisk] },
      );
      await Promise.all([archiver.start(), materializer.start()]);
      try {
        await waitLanded(clickhouse, db, tables, history.prefix, want, options.timeoutMs ?? 180_000);
      } finally {
        await Promise.allSettled([archiver.stop('history landed'), materializer.stop('history landed')]);
      }
    }
    return await finish();
  } finally {
    await clickhouse.close();
  }
}

async function produce(
  config: RheoConfig,
  logger: Logger,
  history: LabeledHistory,
  byGroup: (name: 'card_activity' | 'merchant_risk') => DemoFeatureEvent['event'][],
): Promise<void> {
  const kafka = createKafka(config.kafka, logger, 'labeled-history');
  const codec = SchemaCodec.fromConfig(config.registry);
  const cards = await FeatureProducer.create(config, cardActivity, { kafka, codec });
  const merchants = await FeatureProducer.create(config, merchantRisk, { kafka, codec });
  const predictions = await codec.forTopic(TOPICS.predictions.name, CONTRACTS.Prediction);
  const feedback = await codec.forTopic(TOPICS.feedback.name, CONTRACTS.Feedback);
  const producer = createProducer(kafka);
  await producer.connect();
  try {
    await cards.sendMessages(byGroup('card_activity').map((e) => cards.encodeChecked(e)));
    await merchants.sendMessages(byGroup('merchant_risk').map((e) => merchants.encodeChecked(e)));
    for (let i = 0; i < history.predictions.length; i += 1000) {
      await producer.sendBatch({
        acks: -1,
        topicMessages: [
          {
            topic: TOPICS.predictions.name,
            messages: history.predictions.slice(i, i + 1000).map((p) => ({ key: p.entity_id, value: predictions.encode(p) })),
          },
          {
            topic: TOPICS.feedback.name,
            messages: history.labels.slice(i, i + 1000).map((f) => ({ key: f.prediction_id ?? null, value: feedback.encode(f) })),
          },
        ],
      });
    }
  } finally {
    await Promise.allSettled([cards.close(), merchants.close(), producer.disconnect()]);
  }
}

async function waitLanded(
  clickhouse: ReturnType<typeof createClickHouse>,
  db: string,
  tables: { card_activity: string; merchant_risk: string },
  prefix: string,
  want: LandReport['counts'],
  timeoutMs: number,
): Promise<LandReport['counts']> {
  const like = `${prefix}-%`;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const result = await clickhouse.query({
      query: sql`SELECT
  (SELECT count() FROM ${tableRef(db, TABLES.predictions)} FINAL WHERE prediction_id LIKE ${like}) AS predictions,
  (SELECT count() FROM ${tableRef(db, TABLES.feedback)} FINAL WHERE prediction_id LIKE ${like}) AS labels,
  (SELECT count() FROM ${ident(`${db}.${tables.card_activity}`)} FINAL WHERE entity_id LIKE ${like}) AS card_activity,
  (SELECT count() FROM ${ident(`${db}.${tables.merchant_risk}`)} FINAL WHERE entity_id LIKE ${like}) AS merchant_risk`.text,
      format: 'JSONEachRow',
    });
    const [row] = (await result.json()) as Array<Record<keyof LandReport['counts'], string>>;
    const counts = {
      predictions: Number(row?.predictions ?? 0),
      labels: Number(row?.labels ?? 0),
      card_activity: Number(row?.card_activity ?? 0),
      merchant_risk: Number(row?.merchant_risk ?? 0),
    };
    if ((Object.keys(want) as Array<keyof typeof want>).every((k) => counts[k] >= want[k])) return counts;
    if (Date.now() > deadline)
      throw new Error(`history not landed in ${timeoutMs} ms: have ${JSON.stringify(counts)}, want ${JSON.stringify(want)}`);
    await sleep(300);
  }
}
