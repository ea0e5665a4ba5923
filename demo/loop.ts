/**
 * The end-to-end demo loop, as far as it exists today: the stack comes up, the topic catalogue and
 * Avro contracts are applied (with compatibility enforced), card transactions are scored by a
 * transparent rule baseline and produced as Avro `Prediction` events through the registry, fraud
 * labels follow on `feedback`, the archiver (the shared processor runner) lands both in ClickHouse,
 * and ClickHouse answers questions about them. A malformed record shows the dead-letter path.
 */
import { randomUUID } from 'node:crypto';
import type { CliIO } from '../cli/command.ts';
import { table } from '../cli/format.ts';
import { fraudSignal, type Transaction, take, transactions } from '../examples/fraud/generator.ts';
import { createClickHouse } from '../kernel/clients.ts';
import { loadConfig } from '../kernel/config.ts';
import { createAdmin, createKafka, createProducer } from '../kernel/kafka.ts';
import { createLogger } from '../kernel/log.ts';
import { createRegistry } from '../kernel/metrics.ts';
import { sql } from '../kernel/sql.ts';
import { createArchiver } from '../processors/archiver/index.ts';
import { CONTRACTS, type FeedbackInput, type PredictionInput, SchemaCodec, SchemaIncompatibleError } from '../schemas/index.ts';
import { ensureTopics } from '../topics/admin.ts';
import { catalogue, TOPICS, valueSubject } from '../topics/catalogue.ts';
import { driftStep } from './steps/drift.ts';
import { featuresStep } from './steps/features.ts';
import { servingStep } from './steps/serving.ts';
import { trainingStep } from './steps/training.ts';

const MODEL = 'fraud_detector';
const BASELINE_VERSION = '0.0.0-rules';

/** The rule baseline scores with the generator's own signal minus the merchant risk it cannot see. */
function ruleScore(t: Transaction): number {
  return fraudSignal({ ...t, merchantRisk: 0.2 });
}

