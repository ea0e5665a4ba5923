/**
 * The online store conformance suite: what every adapter must do (features/online/store.ts). The
 * in-memory store runs it as a unit test, Redis as an integration test; a future adapter enrols here.
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { FeatureGroupDecl } from '../../features/declaration.ts';
import { getOnlineFeatures } from '../../features/online/read.ts';
import type { OnlineStore } from '../../features/online/store.ts';
import { FeatureRegistry } from '../../features/registry.ts';
import { row, testGroup } from './feature-groups.ts';

export function onlineStoreConformance(name: string, create: () => Promise<OnlineStore> | OnlineStore): void {
  describe(`online store conformance: ${name}`, () => {
    const groups: FeatureGroupDecl[] = [];
    let store: OnlineStore | undefined;
    const open = async (overrides: Partial<FeatureGroupDecl> = {}) => {
      store ??= await create();
      const group = testGroup('on', overrides);
      groups.push(group);
      await store.ensure(group);
      return { store, group };
    };
    const readOne = async (s: OnlineStore, group: FeatureGroupDecl, entityId: string) =>
      (await s.read([{ group, entityIds: [entityId] }]))[0]?.[0] ?? null;

    afterAll(async () => {
      if (!store) return;
      for (const group of groups) await store.teardown(group);
      await store.close();
    });

    const now = Date.now();

    it('keeps the newest event whatever the arrival order; late events are stale', async () => {
      const { store, group } = await open();
      const newest = row('e1', now - 1_000);
      expect(await store.writeBatch(group, [row('e1', now - 3_000)])).toEqual({ accepted: 1, stale: 0, duplicate: 0 });
      expect(await store.writeBatch(group, [newest])).toEqual({ accepted: 1, stale: 0, duplicate: 0 });
      expect(await store.writeBatch(group, [row('e1', now - 2_000)])).toEqual({ accepted: 0, stale: 1, duplicate: 0 });
      expect(await readOne(store, group, 'e1')).toEqual(newest);
    });

    it('keeps the newest of several versions in one batch, in any order', async () => {
      const { store, group } = await open();
      const rows = [row('e2', now - 5_000), row('e2', now - 1_000), row('e2', now - 3_000), row('e3', now - 4_000)];
      const result = await store.writeBatch(group, rows);
      expect(result.accepted + result.stale).toBe(4);
      expect((await readOne(store, group, 'e2'))?.eventTime).toBe(now - 1_000);
      expect((await readOne(store, group, 'e3'))?.eventTime).toBe(now - 4_000);
    });

    it('lets a correction (same event time, later created time) win, and never an older one', async () => {
      const { store, group } = await open();
      const t = now - 10_000;
      const original = row('e4', t, { createdTime: t + 10, values: { amount: 1, count: 1, label: 'original', flag: false } });
      const correction = row('e4', t, { createdTime: t + 500, values: { amount: 2, count: 2, label: 'corrected', flag: true } });
      const older = row('e4', t, { createdTime: t + 5, values: { amount: 0, count: 0, label: 'older', flag: false } });
      await store.writeBatch(group, [original]);
      expect((await store.writeBatch(group, [correction])).accepted).toBe(1);
      expect((await store.writeBatch(group, [older])).stale).toBe(1);
      expect((await readOne(store, group, 'e4'))?.values.label).toBe('corrected');
    });

    it('breaks equal (event, created) times by event id, the same way in any order', async () => {
      const { store, group } = await open();
      const t = now - 1_000;
      const low = row('a', t, { eventId: '10000000-0000-4000-8000-000000000000' });
      const high = row('a', t, { eventId: '20000000-0000-4000-8000-000000000000' });
      const lowB = { ...low, entityId: 'b' };
      const highB = { ...high, entityId: 'b' };
      await store.writeBatch(group, [low]);
      await store.writeBatch(group, [high]);
      await store.writeBatch(group, [highB]);
      await store.writeBatch(group, [lowB]);
      expect((await readOne(store, group, 'a'))?.eventId).toBe(high.eventId);
      expect((await readOne(store, group, 'b'))?.eventId).toBe(high.eventId);
    });

    it('treats a redelivered event as a duplicate and changes nothing', async () => {
      const { store, group } = await open();
      const event = row('e5', now - 1_000);
      await store.writeBatch(group, [event]);
      expect(await store.writeBatch(group, [event])).toEqual({ accepted: 0, stale: 0, duplicate: 1 });
      expect(await readOne(store, group, 'e5')).toEqual(event);
    });

    it('replaces the whole vector: a feature that became null reads null', async () => {
      const { store, group } = await open();
      await store.writeBatch(group, [row('e6', now - 2_000, { values: { amount: 5.5, count: 1, label: 'x', flag: true } })]);
      await store.writeBatch(group, [row('e6', now - 1_000, { values: { amount: null, count: 2, label: '', flag: false } })]);
      expect((await readOne(store, group, 'e6'))?.values).toEqual({ amount: null, count: 2, label: '', flag: false });
    });

    it('round-trips every type exactly, and entity ids with any characters', async () => {
      const { store, group } = await open();
      const values = { amount: 0.1 + 0.2, count: Number.MAX_SAFE_INTEGER, label: 'ünïcødé:*?[x] \' " \n\t', flag: true };
      const tiny = { amount: -1e-300, count: -42, label: 'a', flag: false };
      const ids = ['card:with:colons', 'card*glob?[x]', 'ü 🦀 \\ \' "', ''.padEnd(300, 'x')];
      await store.writeBatch(group, [
        row(ids[0] as string, now - 1_000, { values }),
        row(ids[1] as string, now - 1_000, { values: tiny }),
        row(ids[2] as string, now - 1_000, { values }),
        row(ids[3] as string, now - 1_000, { values: tiny }),
      ]);
      const [read] = await store.read([{ group, entityIds: ids }]);
      expect(read?.map((r) => r?.values)).toEqual([values, tiny, values, tiny]);
      expect(read?.map((r) => r?.entityId)).toEqual(ids);
    });

    it('reads many groups and entities at once, with unknown entities null and feature subsets', async () => {
      const { store, group } = await open();
      const other = testGroup('on2', { entity: 'merchant' });
      groups.push(other);
      await store.ensure(other);
      await store.writeBatch(group, [row('c1', now - 2_000), row('c2', now - 1_000)]);
      await store.writeBatch(other, [row('m1', now - 500)]);
      const [cards, merchants] = await store.read([
        { group, entityIds: ['c2', 'nobody', 'c1'], features: ['label'] },
        { group: other, entityIds: ['m1'] },
      ]);
      expect(cards?.map((r) => r?.values ?? null)).toEqual([{ label: `v${now - 1_000}` }, null, { label: `v${now - 2_000}` }]);
      expect(merchants?.[0]?.eventTime).toBe(now - 500);

      const registry = new FeatureRegistry([group, other]);
      const vectors = await getOnlineFeatures(
        store,
        registry,
        [
          { card: 'c1', merchant: 'm1' },
          { card: 'nobody', merchant: 'm1' },
        ],
        [`${group.name}:amount`, `${group.name}:label`, `${other.name}:flag`],
        { now },
      );
      expect(vectors[0]?.values[`${group.name}:label`]).toBe(`v${now - 2_000}`);
      expect(vectors[0]?.groups[group.name]).toEqual({ entityId: 'c1', found: true, eventTime: now - 2_000, stalenessMs: 2_000 });
      expect(vectors[1]?.groups[group.name]?.found).toBe(false);
      expect(vectors[1]?.missing).toEqual([`${group.name}:amount`, `${group.name}:label`]);
    });

    it('expires an entry at event time + TTL, and does not serve one that arrives expired', async () => {
      const { store, group } = await open({ ttlSeconds: 2 });
      await store.writeBatch(group, [row('fresh', Date.now() - 1_000), row('old', Date.now() - 2_500)]);
      expect(await readOne(store, group, 'fresh')).not.toBeNull();
      expect(await readOne(store, group, 'old')).toBeNull();
      await new Promise((resolve) => setTimeout(resolve, 1_300));
      expect(await readOne(store, group, 'fresh')).toBeNull();
      // An expired entry is gone, so even an older event is accepted — and is itself expired.
      expect((await store.writeBatch(group, [row('fresh', Date.now() - 3_000)])).accepted).toBe(1);
      expect(await readOne(store, group, 'fresh')).toBeNull();
    });

    it('applies a changed TTL to entries already stored', async () => {
      const { store, group } = await open({ ttlSeconds: 3600 });
      await store.writeBatch(group, [row('x', Date.now() - 10_000), row('y', Date.now() - 1_000)]);
      const shorter = { ...group, version: 2, ttlSeconds: 5 };
      const report = await store.ensure(shorter);
      expect(report).toMatchObject({ previousTtlSeconds: 3600, ttlSeconds: 5 });
      expect(report.entriesRetimed).toBeGreaterThanOrEqual(2);
      expect(await readOne(store, shorter, 'x')).toBeNull();
      expect(await readOne(store, shorter, 'y')).not.toBeNull();
      expect((await store.ensure(shorter)).entriesRetimed).toBe(0);
      const forever = { ...group, version: 3, ttlSeconds: undefined };
      await store.ensure(forever);
      expect(await readOne(store, forever, 'y')).not.toBeNull();
    });

    it('lists stored entities and tears a group down', async () => {
      const { store, group } = await open();
      await store.writeBatch(group, [row('p', now - 1_000), row('q', now - 1_000)]);
      const ids: string[] = [];
      for await (const page of store.entityIds(group)) ids.push(...page);
      expect(ids.sort()).toEqual(['p', 'q']);
      await store.teardown(group);
      expect(await readOne(store, group, 'p')).toBeNull();
    });
  });
}
