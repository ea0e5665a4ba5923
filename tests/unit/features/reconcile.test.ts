import { describe, expect, it } from 'vitest';
import { MemoryOfflineStore } from '../../../features/offline/memory.ts';
import { MemoryOnlineStore } from '../../../features/online/memory.ts';
import { reconcile } from '../../../features/reconcile.ts';
import { row, testGroup } from '../../support/feature-groups.ts';

describe('reconcile: online must equal the newest unexpired offline row of every entity', () => {
  it('finds no difference when the online store holds exactly the latest offline rows', async () => {
    const group = testGroup('rec', { ttlSeconds: 60 });
    const now = Date.now();
    const rows = [row('a', now - 3_000), row('a', now - 1_000), row('b', now - 2_000), row('old', now - 120_000)];
    const online = new MemoryOnlineStore();
    const offline = new MemoryOfflineStore();
    await online.writeBatch(group, rows);
    await offline.writeBatch(group, rows);
    expect(await reconcile(group, online, offline, { now })).toMatchObject({
      entitiesOffline: 2,
      entitiesOnline: 2,
      matching: 2,
      expired: 1,
      differences: 0,
    });
  });

  it('reports each kind of difference', async () => {
    const group = testGroup('rec', { ttlSeconds: 3600 });
    const now = Date.now();
    const online = new MemoryOnlineStore();
    const offline = new MemoryOfflineStore();
    const same = row('same', now - 1_000);
    await offline.writeBatch(group, [same, row('missing', now - 1_000), row('behind', now - 2_000), row('behind', now - 1_000)]);
    const wrongValues = row('values', now - 1_000);
    await offline.writeBatch(group, [wrongValues]);
    await online.writeBatch(group, [
      same,
      row('behind', now - 2_000),
      { ...wrongValues, values: { ...wrongValues.values, label: 'tampered' } },
      row('stray', now - 1_000),
    ]);
    const report = await reconcile(group, online, offline, { now });
    expect(report.matching).toBe(1);
    expect(report.differences).toBe(4);
    expect(Object.fromEntries(report.examples.map((d) => [d.entityId, d.kind]))).toEqual({
      missing: 'missing_online',
      behind: 'different_event',
      values: 'different_values',
      stray: 'unexpected_online',
    });
  });

  it('skips entities expiring right now instead of racing Redis expiry', async () => {
    const group = testGroup('rec', { ttlSeconds: 10 });
    const now = Date.now();
    const edge = row('edge', now - 10_000 + 500);
    const offline = new MemoryOfflineStore();
    await offline.writeBatch(group, [edge]);
    const report = await reconcile(group, new MemoryOnlineStore(), offline, { now });
    expect(report).toMatchObject({ skippedExpiring: 1, differences: 0 });
  });
});
