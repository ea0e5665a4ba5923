/**
 * The feedback joiner on the real stack: labels joined by prediction id (all variants) and by entity,
 * labels that race their predictions wait for them, labels delivered twice are joined once, quality in
 * the ClickHouse view and the Prometheus gauges matches the hand-checked metrics, and a full replay
 * changes nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clickHouseMonitoringStore } from '../../gateway/monitoring.ts';
import { type ClickHouseClient, createClickHouse } from '../../kernel/clients.ts';
import { loadConfig } from '../../kernel/config.ts';
import { type Admin, createAdmin, createKafka, createProducer, type Kafka, type Producer } from '../../kernel/kafka.ts';
import { createLogger } from '../../kernel/log.ts';
import { createRegistry, type Registry } from '../../kernel/metrics.ts';
import { qualityOf, type Scored } from '../../kernel/quality.ts';
import { rng } from '../../kernel/random.ts';
import { ident, sql } from '../../kernel/sql.ts';
import { archiverSpec } from '../../processors/archiver/index.ts';
import { createFeedbackJoiner } from '../../processors/feedback-joiner/index.ts';
import { ProcessorRunner } from '../../runtime/runner.ts';
import { CONTRACTS, type FeedbackInput, type PredictionInput, SchemaCodec } from '../../schemas/index.ts';
import { deterministicUuid } from '../../serving/scoring.ts';
import { ensureMonitoringTables } from '../../tables/admin.ts';
import { archivedTable } from '../../tables/history.ts';
import { ensureTopics } from '../../topics/admin.ts';
import { type TopicEntry, withDeadLetters } from '../../topics/catalogue.ts';
import { uniqueModelName } from '../support/models.ts';
import { testTopic, uniqueName } from '../support/topics.ts';
import { waitFor } from '../support/wait.ts';

const config = loadConfig();
const database = config.clickhouse.database;
const logger = createLogger('joiner-test', { level: process.env.RHEO_LOG_LEVEL ?? 'error' });
const HOUR = 3_600_000;
let kafka: Kafka;
let admin: Admin;
let producer: Producer;
let client: ClickHouseClient;
let codec: SchemaCodec;
const stops: Array<() => Promise<unknown>> = [];

beforeAll(async () => {
  kafka = createKafka(config.kafka, logger, 'joiner-test');
  admin = createAdmin(kafka);
  producer = createProducer(kafka);
  client = createClickHouse(config);
  codec = SchemaCodec.fromConfig(config.registry);
  await Promise.all([admin.connect(), producer.connect()]);
  await ensureMonitoringTables(client, database);
});

afterAll(async () => {
  for (const stop of stops.reverse()) await stop().catch(() => undefined);
  await Promise.allSettled([admin.disconnect(), producer.disconnect(), client.close()]);
});

async function scalar(query: string): Promise<number> {
  const result = await client.query({ query, format: 'JSONEachRow' });
  const [row] = (await result.json()) as Array<Record<string, unknown>>;
  return Number(Object.values(row ?? {})[0] ?? 0);
}

async function gauge(registry: Registry, labels: Record<string, string>): Promise<number | undefined> {
  const metric = await registry.getSingleMetric('rheo_model_quality')?.get();
  return metric?.values.find((v) => Object.entries(labels).every(([k, value]) => v.labels[k] === value))?.value;
}

function startArchiver(predictions: TopicEntry): Promise<void> {
  const table = archivedTable('predictions');
  const runner = new ProcessorRunner(archiverSpec(config, client, codec, [{ ...table, topic: predictions }]), {
    kafka,
    logger,
    metrics: createRegistry('joiner-test-archiver', { defaultMetrics: false }),
    startFrom: 'earliest',
    groupId: uniqueName('joiner-archiver'),
  });
  stops.push(() => runner.stop('test over'));
  return runner.start();
}

async function startJoiner(feedback: TopicEntry, registry: Registry) {
  const runner = await createFeedbackJoiner(
    config,
    { logger, metrics: registry, client, codec },
    { startFrom: 'earliest', groupId: uniqueName('joiner'), input: feedback, settings: { waitMs: 8_000, pollMs: 250 } },
  );
  stops.push(() => runner.stop('test over'));
  await runner.start();
  return runner;
}

describe('feedback joiner on the real stack', () => {
  it('joins labels once (by id, by entity, racing, twice), and the quality it reports matches hand-computed metrics', async () => {
    const model = uniqueModelName('joiner');
    const predictionsTopic = { ...testTopic(uniqueName('joiner.predictions'), 3), valueSchema: 'Prediction' };
    const feedbackTopic = { ...testTopic(uniqueName('joiner.feedback'), 3), valueSchema: 'Feedback' };
    await ensureTopics(admin, withDeadLetters([predictionsTopic, feedbackTopic]));
    const predictionCodec = await codec.forTopic(predictionsTopic.name, CONTRACTS.Prediction);
    const feedbackCodec = await codec.forTopic(feedbackTopic.name, CONTRACTS.Feedback);

    // 300 requests, each scored by 1.0.0 (production) and 2.0.0 (shadow), sharing the prediction id.
    const random = rng(11);
    const hourStart = Math.floor(Date.now() / HOUR) * HOUR - 2 * HOUR;
    const requests = Array.from({ length: 300 }, (_, i) => {
      const signal = random() * 4 - 2;
      const label = random() < 1 / (1 + Math.exp(-2 * signal)) ? 1 : 0;
      return {
        i,
        at: hourStart + i * 1000,
        label,
        scores: {
          '1.0.0': 1 / (1 + Math.exp(-(signal + (random() - 0.5)))),
          '2.0.0': 1 / (1 + Math.exp(-(0.3 * signal + 2 * (random() - 0.5)))),
        },
      };
    });
    const predictions: PredictionInput[] = requests.flatMap((r) =>
      (['1.0.0', '2.0.0'] as const).map((version) => ({
        event_id: deterministicUuid(model, String(r.i), version),
        event_time: r.at + 5,
        prediction_id: `${model}-p${r.i}`,
        entity_id: `${model}-card-${r.i}`,
        model_name: model,
        model_version: version,
        variant: version === '1.0.0' ? ('PRODUCTION' as const) : ('SHADOW' as const),
        source: 'ONLINE' as const,
        inputs: {},
        outputs: { probability: r.scores[version] },
        score: r.scores[version],
        latency_ms: 1,
        request_time: r.at,
      })),
    );
    const label = (r: (typeof requests)[number], over: Partial<FeedbackInput> = {}): FeedbackInput => ({
      event_id: deterministicUuid(model, 'label', String(r.i)),
      event_time: r.at + HOUR,
      prediction_id: `${model}-p${r.i}`,
      label: r.label,
      observed_time: r.at + HOUR,
      label_source: 'chargeback',
      ...over,
    });
    const byId = requests.slice(0, 250).map((r) => label(r));
    const twice = requests.slice(0, 50).map((r) => label(r)); // the same events delivered again
    const relabelled = requests
      .slice(50, 70)
      .map((r) => label(r, { event_id: deterministicUuid(model, 'again', String(r.i)), observed_time: r.at + 2 * HOUR }));
    const byEntity = requests
      .slice(250, 290)
      .map((r) => label(r, { prediction_id: null, entity_id: `${model}-card-${r.i}`, reference_time: r.at + 10 }));
    const orphan = label(requests[0] as (typeof requests)[number], {
      event_id: deterministicUuid(model, 'orphan'),
      prediction_id: `${model}-nope`,
    });
    const send = async (topic: string, messages: Array<{ key: string; value: Buffer }>) => {
      for (let i = 0; i < messages.length; i += 500)
        await producer.send({ topic, acks: -1, messages: messages.slice(i, i + 500) });
    };
    const feedbackMessages = (labels: FeedbackInput[]) =>
      labels.map((l) => ({ key: l.prediction_id ?? l.entity_id ?? '', value: feedbackCodec.encode(l) }));

    const registry = createRegistry('joiner-test', { defaultMetrics: false });
    await startJoiner(feedbackTopic, registry);
    // Labels of the first 50 requests arrive before their predictions exist anywhere: the joiner waits.
    await send(feedbackTopic.name, feedbackMessages(byId.slice(0, 50)));
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    await send(
      predictionsTopic.name,
      predictions.map((p) => ({ key: p.entity_id, value: predictionCodec.encode(p) })),
    );
    await startArchiver(predictionsTopic);
    await send(feedbackTopic.name, feedbackMessages([...byId.slice(50), ...twice, ...relabelled, ...byEntity, orphan]));

    const outcomes = () =>
      scalar(sql`SELECT count() FROM ${ident(`${database}.prediction_outcomes`)} FINAL WHERE model_name = ${model}`.text);
    await waitFor('290 labelled requests × 2 variants', async () => (await outcomes()) === 580, { timeoutMs: 90_000 });
    await waitFor(
      'the orphan label given up on',
      async () =>
        (await scalar(sql`SELECT count() FROM rheo.feedback_unmatched FINAL WHERE label_event_id = ${orphan.event_id}`.text)) ===
        1,
    );
    expect(
      await scalar(sql`SELECT uniqExact(prediction_event_id) FROM rheo.prediction_outcomes WHERE model_name = ${model}`.text),
    ).toBe(580);
    expect(
      await scalar(
        sql`SELECT countIf(join_kind = 'entity') FROM rheo.prediction_outcomes FINAL WHERE model_name = ${model}`.text,
      ),
    ).toBe(80);
    // The relabelled predictions keep their latest observation.
    expect(
      await scalar(
        sql`SELECT count() FROM rheo.prediction_outcomes FINAL WHERE model_name = ${model} AND label_delay_ms = ${2 * HOUR}`.text,
      ),
    ).toBe(40);

    // Quality: the view and the gateway's store agree with the metrics computed here by hand.
    const store = clickHouseMonitoringStore(client, database);
    const overall = await store.quality({ model, from: hourStart, to: hourStart + HOUR, windowMs: HOUR, origin: hourStart });
    for (const version of ['1.0.0', '2.0.0'] as const) {
      const pairs: Scored[] = requests.slice(0, 290).map((r) => ({ score: r.scores[version], label: r.label }));
      const expected = qualityOf(pairs);
      const row = overall.find((r) => r.model_version === version);
      expect(row).toMatchObject({
        predictions: 300,
        labeled: 290,
        unlabeled: 10,
        positives: expected.positives,
        task: 'classification',
      });
      expect(row?.auc).toBeCloseTo(expected.auc as number, 9);
      expect(row?.log_loss).toBeCloseTo(expected.log_loss as number, 9);
      expect(row?.accuracy).toBeCloseTo(expected.accuracy as number, 9);
      const view = await scalar(
        sql`SELECT auc FROM rheo.model_quality_hourly WHERE model_name = ${model} AND model_version = ${version} AND window_start_ms = ${hourStart}`
          .text,
      );
      expect(view).toBeCloseTo(expected.auc as number, 9);
      await waitFor(`the ${version} AUC gauge`, async () => {
        const value = await gauge(registry, { model, version, metric: 'auc' });
        return value !== undefined && Math.abs(value - (expected.auc as number)) < 1e-9;
      });
    }
    expect(overall.find((r) => r.model_version === '1.0.0')?.auc).toBeGreaterThan(
      overall.find((r) => r.model_version === '2.0.0')?.auc as number,
    );

    // A full replay (a new joiner group from the start) joins everything again and changes nothing.
    const replay = createRegistry('joiner-test-replay', { defaultMetrics: false });
    await startJoiner(feedbackTopic, replay);
    const labels = async (outcome: string) =>
      (await replay.getSingleMetric('rheo_feedback_labels_total')?.get())?.values.find((v) => v.labels.outcome === outcome)
        ?.value ?? 0;
    // 250 by id + 50 delivered twice + 20 relabelled + 40 by entity, and the orphan.
    await waitFor('the replay joined', async () => (await labels('joined')) === 360 && (await labels('unmatched')) === 1, {
      timeoutMs: 90_000,
    });
    expect(await outcomes()).toBe(580);
  });
});
