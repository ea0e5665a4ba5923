/**
 * Registry and serving on the real stack: register → approve → production → predict; a rollback
 * reaching two gateways and a streaming scorer within 2 s; a tampered artifact refused while the
 * previous version keeps serving; consecutive canary / A/B changes and rollbacks with no stale
 * route; predictions still answered (and the loss counted) when the prediction log cannot reach Kafka.
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadServingSettings, openArtifactStore } from '../../gateway/settings.ts';
import { loadConfig } from '../../kernel/config.ts';
import { createAdmin, createKafka, createProducer, type Kafka, type Producer } from '../../kernel/kafka.ts';
import { createLogger } from '../../kernel/log.ts';
import { createRegistry } from '../../kernel/metrics.ts';
import { createScorer, type Scorer } from '../../processors/scorer/index.ts';
import { RegistryClient } from '../../registry/client.ts';
import { CONTRACTS, type PredictionRequestInput, SchemaCodec } from '../../schemas/index.ts';
import { logisticRegressionModel } from '../../serving/onnx/builder.ts';
import { route } from '../../serving/routing.ts';
import { ensureTopics } from '../../topics/admin.ts';
import { catalogue, TOPICS } from '../../topics/catalogue.ts';
import { uniqueModelName } from '../support/models.ts';
import {
  fraudScore,
  post,
  promote,
  registerFraudModel,
  startTestGateway,
  type TestGateway,
  TopicTail,
} from '../support/serving.ts';
import { waitFor } from '../support/wait.ts';

const config = loadConfig();
const settings = loadServingSettings(config);
const logger = createLogger('serving-test', { level: process.env.RHEO_TEST_LOG_LEVEL ?? 'silent' });
const store = openArtifactStore(settings);
const X = { amount: 120, hour_of_day: 3, distance_from_home_km: 40, merchant_risk: 0.3 };
let kafka: Kafka;
let client: RegistryClient;
let producer: Producer;
const gateways: TestGateway[] = [];
const cleanups: Array<() => Promise<void>> = [];

beforeAll(async () => {
  kafka = createKafka(config.kafka, logger, 'serving-test');
  const admin = createAdmin(kafka);
  await admin.connect();
  await ensureTopics(admin, catalogue());
  await admin.disconnect();
  client = await RegistryClient.connect(config, logger);
  producer = createProducer(kafka);
  await producer.connect();
});

afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  await Promise.allSettled(gateways.map((g) => g.close()));
  await producer?.disconnect();
  await client?.close();
});

async function gateway(models: string[], overrides: Parameters<typeof startTestGateway>[4] = {}): Promise<TestGateway> {
  const g = await startTestGateway(config, settings, logger, models, overrides);
  gateways.push(g);
  await g.started;
  await waitFor('gateway ready', () => g.services.readiness().ready, { timeoutMs: 30_000 });
  return g;
}

describe('model serving on the real stack', () => {
  it('register → request → approve → production → predict, and the prediction reaches Kafka', async () => {
    const model = uniqueModelName('serve');
    await registerFraudModel(client, store, model, '1.0.0', -2, {
      params: { decision_threshold: 0.5, positive_label: 'fraud', negative_label: 'ok' },
    });
    // Production needs an approval by someone else: the request alone serves nothing.
    await client.execute({ kind: 'request', model, version: '1.0.0', to: 'PRODUCTION', actor: 'user:alice' });
    await expect(client.execute({ kind: 'approve', model, version: '1.0.0', actor: 'user:alice' })).rejects.toMatchObject({
      code: 'ILLEGAL_TRANSITION',
    });
    await client.execute({ kind: 'approve', model, version: '1.0.0', actor: 'user:bob' });

    const tail = new TopicTail(kafka, config, TOPICS.predictions.name);
    await tail.start();
    cleanups.push(() => tail.stop());
    const g = await gateway([model]);
    const response = await post(g.url, '/v1/predict', { model, entity_id: 'card-7', inputs: X });
    expect(response.status).toBe(200);
    const [p] = response.body.predictions ?? [];
    expect(p).toMatchObject({ entity_id: 'card-7', version: '1.0.0', variant: 'PRODUCTION' });
    expect(p?.score as number).toBeCloseTo(fraudScore(-2, X), 5);
    expect(p?.label).toBe((p?.score as number) >= 0.5 ? 'fraud' : 'ok');

    // Several instances in one call, and the OIP v2 route, give the same numbers.
    const many = await post(g.url, '/v1/predict', {
      model,
      instances: [
        { entity_id: 'a', inputs: X },
        { entity_id: 'b', inputs: { ...X, amount: 0 } },
      ],
    });
    expect(many.body.predictions?.map((q) => q.score as number)[1]).toBeCloseTo(fraudScore(-2, { ...X, amount: 0 }), 5);
    const oip = await post(g.url, `/v2/models/${model}/infer`, {
      inputs: [
        { name: 'x', shape: [1, 4], datatype: 'FP32', data: [X.amount, X.hour_of_day, X.distance_from_home_km, X.merchant_risk] },
      ],
    });
    expect(oip.status).toBe(200);
    expect((oip.body.outputs as Array<{ data: number[] }>)[0]?.data[0]).toBeCloseTo(fraudScore(-2, X), 5);

    const logged = await waitFor(
      'prediction in Kafka',
      () => tail.records.find((r) => r.value.prediction_id === p?.prediction_id),
      { timeoutMs: 15_000 },
    );
    expect(logged?.value).toMatchObject({
      model_name: model,
      model_version: '1.0.0',
      entity_id: 'card-7',
      source: 'ONLINE',
      variant: 'PRODUCTION',
    });
  });

  it('a rollback event reaches two running gateways and a streaming scorer within 2 s', async () => {
    const model = uniqueModelName('rollback');
    await registerFraudModel(client, store, model, '1.0.0', -3);
    await registerFraudModel(client, store, model, '2.0.0', 1);
    await promote(client, model, '1.0.0');
    await promote(client, model, '2.0.0');
    const [a, b] = [await gateway([model]), await gateway([model])];
    const scorer: Scorer = await createScorer(
      config,
      { ...settings, host: { ...settings.host, models: [model] } },
      { logger, metrics: createRegistry('test-scorer', { defaultMetrics: false }) },
      { groupId: `test.scorer.${model}` },
    );
    await scorer.start();
    cleanups.push(() => scorer.stop());
    const serving = () => [a.services.host, b.services.host, scorer.host].map((h) => h.table(model)?.policy.production_version);
    expect(serving()).toEqual(['2.0.0', '2.0.0', '2.0.0']);

    const started = Date.now();
    await client.execute({ kind: 'rollback', model, actor: 'user:oncall', reason: 'bad canary metrics' });
    const produced = Date.now();
    await waitFor('rollback everywhere', () => serving().every((v) => v === '1.0.0'), { timeoutMs: 5_000, intervalMs: 10 });
    const propagation = Date.now() - produced;
    logger.info({ propagation, command: produced - started }, 'rollback propagation');
    expect(propagation).toBeLessThan(2_000);

    // And answers change accordingly: both gateways and the scorer now score with 1.0.0.
    for (const g of [a, b])
      expect((await post(g.url, '/v1/predict', { model, entity_id: 'c', inputs: X })).body.predictions?.[0]?.version).toBe(
        '1.0.0',
      );
    const tail = new TopicTail(kafka, config, TOPICS.predictions.name);
    await tail.start();
    cleanups.push(() => tail.stop());
    const codec = await SchemaCodec.fromConfig(config.registry).forTopic(
      TOPICS.predictionRequests.name,
      CONTRACTS.PredictionRequest,
    );
    const request: PredictionRequestInput = {
      event_id: crypto.randomUUID(),
      event_time: Date.now(),
      entity_id: 'card-9',
      model_name: model,
      inputs: X,
    };
    await producer.send({
      topic: TOPICS.predictionRequests.name,
      acks: -1,
      messages: [{ key: 'card-9', value: codec.encode(request) }],
    });
    const streamed = await waitFor(
      'streamed prediction',
      () => tail.records.find((r) => r.value.request_id === request.event_id),
      { timeoutMs: 30_000 },
    );
    expect(streamed?.value).toMatchObject({ model_version: '1.0.0', source: 'STREAMING', variant: 'PRODUCTION' });
    expect(streamed?.value.score as number).toBeCloseTo(fraudScore(-3, X), 5);
  });

  it('refuses a tampered artifact, counts it, and keeps the previous version serving', async () => {
    const model = uniqueModelName('tamper');
    await registerFraudModel(client, store, model, '1.0.0', -1);
    const bias = 2 + Math.random();
    const v2 = await registerFraudModel(client, store, model, '2.0.0', bias);
    await promote(client, model, '1.0.0');
    const g = await gateway([model]);
    const uri = v2.state.models.get(model)?.versions.get('2.0.0')?.spec.artifact_uri as string;
    const original = await store.get(uri, { sha256: v2.state.models.get(model)?.versions.get('2.0.0')?.spec.sha256 as string });
    writeFileSync(fileURLToPath(uri), logisticRegressionModel({ name: 'evil', weights: [0, 0, 0, 0], bias: 50 }));
    cleanups.push(async () => {
      await store.put(original); // repair the shared store for whoever loads 2.0.0 later
    });
    await promote(client, model, '2.0.0');
    const metrics = g.services.metrics;
    await waitFor('refusal counted', async () => /outcome="ARTIFACT_INTEGRITY_FAILED"[^\n]*\} 1/.test(await metrics.metrics()), {
      timeoutMs: 10_000,
    });
    const status = g.services.host.status().models.find((m) => m.model === model);
    expect(status).toMatchObject({ production: '2.0.0', serving: '1.0.0', current: false });
    expect(g.services.readiness().ready).toBe(true);
    const response = await post(g.url, '/v1/predict', { model, entity_id: 'card-1', inputs: X });
    expect(response.body.predictions?.[0]).toMatchObject({ version: '1.0.0' });
    expect(response.body.predictions?.[0]?.score as number).toBeCloseTo(fraudScore(-1, X), 5);
    // Leave production on a sound artifact for later readers of the shared log.
    await client.execute({ kind: 'rollback', model, actor: 'user:oncall', reason: 'artifact integrity' });
  });

  it('consecutive canary, A/B changes and rollbacks leave no stale route', async () => {
    const model = uniqueModelName('routes');
    for (const [v, bias] of [
      ['1.0.0', -1],
      ['1.1.0', 0],
      ['1.2.0', 1],
      ['2.0.0', 2],
    ] as const)
      await registerFraudModel(client, store, model, v, bias);
    await promote(client, model, '1.0.0');
    const g = await gateway([model]);
    const entities = Array.from({ length: 300 }, (_, i) => `card-${i}`);
    const steps: Array<{ name: string; run: () => Promise<unknown> }> = [
      {
        name: 'canary 1.1.0 at 20%',
        run: () => client.execute({ kind: 'traffic', model, actor: 'user:a', canary: { version: '1.1.0', percent: 20 } }),
      },
      {
        name: 'canary to 50%',
        run: () => client.execute({ kind: 'traffic', model, actor: 'user:a', canary: { version: '1.1.0', percent: 50 } }),
      },
      {
        name: 'A/B 1.2.0 at 30% beside the canary',
        run: () =>
          client.execute({ kind: 'traffic', model, actor: 'user:a', ab: { version: '1.2.0', percent: 30, salt: 'exp1' } }),
      },
      { name: 'canary removed', run: () => client.execute({ kind: 'traffic', model, actor: 'user:a', canary: null }) },
      { name: 'promote 2.0.0', run: () => promote(client, model, '2.0.0') },
      { name: 'rollback to 1.0.0', run: () => client.execute({ kind: 'rollback', model, actor: 'user:oncall' }) },
      {
        name: 'canary 1.2.0 at 10%',
        run: () => client.execute({ kind: 'traffic', model, actor: 'user:a', canary: { version: '1.2.0', percent: 10 } }),
      },
      {
        name: 'A/B 1.1.0 at 50%',
        run: () =>
          client.execute({ kind: 'traffic', model, actor: 'user:a', ab: { version: '1.1.0', percent: 50, salt: 'exp2' } }),
      },
      {
        name: 'rollback again (clears experiments)',
        run: () => client.execute({ kind: 'rollback', model, actor: 'user:oncall', to: '2.0.0' }),
      },
    ];
    for (const step of steps) {
      await step.run();
      const policy = client.state.models.get(model)?.traffic;
      if (!policy) throw new Error('no policy');
      await waitFor(
        `gateway applies "${step.name}"`,
        () => JSON.stringify(g.services.host.table(model)?.policy) === JSON.stringify(policy),
        { timeoutMs: 5_000, intervalMs: 20 },
      );
      const response = await post(g.url, '/v1/predict/batch', {
        model,
        instances: entities.map((entity_id) => ({ entity_id, inputs: X })),
      });
      expect(response.status, step.name).toBe(200);
      const got = (response.body.predictions ?? []).map((p) => `${p.version}/${p.variant}`);
      const expected = entities.map((e) => {
        const r = route(policy, e)?.primary;
        return `${r?.version}/${r?.variant}`;
      });
      expect(got, step.name).toEqual(expected);
      const counts = new Map<string, number>();
      for (const k of got) counts.set(k, (counts.get(k) ?? 0) + 1);
      logger.info({ step: step.name, split: Object.fromEntries(counts) }, 'split');
    }
  });

  it('answers predictions when Kafka is unreachable for the prediction log, and counts the loss', async () => {
    const model = uniqueModelName('nokafka');
    await registerFraudModel(client, store, model, '1.0.0', 0);
    await promote(client, model, '1.0.0');
    const g = await gateway([model], { predictionBrokers: ['127.0.0.1:1'], predictionBufferMax: 100 });
    const started = performance.now();
    const responses = await Promise.all(
      Array.from({ length: 300 }, (_, i) => post(g.url, '/v1/predict', { model, entity_id: `e${i}`, inputs: X })),
    );
    const elapsed = performance.now() - started;
    expect(responses.every((r) => r.status === 200)).toBe(true);
    expect(elapsed).toBeLessThan(10_000);
    const text = await g.services.metrics.metrics();
    const lost = Number(/rheo_gateway_predictions_lost_total\{reason="buffer_full"[^}]*\} (\d+)/.exec(text)?.[1] ?? 0);
    expect(lost).toBeGreaterThanOrEqual(200);
    expect(text).toMatch(/rheo_gateway_prediction_log_connected\{[^}]*\} 0/);
  });
});
