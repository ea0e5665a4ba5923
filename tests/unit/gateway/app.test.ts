/** The gateway's HTTP behaviour through Fastify's inject: no network, no Kafka (an in-memory registry and prediction sink). */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryOnlineStore } from '../../../features/online/memory.ts';
import { FeatureRegistry } from '../../../features/registry.ts';
import { featuresRoutes } from '../../../gateway/features.ts';
import { buildGatewayApp } from '../../../gateway/server.ts';
import { loadServingSettings } from '../../../gateway/settings.ts';
import type { GatewayServices } from '../../../gateway/types.ts';
import { loadConfig } from '../../../kernel/config.ts';
import { createLogger } from '../../../kernel/log.ts';
import { createRegistry } from '../../../kernel/metrics.ts';
import type { RegistryFollower } from '../../../registry/follower.ts';
import { MemoryRegistry } from '../../../registry/memory.ts';
import type { PredictionInput } from '../../../schemas/index.ts';
import { FileArtifactStore } from '../../../serving/artifacts/fs.ts';
import { ArtifactResolver } from '../../../serving/artifacts/store.ts';
import { ModelHost } from '../../../serving/host/host.ts';
import type { FeatureLookup } from '../../../serving/scoring.ts';
import { testGroup } from '../../support/feature-groups.ts';
import { FRAUD_FEATURES, fraudModelBytes } from '../../support/models.ts';
import { fraudScore } from '../../support/serving.ts';

const dir = mkdtempSync(join(tmpdir(), 'rheo-gateway-unit-'));
const store = new FileArtifactStore(dir);
const registry = new MemoryRegistry();
const logged: PredictionInput[] = [];
const X = { amount: 50, hour_of_day: 2, distance_from_home_km: 10, merchant_risk: 0.4 };
const PREDICT = { 'x-api-key': 'rheo-local-predict-key' };
const ADMIN = { 'x-api-key': 'rheo-local-admin-key' };
let app: FastifyInstance;
let host: ModelHost;
let slowLookups = 0;

const features: FeatureLookup = {
  async get(entities, names) {
    if (slowLookups > 0) await new Promise((resolve) => setTimeout(resolve, slowLookups));
    return entities.map((entity) => Object.fromEntries(names.map((n) => [n, entity === 'card-unknown' ? null : 7])));
  },
};

beforeAll(async () => {
  const settings = loadServingSettings(loadConfig({}), {});
  const metrics = createRegistry('unit', { defaultMetrics: false });
  host = new ModelHost({ artifacts: new ArtifactResolver([store]), logger: createLogger('unit', { level: 'silent' }), metrics });
  registry.onChange((state) => void host.update(state));
  const services: GatewayServices = {
    settings: {
      ...settings,
      gateway: { ...settings.gateway, bodyLimitBytes: 8 * 1024, rateLimit: { perSecond: 1_000_000, burst: 1_000_000 } },
    },
    scoring: { host, features },
    host,
    follower: registry as unknown as RegistryFollower,
    registry,
    store,
    predictions: { append: (p) => void logged.push(p) },
    metrics,
    readiness: () => ({ ready: host.status().ready, checks: {} }),
  };
  const group = testGroup('gw');
  const online = new MemoryOnlineStore();
  await online.ensure(group);
  app = await buildGatewayApp(services, {
    plugins: [async (a) => void (await a.register(featuresRoutes, { online, registry: new FeatureRegistry([group]) }))],
  });
  // Registered through the HTTP management API, like an operator would.
  for (const [version, bias] of [
    ['1.0.0', -2],
    ['1.1.0', 1],
  ] as const) {
    const response = await app.inject({
      method: 'POST',
      url: '/v1/models/fraud/versions',
      headers: ADMIN,
      payload: {
        version,
        artifact_base64: Buffer.from(fraudModelBytes({ bias })).toString('base64'),
        inputs: FRAUD_FEATURES.map((name) => ({ name, type: 'DOUBLE' })),
        outputs: [{ name: 'probability', type: 'DOUBLE' }],
      },
    });
    expect(response.statusCode, response.body).toBe(201);
  }
  await registry.register(store, fraudModelBytes({ bias: 0 }), {
    model: 'online',
    version: '1.0.0',
    actor: 'user:a',
    inputs: [
      { name: 'amount', type: 'DOUBLE' },
      { name: 'hour_of_day', type: 'DOUBLE' },
      { name: 'txn_count_1h', type: 'DOUBLE', feature_group: 'card_activity' },
      { name: 'merchant_risk', type: 'DOUBLE', feature_group: 'merchant_risk' },
    ],
    outputs: [{ name: 'probability', type: 'DOUBLE' }],
  });
  await registry.execute({ kind: 'request', model: 'online', version: '1.0.0', to: 'PRODUCTION', actor: 'user:a' });
  await registry.execute({ kind: 'approve', model: 'online', version: '1.0.0', actor: 'user:b' });
});

