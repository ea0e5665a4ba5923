/**
 * The gateway under hostile input on the real stack: 1000 malformed requests of many kinds get only
 * 4xx answers with a catalogue code, never a 5xx, and the gateway keeps serving good requests; API
 * keys, scopes, rate limits, body size and deadlines behave as documented.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadServingSettings, openArtifactStore } from '../../gateway/settings.ts';
import { loadConfig } from '../../kernel/config.ts';
import { createAdmin, createKafka } from '../../kernel/kafka.ts';
import { createLogger } from '../../kernel/log.ts';
import { rng } from '../../kernel/random.ts';
import { RegistryClient } from '../../registry/client.ts';
import { ensureTopics } from '../../topics/admin.ts';
import { catalogue } from '../../topics/catalogue.ts';
import { uniqueModelName } from '../support/models.ts';
import {
  ADMIN_KEY,
  PREDICT_KEY,
  post,
  promote,
  registerFraudModel,
  startTestGateway,
  type TestGateway,
} from '../support/serving.ts';
import { waitFor } from '../support/wait.ts';

const config = loadConfig();
const settings = loadServingSettings(config);
const logger = createLogger('hardening-test', { level: 'silent' });
const model = uniqueModelName('hardening');
const X = { amount: 10, hour_of_day: 12, distance_from_home_km: 3, merchant_risk: 0.1 };
let client: RegistryClient;
let g: TestGateway;

beforeAll(async () => {
  const admin = createAdmin(createKafka(config.kafka, logger, 'hardening'));
  await admin.connect();
  await ensureTopics(admin, catalogue());
  await admin.disconnect();
  client = await RegistryClient.connect(config, logger);
  await registerFraudModel(client, openArtifactStore(settings), model, '1.0.0', -1);
  await promote(client, model, '1.0.0');
  g = await startTestGateway(config, settings, logger, [model], {
    rateLimit: { perSecond: 100_000, burst: 100_000 },
    bodyLimitBytes: 64 * 1024,
  });
  await g.started;
  await waitFor('gateway ready', () => g.services.readiness().ready, { timeoutMs: 30_000 });
});

afterAll(async () => {
  await g?.close();
  await client?.close();
});

/** Malformed requests of many kinds, drawn from a seeded generator so a failure can be replayed. */
function malformed(random: () => number, i: number): { path: string; body: string; headers: Record<string, string> } {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)] as T;
  const junk = () =>
    pick([
      '',
      'null',
      '[]',
      '{',
      '}{',
      '"x"',
      '1e309',
      'true',
      '{"a":',
      '\u0000',
      'NaN',
      '{"__proto__":{"x":1}}',
      '{"constructor":{"prototype":{}}}',
    ]);
  // Values that are wrong where they are used: not a non-empty short string, not a finite number or boolean.
  const badString = () => pick<unknown>([12, null, [], {}, '', 'x'.repeat(300), true, { $gt: 1 }]);
  const badNumber = () => pick<unknown>(['12', [], {}, 'NaN', { $gt: 1 }, 'x']);
  const badValue = () => (random() < 0.5 ? badString() : badNumber());
  const good = { model, entity_id: `e${i}`, inputs: X };
  const variants: Array<() => { path?: string; body: unknown; headers?: Record<string, string> }> = [
    () => ({ body: junk() }),
    () => ({ body: { ...good, model: badString() } }),
    () => ({ body: { ...good, entity_id: badString() } }),
    () => ({ body: { ...good, inputs: pick<unknown>(['12', [], 'x', 7, true]) } }),
    () => ({ body: { ...good, inputs: { ...X, amount: badNumber() } } }),
    () => ({ body: { ...good, inputs: { amount: 1 } } }), // missing features: 422
    () => ({ body: { ...good, extra: 1 } }),
    () => ({ body: { model } }),
    () => ({ body: { ...good, instances: [] } }),
    () => ({
      path: '/v1/predict',
      body: { model, instances: Array.from({ length: 300 }, () => ({ entity_id: 'x', inputs: X })) },
    }),
    () => ({ body: { model, instances: [{ inputs: X }] } }),
    () => ({ body: { ...good, model: `nope_${i}` } }), // unknown model: 404
    () => ({ body: { ...good, version: '9.9.9' } }),
    () => ({ body: { ...good, version: badString() } }),
    () => ({ body: { ...good, request_time: -5 } }),
    () => ({ body: good, headers: { 'content-type': 'text/plain' } }),
    () => ({ body: good, headers: { 'content-type': 'application/xml' } }),
    () => ({ body: good, headers: { 'x-api-key': 'wrong-key-wrong-key' } }),
    () => ({ body: good, headers: { 'x-api-key': '' } }),
    () => ({ body: { ...good, inputs: Object.fromEntries(Array.from({ length: 2000 }, (_, k) => [`f${k}`, k])) } }),
    () => ({ body: 'x'.repeat(70 * 1024) }), // over the body limit: 413
    () => ({
      path: `/v2/models/${model}/infer`,
      body: { inputs: [{ name: 'x', shape: [1, 4], datatype: 'BYTES', data: ['a'] }] },
    }),
    () => ({
      path: `/v2/models/${model}/infer`,
      body: { inputs: [{ name: 'x', shape: [2, 4], datatype: 'FP32', data: [1, 2, 3] }] },
    }),
    () => ({ path: `/v2/models/${model}/infer`, body: { inputs: [{ name: 'nope', shape: [1], datatype: 'FP32', data: [1] }] } }),
    () => ({ path: `/v2/models/${model}/infer`, body: { inputs: badValue() } }),
    () => ({ path: '/v1/models/x/approve', body: { version: '1.0.0' } }), // predict key on an admin route: 403
    () => ({ path: `/v1/models/${model}/traffic`, body: junk(), headers: { 'x-api-key': ADMIN_KEY } }),
    () => ({ path: '/v1/nothing-here', body: good }),
  ];
  const v = pick(variants)();
  return {
    path: v.path ?? (random() < 0.8 ? '/v1/predict' : '/v1/predict/batch'),
    body: typeof v.body === 'string' ? v.body : JSON.stringify(v.body),
    headers: { 'content-type': 'application/json', 'x-api-key': PREDICT_KEY, ...(v.headers ?? {}) },
  };
}

