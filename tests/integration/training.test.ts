/**
 * Trainers on the real stack: a retraining request on `training.requests` → a trainer (consumer
 * group member, the one runner) → a point-in-time training set from ClickHouse → TensorFlow.js →
 * ONNX → a registered, promoted version that the gateway answers with. The data is the fraud
 * generator's known signal; the stated floor is AUC ≥ 0.65 on the time-based test split, and within
 * 0.08 of what the generator's own probabilities reach on the same rows (about 0.75: the signal is
 * noisy by design).
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fraud, fraudDetector } from '../../examples/fraud/index.ts';
import { type LabeledHistory, labeledHistory, landLabeledHistory } from '../../examples/fraud/labeled-history.ts';
import { createGateway, type Gateway } from '../../gateway/server.ts';
import { loadServingSettings } from '../../gateway/settings.ts';
import { type ClickHouseClient, createClickHouse } from '../../kernel/clients.ts';
import { loadConfig } from '../../kernel/config.ts';
import { type Admin, createAdmin, createKafka, createProducer, type Producer } from '../../kernel/kafka.ts';
import { createLogger } from '../../kernel/log.ts';
import { createRegistry } from '../../kernel/metrics.ts';
import { auc } from '../../kernel/quality.ts';
import { ident, sql } from '../../kernel/sql.ts';
import { RegistryClient } from '../../registry/client.ts';
import { CONTRACTS, type RetrainRequestInput, SchemaCodec, type TrainingRunEventInput } from '../../schemas/index.ts';
import { FileArtifactStore } from '../../serving/artifacts/fs.ts';
import { ensureTopics } from '../../topics/admin.ts';
import { catalogue, TOPICS } from '../../topics/catalogue.ts';
import { KafkaRunEvents, type RunEventSink } from '../../trainers/events.ts';
import { onnxScorer } from '../../trainers/export/verify.ts';
import { createTrainer, type RunOutcome } from '../../trainers/service.ts';
import { TRIALS_TABLE } from '../../trainers/tracking.ts';
import { exited, startChild } from '../support/child.ts';
import { uniqueModelName } from '../support/models.ts';
import { waitFor } from '../support/wait.ts';

const config = loadConfig();
const logger = createLogger('training-test', { level: 'error' });
const AUC_FLOOR = 0.65;
let admin: Admin;
let producer: Producer;
let clickhouse: ClickHouseClient;
let gateway: Gateway;

beforeAll(async () => {
  const kafka = createKafka(config.kafka, logger, 'training-test');
  admin = createAdmin(kafka);
  producer = createProducer(kafka);
  clickhouse = createClickHouse(config);
  await Promise.all([admin.connect(), producer.connect()]);
  await ensureTopics(admin, catalogue());
  gateway = await createGateway(config, loadServingSettings(config), { logger, metrics: createRegistry('training-test-gw') });
  await gateway.started;
});

afterAll(async () => {
  await gateway?.close();
  await Promise.allSettled([admin.disconnect(), producer.disconnect(), clickhouse.close()]);
});

async function sendRequest(model: string, params: RetrainRequestInput['params'] = {}): Promise<string> {
  const codec = await SchemaCodec.fromConfig(config.registry).forTopic(TOPICS.trainingRequests.name, CONTRACTS.RetrainRequest);
  const request: RetrainRequestInput = {
    event_id: randomUUID(),
    event_time: Date.now(),
    model_name: model,
    reason: 'DRIFT',
    requested_by: 'service:drift',
    base_version: null,
    evidence: { summary: 'test: PSI of amount at 0.31 over 2 windows', drift: [], metrics: {} },
    training_window_start: null,
    training_window_end: null,
    params,
  };
  await producer.send({
    topic: TOPICS.trainingRequests.name,
    acks: -1,
    messages: [{ key: model, value: codec.encode(request) }],
  });
  return request.event_id;
}

describe('trainer service', () => {
  let history: LabeledHistory;
  let model: string;

  beforeAll(async () => {
    model = uniqueModelName('fraud');
    history = labeledHistory({ model, transactions: 8000, seed: 23, end: Date.now(), prefix: `t${randomUUID().slice(0, 8)}` });
    await landLabeledHistory(config, logger, history, { via: 'clickhouse' });
  });

  it('turns a retraining request into a registered, promoted version the gateway answers with', async () => {
    const spec = { ...fraudDetector, model, trials: 3 };
    const outcomes: RunOutcome[] = [];
    const events: TrainingRunEventInput[] = [];
    const kafkaEvents = await KafkaRunEvents.create(
      createKafka(config.kafka, logger, 'training-test-runs'),
      SchemaCodec.fromConfig(config.registry),
    );
    const tee: RunEventSink = {
      async publish(event) {
        events.push(event);
        await kafkaEvents.publish(event);
      },
    };
    const trainer = await createTrainer(
      config,
      { logger, metrics: createRegistry('training-test'), events: tee },
      {
        project: { features: fraud.features, trainingSpecs: { [model]: spec } },
        models: [model],
        groupId: `test.trainer.${randomUUID().slice(0, 8)}`,
        onOutcome: (o) => outcomes.push(o),
      },
    );
    await trainer.start();
    try {
      const requestId = await sendRequest(model);
      const outcome = (await waitFor(
        'the run to finish',
        () => outcomes.find((o) => (o.ok ? o.result.runId === `run-${requestId}` : o.requestId === requestId)),
        { timeoutMs: 240_000, intervalMs: 500 },
      )) as RunOutcome;
      if (!outcome.ok) throw outcome.error;
      const result = outcome.result;
      expect(result).toMatchObject({ status: 'completed', version: '1.0.0', stage: 'PRODUCTION' });
      expect(result.gate).toMatchObject({ passed: true, action: 'promote' });

      // Quality: the stated floor, and close to the generator's own probabilities on the same (newest) rows.
      const testRows = result.metrics.test_rows as number;
      const newest = history.transactions.slice(history.transactions.length - testRows);
      const oracle = auc(
        newest.map((t) => (t.isFraud ? 1 : 0)),
        newest.map((t) => t.fraudProbability),
      );
      expect(result.metrics.auc).toBeGreaterThanOrEqual(AUC_FLOOR);
      expect(oracle).not.toBeNull();
      expect(result.metrics.auc).toBeGreaterThan((oracle as number) - 0.08);
      expect(result.rows).toBe(8000);

      // Run events: STARTED (with the backend), PROGRESS per epoch, COMPLETED; all keyed by the request's run.
      expect(events[0]?.event_type).toBe('STARTED');
      expect(events[0]?.request_id).toBe(requestId);
      expect(events.filter((e) => e.event_type === 'PROGRESS').length).toBeGreaterThanOrEqual(3);
      expect(events.at(-1)).toMatchObject({ event_type: 'COMPLETED', run_id: `run-${requestId}` });

      // Experiment tracking: every trial in ClickHouse, exactly one selected.
      const trials = await clickhouse.query({
        query:
          sql`SELECT trial, selected, val_auc, params FROM ${ident(`${config.clickhouse.database}.${TRIALS_TABLE}`)} FINAL WHERE run_id = ${`run-${requestId}`} ORDER BY trial`
            .text,
        format: 'JSONEachRow',
      });
      const rows = (await trials.json()) as Array<{ trial: number; selected: number; val_auc: number | null }>;
      expect(rows.map((r) => r.trial)).toEqual([0, 1, 2]);
      expect(rows.filter((r) => r.selected === 1).length).toBe(1);

      // The gateway (its own registry follower and model host) answers with the promoted version…
      await waitFor(
        'the gateway to serve 1.0.0',
        () => gateway.services.host.table(model)?.policy.production_version === '1.0.0',
        {
          timeoutMs: 60_000,
        },
      );
      const t = history.transactions.at(-1)!;
      const inputs = {
        amount: t.amount,
        hour_of_day: t.hourOfDay,
        distance_from_home_km: t.distanceFromHomeKm,
        txn_count_1h: 2,
        txn_count_24h: 5,
        amount_avg_7d: 61.5,
        chargeback_rate_30d: 0.08,
      };
      const reply = await gateway.app.inject({
        method: 'POST',
        url: '/v1/predict',
        headers: { 'x-api-key': 'rheo-local-predict-key' },
        payload: { model, entity_id: t.cardId, inputs },
      });
      expect(reply.statusCode, reply.body).toBe(200);
      const prediction = reply.json().predictions[0];
      expect(prediction).toMatchObject({ version: '1.0.0', variant: 'PRODUCTION' });
      // …and its score is the registered artifact's.
      const registered = gateway.services.follower.state.models.get(model)?.versions.get('1.0.0')?.spec;
      const bytes = await new FileArtifactStore('/').get(registered!.artifact_uri, { sha256: registered!.sha256 });
      const scorer = await onnxScorer(bytes);
      const [expected] = await scorer.score(Float32Array.from(Object.values(inputs)), 1, 7);
      await scorer.close();
      expect(prediction.score).toBeCloseTo(expected as number, 6);
    } finally {
      await trainer.stop('test done');
      await kafkaEvents.close();
    }
  }, 300_000);

  it('leaves a request whose trainer was killed mid-run to another trainer, which registers exactly one version', async () => {
    const killedModel = uniqueModelName('fraud');
    const killedHistory = labeledHistory({
      model: killedModel,
      transactions: 8000,
      seed: 29,
      end: Date.now(),
      prefix: `k${randomUUID().slice(0, 8)}`,
    });
    await landLabeledHistory(config, logger, killedHistory, { via: 'clickhouse' });
    const group = `test.trainer.${randomUUID().slice(0, 8)}`;
    const env = { MODEL: killedModel, GROUP: group, RHEO_TRAINER_SESSION_TIMEOUT_MS: '8000' };
    const first = startChild(new URL('./fixtures/trainer-child.ts', import.meta.url), env);
    try {
      const requestId = await sendRequest(killedModel);
      await waitFor('the first trainer to be mid-run', () => first.output().includes(`progress run-${requestId} 0 3`), {
        timeoutMs: 120_000,
      });
      first.kill('SIGKILL');
      await exited(first);
    } finally {
      if (first.exitCode === null && first.signalCode === null) first.kill('SIGKILL');
    }
    // Nothing was registered by the killed trainer; a second one (same group) gets the uncommitted request.
    const registry = await RegistryClient.connect(config, logger);
    try {
      expect(registry.state.models.get(killedModel)).toBeUndefined();
      const second = startChild(new URL('./fixtures/trainer-child.ts', import.meta.url), env);
      try {
        await waitFor(
          'a version registered by the second trainer',
          () => registry.state.models.get(killedModel)?.versions.size === 1,
          {
            timeoutMs: 240_000,
            intervalMs: 500,
          },
        );
        await waitFor('its promotion', () => registry.state.models.get(killedModel)?.traffic.production_version === '1.0.0', {
          timeoutMs: 30_000,
        });
      } finally {
        second.kill('SIGTERM');
        await exited(second);
      }
      const versions = [...(registry.state.models.get(killedModel)?.versions.values() ?? [])];
      expect(versions.map((v) => v.version)).toEqual(['1.0.0']);
      expect(versions[0]?.spec.lineage.run_id).toMatch(/^run-/);
    } finally {
      await registry.close();
    }
  }, 400_000);
});