afterAll(async () => {
  await app?.close();
  await host?.close();
  rmSync(dir, { recursive: true, force: true });
});

const predict = (payload: unknown, headers: Record<string, string> = PREDICT) =>
  app.inject({ method: 'POST', url: '/v1/predict', headers, payload: payload as object });

describe('management routes', () => {
  it('requests, refuses self-approval, approves, and serves production', async () => {
    const request = await app.inject({
      method: 'POST',
      url: '/v1/models/fraud/transitions',
      headers: ADMIN,
      payload: { version: '1.0.0', to: 'PRODUCTION' },
    });
    expect(request.statusCode, request.body).toBe(200);
    const self = await app.inject({
      method: 'POST',
      url: '/v1/models/fraud/approve',
      headers: ADMIN,
      payload: { version: '1.0.0' },
    });
    expect(self.statusCode).toBe(409);
    expect(self.json()).toMatchObject({ error: { code: 'ILLEGAL_TRANSITION' } });
    // The approval has to come from another principal: simulate it directly on the registry.
    await registry.execute({ kind: 'approve', model: 'fraud', version: '1.0.0', actor: 'user:bob' });
    await host.update(registry.state);
    const listed = await app.inject({ method: 'GET', url: '/v1/models', headers: PREDICT });
    expect(listed.json().models).toEqual(
      expect.arrayContaining([expect.objectContaining({ name: 'fraud', production: '1.0.0' })]),
    );
    const history = await app.inject({ method: 'GET', url: '/v1/models/fraud/production', headers: PREDICT });
    expect(history.json().period).toMatchObject({ version: '1.0.0', requestedBy: 'user:local-admin', approvedBy: 'user:bob' });
  });

  it('refuses writes with a predict key and unknown models with 404', async () => {
    expect(
      (await app.inject({ method: 'POST', url: '/v1/models/fraud/rollback', headers: PREDICT, payload: {} })).statusCode,
    ).toBe(403);
    expect((await app.inject({ method: 'GET', url: '/v1/models/nope', headers: PREDICT })).json()).toMatchObject({
      error: { code: 'MODEL_NOT_FOUND' },
    });
  });
});

