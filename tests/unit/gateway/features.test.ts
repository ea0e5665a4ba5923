import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryOnlineStore } from '../../../features/online/memory.ts';
import type { OnlineStore } from '../../../features/online/store.ts';
import { FeatureRegistry } from '../../../features/registry.ts';
import { featuresRoutes } from '../../../gateway/features.ts';
import { RheoError } from '../../../kernel/errors.ts';
import { row, testGroup } from '../../support/feature-groups.ts';

const NOW = 1_800_000_000_000;
const group = testGroup('gw', { ttlSeconds: 3600 });
const registry = new FeatureRegistry([group]);
const online = new MemoryOnlineStore({ now: () => NOW });
let app: FastifyInstance;

beforeAll(async () => {
  await online.ensure(group);
  await online.writeBatch(group, [
    row('card-1', NOW - 60_000, { values: { amount: 12.5, count: 3, label: 'gold', flag: true } }),
    row('card-2', NOW - 1_000, { values: { amount: null, count: 0, label: '', flag: false } }),
  ]);
  app = Fastify();
  await app.register(featuresRoutes, { online, registry, now: () => NOW, maxEntities: 5 });
  await app.ready();
});

afterAll(async () => {
  await app.close();
});

describe('GET /v1/features/:group/:entity', () => {
  it('serves one entity with event time, staleness and missing values', async () => {
    const response = await app.inject({ method: 'GET', url: `/v1/features/${group.name}/card-2` });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({
      group: group.name,
      entity_id: 'card-2',
      found: true,
      event_time: NOW - 1_000,
      staleness_ms: 1_000,
      features: { amount: null, count: 0, label: '', flag: false },
      missing: ['amount'],
    });
  });

  it('selects features, and answers an unknown entity as not found with everything missing', async () => {
    const picked = await app.inject({ method: 'GET', url: `/v1/features/${group.name}/card-1?features=label,count` });
    expect(picked.json()).toMatchObject({ features: { label: 'gold', count: 3 }, staleness_ms: 60_000 });
    const unknown = await app.inject({ method: 'GET', url: `/v1/features/${group.name}/${encodeURIComponent('nobody/here?')}` });
    expect(unknown.statusCode).toBe(200);
    expect(unknown.json()).toMatchObject({
      entity_id: 'nobody/here?',
      found: false,
      event_time: null,
      missing: ['amount', 'count', 'label', 'flag'],
    });
  });

  it('answers 404 for an unknown group and 400 for bad names or unknown features', async () => {
    const noGroup = await app.inject({ method: 'GET', url: '/v1/features/no_such_group/card-1' });
    expect(noGroup.statusCode).toBe(404);
    expect(noGroup.json()).toMatchObject({ error: { code: 'NOT_FOUND', retriable: false } });
    const badName = await app.inject({ method: 'GET', url: "/v1/features/Bad'Group/card-1" });
    expect(badName.statusCode).toBe(400);
    expect(badName.json().error.code).toBe('BAD_REQUEST');
    const badFeature = await app.inject({ method: 'GET', url: `/v1/features/${group.name}/card-1?features=nope` });
    expect(badFeature.statusCode).toBe(400);
    expect(badFeature.json().error.message).toContain('nope');
    const badQuery = await app.inject({ method: 'GET', url: `/v1/features/${group.name}/card-1?features=a;b` });
    expect(badQuery.statusCode).toBe(400);
  });
});

describe('POST /v1/features/:group', () => {
  it('serves many entities in request order', async () => {
    const response = await app.inject({
      method: 'POST',
      url: `/v1/features/${group.name}`,
      payload: { entity_ids: ['card-2', 'ghost', 'card-1'], features: ['amount'] },
    });
    expect(response.statusCode).toBe(200);
    const body = response.json();
    expect(body.entities.map((e: { entity_id: string }) => e.entity_id)).toEqual(['card-2', 'ghost', 'card-1']);
    expect(body.entities.map((e: { features: { amount: unknown } }) => e.features.amount)).toEqual([null, null, 12.5]);
    expect(body.entities[1]).toMatchObject({ found: false, missing: ['amount'] });
  });

  it('validates the body: required ids, limits, item types and names', async () => {
    const cases: unknown[] = [
      {},
      { entity_ids: [] },
      { entity_ids: ['a', 'b', 'c', 'd', 'e', 'f'] },
      { entity_ids: [{ id: 'a' }] },
      { entity_ids: [null] },
      { entity_ids: [''] },
      { entity_ids: ['a'], features: ['Bad'] },
    ];
    for (const payload of cases) {
      const response = await app.inject({ method: 'POST', url: `/v1/features/${group.name}`, payload: payload as object });
      expect(response.statusCode, JSON.stringify(payload)).toBe(400);
      expect(response.json().error.code).toBe('BAD_REQUEST');
    }
    const notJson = await app.inject({
      method: 'POST',
      url: `/v1/features/${group.name}`,
      headers: { 'content-type': 'application/json' },
      payload: '{"entity_ids": [',
    });
    expect(notJson.statusCode).toBe(400);
  });

  it('answers 503 (retriable) when the store is down', async () => {
    const down = Object.assign(new MemoryOnlineStore(), {
      read: async (): Promise<never> => {
        throw new RheoError('SINK_UNAVAILABLE', 'Redis failed reading features: connection refused');
      },
    }) satisfies OnlineStore;
    const local = Fastify();
    await local.register(featuresRoutes, { online: down, registry });
    const response = await local.inject({ method: 'POST', url: `/v1/features/${group.name}`, payload: { entity_ids: ['a'] } });
    expect(response.statusCode).toBe(503);
    expect(response.json()).toEqual({
      error: { code: 'SINK_UNAVAILABLE', message: 'Redis failed reading features: connection refused', retriable: true },
    });
    await local.close();
  });
});
