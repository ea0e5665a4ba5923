/**
 * The one scoring path (`scoreMany`) on a real model host, no services: routing, rows assembled from
 * request inputs and online features by the version's input schema, per-instance failures, shadows
 * sharing the primary's prediction id, and deterministic ids.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RheoError } from '../../../kernel/errors.ts';
import { createLogger } from '../../../kernel/log.ts';
import { createRegistry } from '../../../kernel/metrics.ts';
import { MemoryRegistry } from '../../../registry/memory.ts';
import { FileArtifactStore } from '../../../serving/artifacts/fs.ts';
import { ArtifactResolver } from '../../../serving/artifacts/store.ts';
import { ModelHost } from '../../../serving/host/host.ts';
import { route } from '../../../serving/routing.ts';
import { deterministicIds, type EntityKey, type FeatureLookup, scoreMany } from '../../../serving/scoring.ts';
import { fraudModelBytes } from '../../support/models.ts';
import { fraudScore } from '../../support/serving.ts';

const dir = mkdtempSync(join(tmpdir(), 'rheo-scoring-unit-'));
const store = new FileArtifactStore(dir);
const registry = new MemoryRegistry();
const host = new ModelHost({
  artifacts: new ArtifactResolver([store]),
  logger: createLogger('t', { level: 'silent' }),
  metrics: createRegistry('t', { defaultMetrics: false }),
});
/** Two request-time inputs and two online features, in the order the model takes them. */
const INPUTS = [
  { name: 'amount', type: 'DOUBLE' as const, feature_group: null },
  { name: 'hour_of_day', type: 'DOUBLE' as const, feature_group: null },
  { name: 'distance_from_home_km', type: 'DOUBLE' as const, feature_group: 'card_activity' },
  { name: 'merchant_risk', type: 'DOUBLE' as const, feature_group: 'merchant_risk' },
];
const ONLINE = { distance_from_home_km: 12, merchant_risk: 0.3 };

/** Answers every entity but `card-unknown` with ONLINE, and remembers what it was asked. */
const lookups: Array<{ entities: readonly EntityKey[]; features: readonly string[] }> = [];
const features: FeatureLookup = {
  async get(entities, names) {
    lookups.push({ entities, features: names });
    return entities.map((entity) =>
      entity === 'card-unknown' ? {} : Object.fromEntries(names.map((n) => [n, ONLINE[n.split(':')[1] as keyof typeof ONLINE]])),
    );
  },
};
const options = { model: 'fraud', source: 'ONLINE' as const, receivedAt: performance.now(), shadows: 'await' as const };

beforeAll(async () => {
  for (const [version, bias] of [
    ['1.0.0', -2],
    ['2.0.0', 2],
  ] as const) {
    await registry.register(store, fraudModelBytes({ bias }), {
      model: 'fraud',
      version,
      actor: 'user:a',
      inputs: INPUTS,
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

describe('scoreMany', () => {
  it('routes each entity, completes its row from one online lookup, and keeps request inputs over online ones', async () => {
    lookups.length = 0;
    const entities = Array.from({ length: 20 }, (_, i) => `card-${i}`);
    const instances = entities.map((entityId, i) => ({
      entityId,
      // Every other instance brings its own merchant risk, which wins over the store's.
      inputs: i % 2 === 0 ? { amount: 40, hour_of_day: 3 } : { amount: 40, hour_of_day: 3, merchant_risk: 0.9 },
    }));
    const { outcomes } = await scoreMany({ host, features }, instances, options);
    expect(lookups).toHaveLength(1);
    expect([...(lookups[0]?.features ?? [])].sort()).toEqual([
      'card_activity:distance_from_home_km',
      'merchant_risk:merchant_risk',
    ]);
    const policy = registry.state.models.get('fraud')?.traffic;
    outcomes.forEach((outcome, i) => {
      if (!outcome.ok) throw outcome.error;
      const expected = policy && route(policy, entities[i] as string)?.primary;
      expect(outcome).toMatchObject({ entityId: entities[i], version: expected?.version, variant: expected?.variant });
      const x = {
        amount: 40,
        hour_of_day: 3,
        distance_from_home_km: 12,
        merchant_risk: i % 2 === 0 ? 0.3 : 0.9,
      };
      expect(outcome.score as number).toBeCloseTo(fraudScore(outcome.version === '1.0.0' ? -2 : 2, x), 5);
      expect(outcome.prediction.inputs).toEqual(x);
      expect(outcome.prediction).toMatchObject({ source: 'ONLINE', model_name: 'fraud', prediction_id: outcome.predictionId });
    });
  });

  it('returns a failure for an instance it cannot complete and scores the rest of the chunk', async () => {
    const { outcomes } = await scoreMany(
      { host, features },
      [
        { entityId: 'card-1', inputs: { amount: 1, hour_of_day: 1 } },
        { entityId: 'card-unknown', inputs: { amount: 1, hour_of_day: 1 } },
        { entityId: 'card-2', inputs: { amount: 1, hour_of_day: Number.NaN } },
      ],
      options,
    );
    expect(outcomes.map((o) => (o.ok ? 'ok' : o.error.code))).toEqual(['ok', 'FEATURES_MISSING', 'BAD_REQUEST']);
    const missing = outcomes[1];
    expect(missing?.ok === false && missing.error.message).toMatch(/online features distance_from_home_km, merchant_risk/);
  });

  it('scores shadows with the primary prediction id, pins versions, and derives ids from the source when asked', async () => {
    await registry.execute({ kind: 'traffic', model: 'fraud', actor: 'user:a', ab: null, shadow: ['2.0.0'] });
    await host.update(registry.state);
    const instance = { entityId: 'card-7', inputs: { amount: 5, hour_of_day: 1 }, ids: deterministicIds('req-7') };
    const first = await scoreMany({ host, features }, [instance], options);
    const shadows = await first.shadows;
    const primary = first.outcomes[0];
    if (!primary?.ok) throw new Error('primary not scored');
    expect(primary).toMatchObject({ version: '1.0.0', variant: 'PRODUCTION' });
    expect(shadows.map((s) => [s.model_version, s.variant, s.prediction_id])).toEqual([
      ['2.0.0', 'SHADOW', primary.predictionId],
    ]);
    const again = await scoreMany({ host, features }, [instance], options);
    expect([again.outcomes[0]?.ok && again.outcomes[0].prediction.event_id, (await again.shadows)[0]?.event_id]).toEqual([
      primary.prediction.event_id,
      shadows[0]?.event_id,
    ]);
    const skipped = await scoreMany({ host, features }, [instance], { ...options, shadows: 'skip' });
    expect(await skipped.shadows).toEqual([]);
    const pinned = await scoreMany({ host, features }, [instance], { ...options, version: '2.0.0' });
    expect(pinned.outcomes[0]).toMatchObject({ ok: true, version: '2.0.0', variant: 'PINNED' });
  });

  it('throws, for the whole chunk, when the model cannot be served or the online store cannot be read', async () => {
    const unknown = await scoreMany({ host, features }, [{ entityId: 'x', inputs: {} }], { ...options, model: 'nope' }).catch(
      (e: unknown) => e,
    );
    expect(unknown).toBeInstanceOf(RheoError);
    expect((unknown as RheoError).code).toBe('MODEL_NOT_FOUND');
    const broken: FeatureLookup = {
      get: async () => {
        throw new Error('connection refused');
      },
    };
    const down = await scoreMany({ host, features: broken }, [{ entityId: 'x', inputs: {} }], options).catch((e: unknown) => e);
    expect((down as RheoError).code).toBe('FEATURES_UNAVAILABLE');
  });
});