export async function runDemo(io: CliIO, options: { transactions?: number } = {}): Promise<void> {
  const started = Date.now();
  const step = (n: number, text: string) => io.out(`\n[${n}] ${text}`);
  const config = loadConfig();
  // The demo narrates on stdout; only errors from the components reach stderr unless RHEO_LOG_LEVEL says otherwise.
  const logger = createLogger('demo', { defaultLevel: 'error' });
  const count = options.transactions ?? 2000;
  const runId = randomUUID().slice(0, 8);

  step(1, 'Topic catalogue → Kafka');
  const kafka = createKafka(config.kafka, logger, 'demo');
  const admin = createAdmin(kafka);
  await admin.connect();
  const report = await ensureTopics(admin, catalogue());
  await admin.disconnect();
  io.out(
    `    ${report.created.length} topics created, ${report.unchanged.length} already there, ${report.drift.length} differences`,
  );

  step(2, 'Avro contracts → schema registry (BACKWARD compatibility per subject)');
  const codec = SchemaCodec.fromConfig(config.registry);
  const predictions = await codec.forTopic(TOPICS.predictions.name, CONTRACTS.Prediction);
  const feedback = await codec.forTopic(TOPICS.feedback.name, CONTRACTS.Feedback);
  io.out(`    ${predictions.subject}: schema id ${predictions.schemaId}, version ${predictions.version}`);
  io.out(`    ${feedback.subject}: schema id ${feedback.schemaId}, version ${feedback.version}`);
  const broken = structuredClone(CONTRACTS.Prediction.schema) as unknown as { fields: Array<{ name: string; type: unknown }> };
  const latency = broken.fields.find((f) => f.name === 'latency_ms');
  if (latency) latency.type = 'string';
  try {
    await codec.register(valueSubject(TOPICS.predictions), broken);
    io.out('    !! an incompatible change was accepted — compatibility is not enforced');
  } catch (error) {
    if (!(error instanceof SchemaIncompatibleError)) throw error;
    io.out(
      `    an incompatible change (latency_ms: double → string) is refused before anything is produced:\n      ${error.message.split('\n')[0]}`,
    );
  }

  step(3, 'Archiver (the shared processor runner) consumes predictions and feedback into ClickHouse');
  const metrics = createRegistry('demo', { defaultMetrics: false });
  const archiver = await createArchiver(config, { logger, metrics });
  await archiver.start();
  io.out(`    consumer group ${archiver.groupId} joined`);

  step(4, `${count} card transactions scored by the rule baseline → Avro Prediction events; fraud labels → feedback`);
  const producer = createProducer(kafka);
  await producer.connect();
  const txs = take(transactions({ seed: Number.parseInt(runId, 16) % 100_000, startTime: Date.now() - count * 1_000 }), count);
  const predictionMessages = txs.map((t) => {
    const score = ruleScore(t);
    const value: PredictionInput = {
      event_id: randomUUID(),
      event_time: t.eventTime + 15,
      prediction_id: `demo-${runId}-${t.transactionId}`,
      entity_id: t.cardId,
      model_name: MODEL,
      model_version: BASELINE_VERSION,
      variant: 'PRODUCTION',
      source: 'BATCH',
      inputs: { amount: t.amount, hour_of_day: t.hourOfDay, distance_from_home_km: t.distanceFromHomeKm },
      outputs: { probability: score },
      score,
      predicted_label: score > 0.5 ? 'fraud' : 'legit',
      latency_ms: 0.05,
      request_time: t.eventTime,
    };
    return { key: t.cardId, value: predictions.encode(value) };
  });
  const labelMessages = txs.map((t) => {
    const value: FeedbackInput = {
      event_id: randomUUID(),
      event_time: t.eventTime + 3_600_000,
      prediction_id: `demo-${runId}-${t.transactionId}`,
      entity_id: t.cardId,
      label: t.isFraud ? 1 : 0,
      observed_time: t.eventTime + 3_600_000,
      label_source: 'chargeback',
    };
    return { key: `demo-${runId}-${t.transactionId}`, value: feedback.encode(value) };
  });
  const produceStarted = performance.now();
  for (let i = 0; i < count; i += 500) {
    await producer.sendBatch({
      acks: -1,
      topicMessages: [
        { topic: TOPICS.predictions.name, messages: predictionMessages.slice(i, i + 500) },
        { topic: TOPICS.feedback.name, messages: labelMessages.slice(i, i + 500) },
      ],
    });
  }
  // One malformed record, as a buggy producer would send: it must land in the DLQ, not stop the flow.
  await producer.send({
    topic: TOPICS.predictions.name,
    acks: -1,
    messages: [{ key: 'card-x', value: Buffer.from(`not avro ${runId}`) }],
  });
  io.out(
    `    produced ${count * 2 + 1} records in ${Math.round(performance.now() - produceStarted)} ms (1 of them deliberately malformed)`,
  );

  step(5, 'ClickHouse, queried once the archiver has committed');
  const clickhouse = createClickHouse(config);
  const like = `demo-${runId}-%`;
  const deadline = Date.now() + 120_000;
  let landed = 0;
  for (;;) {
    const result = await clickhouse.query({
      query:
        sql`SELECT (SELECT count() FROM rheo.predictions FINAL WHERE prediction_id LIKE ${like}) AS p, (SELECT count() FROM rheo.feedback FINAL WHERE prediction_id LIKE ${like}) AS f`
          .text,
      format: 'JSONEachRow',
    });
    const [row] = (await result.json()) as Array<{ p: string; f: string }>;
    landed = Number(row?.p) + Number(row?.f);
    if (landed >= count * 2) break;
    if (Date.now() > deadline) throw new Error(`only ${landed} of ${count * 2} rows reached ClickHouse in 120 s`);
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
  const thresholdResult = await clickhouse.query({
    query: sql`SELECT quantile(0.9)(score) AS t FROM rheo.predictions FINAL WHERE prediction_id LIKE ${like}`.text,
    format: 'JSONEachRow',
  });
  const threshold = Number(((await thresholdResult.json()) as Array<{ t: number }>)[0]?.t ?? 0.5);
  const quality = await clickhouse.query({
    query: sql`
      SELECT p.model_version AS version,
             count() AS predictions,
             round(avg(p.score), 4) AS mean_score,
             round(avg(f.label), 4) AS fraud_rate,
             round(avgIf(f.label, p.score >= ${threshold}), 4) AS fraud_rate_top_decile,
             round(avgIf(f.label, p.score < ${threshold}), 4) AS fraud_rate_rest
      FROM rheo.predictions AS p FINAL
      INNER JOIN (SELECT prediction_id, label FROM rheo.feedback FINAL WHERE prediction_id LIKE ${like}) AS f ON p.prediction_id = f.prediction_id
      WHERE p.prediction_id LIKE ${like}
      GROUP BY p.model_version`.text,
    format: 'JSONEachRow',
  });
  const rows = (await quality.json()) as Array<Record<string, unknown>>;
  io.out(`    ${landed} rows landed (predictions + labels), deduplicated by event id`);
  io.out(`    the rule baseline's top 10% of scores (≥ ${threshold.toFixed(3)}) against the rest, from ClickHouse:`);
  io.out(
    table(rows)
      .split('\n')
      .map((l) => `    ${l}`)
      .join('\n'),
  );
  await clickhouse.close();

  const dlq = Number((await metrics.getSingleMetricAsString('rheo_processor_dead_letters_total')).match(/ (\d+)$/m)?.[1] ?? 0);
  io.out(`    dead letters this run: ${dlq} (see topic ${TOPICS.predictions.dlq}, headers rheo.error.*)`);
  await archiver.stop('demo done');
  await producer.disconnect();

  step(6, 'Feature store: feature events → materializer → Redis (online) and ClickHouse (offline)');
  await featuresStep(io, { config, logger });

  step(7, 'Training: a retraining request → trainer → point-in-time training set → TensorFlow.js → ONNX → registry');
  await trainingStep(io, { config, logger });

  step(8, 'Serving: registry stages and approvals, the gateway (ONNX Runtime), canary and rollback');
  await servingStep(io, { config, logger });

  step(9, 'Feedback and drift: labels joined to predictions, live quality, a distribution shift, a retraining request');
  await driftStep(io, { config, logger });

  step(10, 'Where to look');
  io.out('    npx rheo stack status            services, ports, pids');
  io.out('    npx rheo topics list             the catalogue');
  io.out(
    `    curl -s ${config.clickhouse.url}/ --data-binary "SELECT model_version, count() FROM rheo.predictions FINAL GROUP BY model_version"`,
  );
  io.out('    npx rheo stack down              stop everything (add --purge to delete the data)');
  io.out(`\ndemo finished in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}