describe('gateway hardening', () => {
  it('answers 1000 malformed requests with 4xx only, and keeps serving', async () => {
    const random = rng(4);
    const statuses = new Map<number, number>();
    const codes = new Set<string>();
    for (let start = 0; start < 1000; start += 50) {
      const batch = Array.from({ length: 50 }, (_, k) => malformed(random, start + k));
      const answers = await Promise.all(
        batch.map(async (r) => {
          const response = await fetch(`${g.url}${r.path}`, {
            method: r.path.includes('/traffic') ? 'PUT' : 'POST',
            headers: r.headers,
            body: r.body,
          });
          const text = await response.text();
          return { status: response.status, text, request: r };
        }),
      );
      for (const a of answers) {
        statuses.set(a.status, (statuses.get(a.status) ?? 0) + 1);
        expect(a.status, `${a.request.path} ${a.request.body.slice(0, 200)} → ${a.text.slice(0, 300)}`).toBeGreaterThanOrEqual(
          400,
        );
        expect(a.status, `${a.request.path} ${a.request.body.slice(0, 200)} → ${a.text.slice(0, 300)}`).toBeLessThan(500);
        const parsed = JSON.parse(a.text) as { error: { code?: string } | string };
        if (typeof parsed.error === 'object') codes.add(parsed.error.code as string);
      }
    }
    logger.info({ statuses: Object.fromEntries(statuses), codes: [...codes] }, 'malformed requests');
    expect([...statuses.keys()].sort()).toEqual(expect.arrayContaining([400, 401, 403, 404, 413, 415, 422]));
    const ok = await post(g.url, '/v1/predict', { model, entity_id: 'still-ok', inputs: X });
    expect(ok.status).toBe(200);
  });

  it('enforces deadlines, rate limits and scopes, and leaves health public', async () => {
    expect((await fetch(`${g.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${g.url}/readyz`)).status).toBe(200);
    expect((await fetch(`${g.url}/v2/health/ready`)).status).toBe(200);
    expect((await fetch(`${g.url}/metrics`)).status).toBe(401);
    expect((await fetch(`${g.url}/metrics`, { headers: { authorization: `Bearer ${PREDICT_KEY}` } })).status).toBe(200);
    const openapi = (await (await fetch(`${g.url}/openapi.json`, { headers: { 'x-api-key': PREDICT_KEY } })).json()) as {
      paths: Record<string, unknown>;
    };
    expect(Object.keys(openapi.paths)).toEqual(
      expect.arrayContaining(['/v1/predict', '/v1/predict/batch', '/v2/models/{name}/infer', '/v1/models/{name}/rollback']),
    );
    // A 1 ms deadline on a 20 000-row batch cannot be met: 504, never a late answer.
    const late = await post(
      g.url,
      '/v1/predict/batch',
      { model, instances: Array.from({ length: 20_000 }, (_, i) => ({ entity_id: `d${i}`, inputs: X })) },
      PREDICT_KEY,
      {
        'x-request-timeout-ms': '1',
      },
    );
    expect([413, 504]).toContain(late.status);
    const limited = await startTestGateway(config, settings, logger, [model], { rateLimit: { perSecond: 1, burst: 3 } });
    try {
      await limited.started;
      await waitFor('limited gateway ready', () => limited.services.readiness().ready, { timeoutMs: 30_000 });
      const answers = await Promise.all(
        Array.from({ length: 6 }, () => post(limited.url, '/v1/predict', { model, entity_id: 'r', inputs: X })),
      );
      const statuses = answers.map((a) => a.status).sort();
      expect(statuses.filter((s) => s === 200)).toHaveLength(3);
      expect(statuses.filter((s) => s === 429)).toHaveLength(3);
    } finally {
      await limited.close();
    }
  });
});
