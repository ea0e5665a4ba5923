/** The streaming scorer through the test driver (no broker): routing, deterministic ids, shadows, dead letters. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../../../kernel/log.ts';
import { createRegistry } from '../../../../kernel/metrics.ts';
import { requestEntities, type ScoredRequest, scoreRequests, scorerTransform } from '../../../../processors/scorer/transform.ts';
import { MemoryRegistry } from '../../../../registry/memory.ts';
import { MemorySink, ProcessorTestDriver } from '../../../../runtime/driver.ts';
import type { ProcessorSpec } from '../../../../runtime/types.ts';
import type { PredictionInput, PredictionRequest } from '../../../../schemas/index.ts';
import { FileArtifactStore } from '../../../../serving/artifacts/fs.ts';
import { ArtifactResolver } from '../../../../serving/artifacts/store.ts';
import { ModelHost } from '../../../../serving/host/host.ts';
import { route } from '../../../../serving/routing.ts';
import { TOPICS } from '../../../../topics/catalogue.ts';
import { FRAUD_FEATURES, fraudModelBytes } from '../../../support/models.ts';
import { fraudScore } from '../../../support/serving.ts';

const dir = mkdtempSync(join(tmpdir(), 'rheo-scorer-unit-'));
const store = new FileArtifactStore(dir);
const registry = new MemoryRegistry();
const host = new ModelHost({
  artifacts: new ArtifactResolver([store]),
  logger: createLogger('t', { level: 'silent' }),
  metrics: createRegistry('t', { defaultMetrics: false }),
});
const X = { amount: 30, hour_of_day: 4, distance_from_home_km: 12, merchant_risk: 0.2 };
const topic = TOPICS.predictionRequests.name;

function spec(sink: MemorySink<PredictionInput>): ProcessorSpec<PredictionRequest, PredictionInput, ScoredRequest> {
  return {
    name: 'scorer',
    inputs: [TOPICS.predictionRequests],
    decode: (raw) => JSON.parse(String(raw.value)) as PredictionRequest,
    supply: () => ({ enrich: scoreRequests({ host }), transform: scorerTransform }),
    sink,
  };
}

const request = (id: string, entity: string, extra: Partial<PredictionRequest> = {}): PredictionRequest => ({
  event_id: id,
  event_time: 1_000,
  entity_id: entity,
  model_name: 'fraud',
  model_version: null,
  inputs: X,
  source: null,
  ...extra,
});

beforeAll(async () => {
  for (const [version, bias] of [
    ['1.0.0', -2],
    ['2.0.0', 2],
  ] as const) {
    await registry.register(store, fraudModelBytes({ bias }), {
      model: 'fraud',
      version,
      actor: 'user:a',
      inputs: FRAUD_FEATURES.map((name) => ({ name, type: 'DOUBLE' })),
      outputs: [{ name: 'probability', type: 'DOUBLE' }],
    });
  }
  await registry.execute({ kind: 'request', model: 'fraud', version: '1.0.0', to: 'PRODUCTION', actor: 'user:a' });
  await registry.execute({ kind: 'approve', model: 'fraud', version: '1.0.0', actor: 'user:b' });
  await registry.execute({ kind: 'traffic', model: 'fraud', actor: 'user:a', ab: { version: '2.0.0', percent: 50, salt: 's' } });
  await host.update(registry.state);
});

afterAll(async () => {
  await host.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('streaming scorer transform', () => {
  it('scores requests with the traffic policy, in input order, with ids derived from the request', async () => {
    const sink = new MemorySink<PredictionInput>();
    const driver = new ProcessorTestDriver(spec(sink));
    const entities = Array.from({ length: 40 }, (_, i) => `card-${i}`);
    await driver.pipe(
      entities.map((e, i) =>
        driver.record(topic, Buffer.from(JSON.stringify(request(`00000000-0000-4000-8000-${String(i).padStart(12, '0')}`, e))), {
          key: e,
          timestamp: 5_000,
        }),
      ),
    );
    expect(sink.written.map((p) => p.entity_id)).toEqual(entities);
    const policy = registry.state.models.get('fraud')?.traffic;
    for (const p of sink.written) {
      const expected = policy && route(policy, p.entity_id)?.primary;
      expect(p).toMatchObject({
        model_version: expected?.version,
        variant: expected?.variant,
        source: 'STREAMING',
        event_time: 5_000,
        request_time: 1_000,
      });
      expect(p.score as number).toBeCloseTo(fraudScore(p.model_version === '1.0.0' ? -2 : 2, X), 5);
    }
    // A redelivered chunk gives identical events (the sink side deduplicates on event id).
    const again = new MemorySink<PredictionInput>();
    const replay = new ProcessorTestDriver(spec(again));
    await replay.pipe(
      entities.map((e, i) =>
        replay.record(topic, Buffer.from(JSON.stringify(request(`00000000-0000-4000-8000-${String(i).padStart(12, '0')}`, e))), {
          key: e,
          timestamp: 5_000,
        }),
      ),
    );
    expect(again.written.map((p) => [p.event_id, p.prediction_id])).toEqual(
      sink.written.map((p) => [p.event_id, p.prediction_id]),
    );
  });

  it('writes shadow predictions after their primary and pins versions', async () => {
    await registry.execute({ kind: 'traffic', model: 'fraud', actor: 'user:a', ab: null, shadow: ['2.0.0'] });
    await host.update(registry.state);
    const sink = new MemorySink<PredictionInput>();
    const driver = new ProcessorTestDriver(spec(sink));
    await driver.pipe([
      driver.record(topic, Buffer.from(JSON.stringify(request('11111111-1111-4111-8111-111111111111', 'a')))),
      driver.record(
        topic,
        Buffer.from(JSON.stringify(request('22222222-2222-4222-8222-222222222222', 'b', { model_version: '2.0.0' }))),
      ),
    ]);
    expect(sink.written.map((p) => `${p.entity_id} ${p.model_version} ${p.variant}`)).toEqual([
      'a 1.0.0 PRODUCTION',
      'a 2.0.0 SHADOW',
      'b 2.0.0 PINNED',
    ]);
    expect(sink.written[0]?.prediction_id).toBe(sink.written[1]?.prediction_id);
  });

  it('dead-letters requests it cannot score and keeps the rest', async () => {
    const sink = new MemorySink<PredictionInput>();
    const driver = new ProcessorTestDriver(spec(sink));
    await driver.pipe([
      driver.record(topic, Buffer.from(JSON.stringify(request('33333333-3333-4333-8333-333333333333', 'ok')))),
      driver.record(
        topic,
        Buffer.from(JSON.stringify(request('44444444-4444-4444-8444-444444444444', 'x', { model_name: 'nope' }))),
      ),
      driver.record(
        topic,
        Buffer.from(JSON.stringify(request('55555555-5555-4555-8555-555555555555', 'y', { inputs: { amount: 1 } }))),
      ),
      driver.record(topic, Buffer.from('not json')),
    ]);
    expect(sink.written.filter((p) => p.variant !== 'SHADOW').map((p) => p.entity_id)).toEqual(['ok']);
    expect(driver.deadLetters.map((d) => d.code)).toEqual(['SCHEMA_DECODE_FAILED', 'MODEL_NOT_FOUND', 'FEATURES_MISSING']);
  });
});

describe('streaming scorer transform (pure)', () => {
  const at = (offset: number, value: ScoredRequest) => ({
    topic,
    partition: 0,
    offset: String(offset),
    key: null,
    timestamp: 0,
    headers: {},
    value,
  });
  const prediction = (id: string, variant: string) => ({ event_id: id, variant }) as unknown as PredictionInput;
  const records = [
    at(0, { ok: true, predictions: [prediction('p1', 'PRODUCTION'), prediction('s1', 'SHADOW')] }),
    at(1, { ok: false, code: 'MODEL_NOT_FOUND', reason: 'no model nope' }),
    at(2, { ok: true, predictions: [prediction('p2', 'CANARY')] }),
  ];

  it('writes served then shadow predictions in input order and refuses failures with their code', () => {
    const out = scorerTransform(records);
    expect(out.writes.map((p) => p.event_id)).toEqual(['p1', 's1', 'p2']);
    expect(out.rejected).toEqual([{ record: records[1], code: 'MODEL_NOT_FOUND', reason: 'no model nope' }]);
  });

  it('does not touch its input, and chunking does not change the result', () => {
    const before = structuredClone(records);
    const whole = scorerTransform(records);
    expect(records).toEqual(before);
    const parts = [scorerTransform(records.slice(0, 2)), scorerTransform(records.slice(2))];
    expect(parts.flatMap((p) => p.writes)).toEqual(whole.writes);
    expect(parts.flatMap((p) => p.rejected)).toEqual(whole.rejected);
  });
});

describe('requestEntities', () => {
  const entities = new Map([['fraud_detector', { entity: 'card', keys: { merchant: 'merchant_id' } }]]);
  it("names the model's entity and each other entity from the input the project declares", () => {
    expect(
      requestEntities(
        { model_name: 'fraud_detector', entity_id: 'card-1', inputs: { merchant_id: 'merchant-7', amount: 3 } },
        entities,
      ),
    ).toEqual({ card: 'card-1', merchant: 'merchant-7' });
  });
  it('leaves out an id the request does not carry, and declares nothing for other models', () => {
    expect(requestEntities({ model_name: 'fraud_detector', entity_id: 'card-1', inputs: { merchant_id: 4 } }, entities)).toEqual({
      card: 'card-1',
    });
    expect(requestEntities({ model_name: 'other', entity_id: 'x', inputs: {} }, entities)).toBeUndefined();
  });
});