describe('POST /v1/predict', () => {
  it('scores one instance with inline inputs and logs the prediction', async () => {
    const before = logged.length;
    const response = await predict({ model: 'fraud', entity_id: 'card-1', inputs: X });
    expect(response.statusCode, response.body).toBe(200);
    const [p] = response.json().predictions;
    expect(p).toMatchObject({ entity_id: 'card-1', version: '1.0.0', variant: 'PRODUCTION' });
    expect(p.score).toBeCloseTo(fraudScore(-2, X), 5);
    expect(logged.slice(before)).toEqual([
      expect.objectContaining({ prediction_id: p.prediction_id, source: 'ONLINE', model_version: '1.0.0' }),
    ]);
  });

  it('routes a canary by entity and shadows without returning the shadow', async () => {
    await registry.execute({ kind: 'traffic', model: 'fraud', actor: 'user:a', canary: { version: '1.1.0', percent: 50 } });
    await host.update(registry.state);
    const response = await app.inject({
      method: 'POST',
      url: '/v1/predict/batch',
      headers: PREDICT,
      payload: { model: 'fraud', instances: Array.from({ length: 200 }, (_, i) => ({ entity_id: `c${i}`, inputs: X })) },
    });
    const variants = new Set(response.json().predictions.map((p: { variant: string }) => p.variant));
    expect(variants).toEqual(new Set(['PRODUCTION', 'CANARY']));
    await registry.execute({ kind: 'traffic', model: 'fraud', actor: 'user:a', canary: null, shadow: ['1.1.0'] });
    await host.update(registry.state);
    const before = logged.length;
    const shadowed = await predict({ model: 'fraud', entity_id: 'card-2', inputs: X });
    expect(shadowed.json().predictions).toHaveLength(1);
    await new Promise((resolve) => setTimeout(resolve, 20));
    const mine = logged.slice(before);
    expect(mine.map((p) => p.variant).sort()).toEqual(['PRODUCTION', 'SHADOW']);
    expect(new Set(mine.map((p) => p.prediction_id)).size).toBe(1);
    await registry.execute({ kind: 'traffic', model: 'fraud', actor: 'user:a', shadow: [] });
    await host.update(registry.state);
  });

  it('pins a version or an alias', async () => {
    await registry.execute({ kind: 'alias', model: 'fraud', alias: 'challenger', version: '1.1.0', actor: 'user:a' });
    const pinned = await predict({ model: 'fraud', version: 'challenger', entity_id: 'x', inputs: X });
    expect(pinned.json().predictions[0]).toMatchObject({ version: '1.1.0', variant: 'PINNED' });
  });

  it('completes inputs from the online store, and names what is still missing', async () => {
    const ok = await predict({ model: 'online', entity_id: 'card-9', inputs: { amount: 1, hour_of_day: 1 } });
    expect(ok.statusCode, ok.body).toBe(200);
    const missing = await predict({ model: 'online', entity_id: 'card-unknown', inputs: { amount: 1, hour_of_day: 1 } });
    expect(missing.statusCode).toBe(422);
    expect(missing.json().error).toMatchObject({
      code: 'FEATURES_MISSING',
      details: { missing: ['txn_count_1h', 'merchant_risk'] },
    });
  });

  it('answers bad input with a clear 4xx', async () => {
    const cases: Array<[unknown, number, string]> = [
      [{ model: 'fraud', entity_id: 'a', inputs: { amount: '1' } }, 400, 'must be number,boolean,null'],
      [{ model: 'fraud', entity_id: 'a', inputs: X, oops: 1 }, 400, 'must NOT have additional properties'],
      [{ model: 'fraud' }, 400, 'entity_id'],
      [{ model: 'fraud', entity_id: 'a', inputs: X, instances: [{ entity_id: 'b' }] }, 400, 'not both'],
      [{ model: 'nope', entity_id: 'a', inputs: X }, 404, 'not registered'],
      [{ model: 'fraud', entity_id: 'a', inputs: { amount: 1 } }, 422, 'needs request inputs hour_of_day'],
      [{ model: 'fraud', entity_id: 'a', inputs: X, version: '7.7.7' }, 404, 'not registered'],
    ];
    for (const [payload, status, message] of cases) {
      const response = await predict(payload);
      expect(response.statusCode, JSON.stringify(payload)).toBe(status);
      expect(response.json().error.message).toContain(message);
    }
    const big = await app.inject({
      method: 'POST',
      url: '/v1/predict',
      headers: { ...PREDICT, 'content-type': 'application/json' },
      payload: `{"model":"${'x'.repeat(9000)}"}`,
    });
    expect(big.statusCode).toBe(413);
    const text = await app.inject({
      method: 'POST',
      url: '/v1/predict',
      headers: { ...PREDICT, 'content-type': 'text/plain' },
      payload: 'hi',
    });
    expect(text.statusCode).toBe(415);
    const broken = await app.inject({
      method: 'POST',
      url: '/v1/predict',
      headers: { ...PREDICT, 'content-type': 'application/json' },
      payload: '{"model":',
    });
    expect(broken.statusCode).toBe(400);
    expect((await predict({ model: 'fraud', entity_id: 'a', inputs: X }, {})).statusCode).toBe(401);
    expect(
      (await predict({ model: 'fraud', entity_id: 'a', inputs: X }, { authorization: 'Bearer nope-nope-nope' })).statusCode,
    ).toBe(401);
  });

  it('gives up at the deadline with 504 and logs nothing for it', async () => {
    slowLookups = 200;
    const before = logged.length;
    const response = await predict(
      { model: 'online', entity_id: 'card-9', inputs: { amount: 1, hour_of_day: 1 } },
      { ...PREDICT, 'x-request-timeout-ms': '20' },
    );
    slowLookups = 0;
    expect(response.statusCode).toBe(504);
    expect(response.json().error.code).toBe('DEADLINE_EXCEEDED');
    await new Promise((resolve) => setTimeout(resolve, 250));
    expect(logged.length).toBe(before);
  });
});

describe('Open Inference Protocol v2', () => {
  it('serves metadata, readiness and inference in both tensor layouts', async () => {
    expect((await app.inject({ method: 'GET', url: '/v2/health/live' })).statusCode).toBe(200);
    const meta = await app.inject({ method: 'GET', url: '/v2/models/fraud', headers: PREDICT });
    expect(meta.json()).toMatchObject({
      name: 'fraud',
      platform: 'onnxruntime_onnx',
      inputs: [{ datatype: 'FP32', shape: [-1, 4] }],
      outputs: [{ name: 'probability', datatype: 'FP32', shape: [-1] }],
      parameters: { features: [...FRAUD_FEATURES] },
    });
    // Readiness is public, like /readyz: a probe needs no key.
    expect((await app.inject({ method: 'GET', url: '/v2/models/fraud/ready' })).statusCode).toBe(200);
    expect((await app.inject({ method: 'GET', url: '/v2/models/fraud/versions/9.9.9/ready' })).statusCode).toBe(404);
    const matrix = await app.inject({
      method: 'POST',
      url: '/v2/models/fraud/infer',
      headers: PREDICT,
      payload: {
        id: 'r1',
        inputs: [
          {
            name: 'input',
            shape: [2, 4],
            datatype: 'FP32',
            data: [
              [50, 2, 10, 0.4],
              [0, 0, 0, 0],
            ],
          },
        ],
      },
    });
    expect(matrix.statusCode, matrix.body).toBe(200);
    expect(matrix.json()).toMatchObject({
      model_name: 'fraud',
      model_version: '1.0.0',
      id: 'r1',
      outputs: [{ name: 'probability', datatype: 'FP32', shape: [2] }],
    });
    expect(matrix.json().outputs[0].data[0]).toBeCloseTo(fraudScore(-2, X), 5);
    const columns = await app.inject({
      method: 'POST',
      url: '/v2/models/fraud/versions/1.1.0/infer',
      headers: PREDICT,
      payload: {
        inputs: FRAUD_FEATURES.map((name) => ({ name, shape: [1], datatype: 'FP64', data: [X[name]] })),
        parameters: { entity_ids: ['card-1'] },
      },
    });
    expect(columns.json()).toMatchObject({ model_version: '1.1.0', parameters: { variants: ['PINNED'] } });
    expect(columns.json().outputs[0].data[0]).toBeCloseTo(fraudScore(1, X), 5);
    const bad = await app.inject({
      method: 'POST',
      url: '/v2/models/fraud/infer',
      headers: PREDICT,
      payload: { inputs: [{ name: 'x', shape: [1, 4], datatype: 'BYTES', data: ['a'] }] },
    });
    expect(bad.statusCode).toBe(400);
    expect(typeof bad.json().error).toBe('string');
  });
});

describe('one error shape across /v1', () => {
  it('answers { error: { code, message, retriable } } from predict, models and features alike', async () => {
    const answers = await Promise.all([
      predict({ model: 'fraud' }),
      app.inject({ method: 'GET', url: '/v1/models/nope', headers: PREDICT }),
      app.inject({ method: 'GET', url: '/v1/features/no_such_group/card-1', headers: PREDICT }),
      app.inject({ method: 'POST', url: '/v1/features/no_such_group', headers: PREDICT, payload: { entity_ids: [] } }),
      app.inject({ method: 'GET', url: '/v1/nothing-here', headers: PREDICT }),
    ]);
    expect(answers.map((a) => a.statusCode)).toEqual([400, 404, 404, 400, 404]);
    for (const answer of answers) {
      expect(Object.keys(answer.json())).toEqual(['error']);
      expect(answer.json().error).toEqual({
        code: expect.any(String),
        message: expect.any(String),
        retriable: false,
        ...(answer.json().error.details ? { details: expect.any(Object) } : {}),
      });
    }
    // /v2 keeps the protocol's own shape.
    expect((await app.inject({ method: 'GET', url: '/v2/models/nope', headers: PREDICT })).json()).toEqual({
      error: 'model nope is not registered',
    });
  });
});

describe('health and documentation', () => {
  it('keeps health public, metrics and the OpenAPI document behind a key', async () => {
    expect((await app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
    expect((await app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(200);
    expect((await app.inject({ method: 'GET', url: '/metrics' })).statusCode).toBe(401);
    const metrics = await app.inject({ method: 'GET', url: '/metrics', headers: PREDICT });
    expect(metrics.body).toMatch(/rheo_gateway_request_seconds_bucket/);
    const doc = (await app.inject({ method: 'GET', url: '/openapi.json', headers: PREDICT })).json();
    expect(doc.openapi).toBe('3.0.3');
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining(['/v1/predict', '/v2/models/{name}/infer', '/v1/models/{name}/traffic', '/healthz']),
    );
  });
});
