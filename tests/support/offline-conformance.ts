/**
 * The offline store conformance suite: point-in-time semantics every adapter must have
 * (features/offline/store.ts). The in-memory store runs it as a unit test, ClickHouse as an
 * integration test; a future adapter enrols here.
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { FeatureGroupDecl, FeatureRow } from '../../features/declaration.ts';
import { getHistoricalFeatures } from '../../features/offline/historical.ts';
import type { OfflineStore } from '../../features/offline/store.ts';
import { FeatureRegistry } from '../../features/registry.ts';
import { row, testGroup } from './feature-groups.ts';

export function offlineStoreConformance(name: string, create: () => Promise<OfflineStore> | OfflineStore): void {
  describe(`offline store conformance: ${name}`, () => {
    const groups: FeatureGroupDecl[] = [];
    let store: OfflineStore | undefined;
    const open = async (overrides: Partial<FeatureGroupDecl> = {}) => {
      store ??= await create();
      const group = testGroup('off', overrides);
      groups.push(group);
      await store.ensure(group);
      return { store, group };
    };
    const at = async (s: OfflineStore, group: FeatureGroupDecl, entityId: string, timestamp: number) =>
      (await s.pointInTime(group, [{ entityId, timestamp }]))[0] ?? null;

    afterAll(async () => {
      if (!store) return;
      for (const group of groups) await store.teardown(group);
      await store.close();
    });

    it('stores each event once however often it is written', async () => {
      const { store, group } = await open();
      const rows = [row('e', 1_000), row('e', 2_000), row('f', 1_000)];
      await store.writeBatch(group, rows);
      await store.writeBatch(group, rows);
      await store.writeBatch(group, [rows[1] as FeatureRow]);
      expect(await store.count(group)).toBe(3);
    });

    it('answers the latest value at or before t, never a later one', async () => {
      const { store, group } = await open({ ttlSeconds: undefined });
      const [a, b, c] = [row('e', 1_000), row('e', 2_000), row('e', 3_000)];
      await store.writeBatch(group, [c as FeatureRow, a as FeatureRow, b as FeatureRow]);
      expect(await at(store, group, 'e', 999)).toBeNull();
      expect(await at(store, group, 'e', 1_000)).toEqual(a);
      expect(await at(store, group, 'e', 2_999)).toEqual(b);
      expect(await at(store, group, 'e', 1_000_000)).toEqual(c);
      expect(await at(store, group, 'nobody', 5_000)).toBeNull();
    });

    it('never leaks a value created after t (a later backfill), and applies corrections from their created time', async () => {
      const { store, group } = await open({ ttlSeconds: undefined });
      const original = row('e', 1_000, { createdTime: 1_000, values: { amount: 1, count: 1, label: 'original', flag: false } });
      const correction = row('e', 1_000, {
        createdTime: 5_000,
        values: { amount: 2, count: 2, label: 'correction', flag: true },
      });
      const backfill = row('e', 2_000, { createdTime: 9_000, values: { amount: 3, count: 3, label: 'backfill', flag: true } });
      await store.writeBatch(group, [backfill, correction, original]);
      expect((await at(store, group, 'e', 4_999))?.values.label).toBe('original');
      expect((await at(store, group, 'e', 5_000))?.values.label).toBe('correction');
      expect((await at(store, group, 'e', 8_999))?.values.label).toBe('correction');
      expect((await at(store, group, 'e', 9_000))?.values.label).toBe('backfill');
    });

    it('respects the TTL: a value is valid from its event time until event time + TTL (exclusive)', async () => {
      const { store, group } = await open({ ttlSeconds: 1 });
      await store.writeBatch(group, [row('e', 10_000), row('e', 10_500)]);
      expect((await at(store, group, 'e', 10_400))?.eventTime).toBe(10_000);
      expect((await at(store, group, 'e', 11_400))?.eventTime).toBe(10_500);
      expect((await at(store, group, 'e', 11_499))?.eventTime).toBe(10_500);
      expect(await at(store, group, 'e', 11_500)).toBeNull();
      // An expired newest value does not resurrect an older one.
      expect(await at(store, group, 'e', 20_000)).toBeNull();
    });

    it('breaks equal times by event id, and a newer null beats an older value', async () => {
      const { store, group } = await open();
      const low = row('e', 1_000, { eventId: '10000000-0000-4000-8000-000000000000' });
      const high = row('e', 1_000, { eventId: '20000000-0000-4000-8000-000000000000' });
      const nulled = row('n', 2_000, { values: { amount: null, count: 0, label: '', flag: false } });
      await store.writeBatch(group, [high, low, row('n', 1_000), nulled]);
      expect((await at(store, group, 'e', 1_500))?.eventId).toBe(high.eventId);
      expect((await at(store, group, 'n', 2_500))?.values).toEqual(nulled.values);
    });

    it('keeps query order, repeats and feature subsets; getHistoricalFeatures joins groups by entity', async () => {
      const { store, group } = await open();
      const other = testGroup('off2', { entity: 'merchant', ttlSeconds: undefined });
      groups.push(other);
      await store.ensure(other);
      await store.writeBatch(group, [row('c1', 1_000), row('c1', 3_000), row('c2', 2_000)]);
      await store.writeBatch(other, [row('m1', 500, { values: { amount: 9, count: 9, label: 'risky', flag: true } })]);
      const answers = await store.pointInTime(
        group,
        [
          { entityId: 'c1', timestamp: 3_500 },
          { entityId: 'c2', timestamp: 1_000 },
          { entityId: 'c1', timestamp: 1_500 },
          { entityId: 'c1', timestamp: 3_500 },
        ],
        ['label'],
      );
      expect(answers.map((a) => a?.values ?? null)).toEqual([{ label: 'v3000' }, null, { label: 'v1000' }, { label: 'v3000' }]);

      const frame = await getHistoricalFeatures(
        store,
        new FeatureRegistry([group, other]),
        [
          { entity: { card: 'c1', merchant: 'm1' }, timestamp: 2_000 },
          { entity: { card: 'c2', merchant: 'm1' }, timestamp: new Date(400) },
        ],
        [`${group.name}:count`, `${other.name}:label`],
      );
      expect(frame).toEqual([
        {
          entity: { card: 'c1', merchant: 'm1' },
          timestamp: 2_000,
          values: { [`${group.name}:count`]: 1_000, [`${other.name}:label`]: 'risky' },
          eventTimes: { [group.name]: 1_000, [other.name]: 500 },
          missing: [],
        },
        {
          entity: { card: 'c2', merchant: 'm1' },
          timestamp: 400,
          values: { [`${group.name}:count`]: null, [`${other.name}:label`]: null },
          eventTimes: { [group.name]: null, [other.name]: null },
          missing: [`${group.name}:count`, `${other.name}:label`],
        },
      ]);
    });

    it('takes hostile entity ids as data: quotes, backslashes, comments, newlines, NUL, unicode', async () => {
      const { store, group } = await open({ ttlSeconds: undefined });
      const hostile = [
        "' OR 1=1 --",
        "x'); DROP TABLE features_x; --",
        'back\\slash\\',
        "\\' OR ''='",
        'line\nbreak\r\ttab',
        'nul\0byte',
        '`backtick` "double"',
        'ünï 🦀 /* c */',
        "') UNION ALL SELECT 1 --",
      ];
      await store.writeBatch(
        group,
        hostile.map((id, i) => row(id, 1_000 + i, { values: { amount: i, count: i, label: id, flag: true } })),
      );
      const answers = await store.pointInTime(
        group,
        hostile.map((entityId) => ({ entityId, timestamp: 10_000 })),
      );
      expect(answers.map((a) => a?.entityId)).toEqual(hostile);
      expect(answers.map((a) => a?.values.label)).toEqual(hostile);
      expect(await store.count(group)).toBe(hostile.length);
      await expect(store.pointInTime(group, [{ entityId: 'x', timestamp: Number.NaN }])).rejects.toMatchObject({
        code: 'BAD_REQUEST',
      });
      await expect(
        store.pointInTime(group, [{ entityId: 'x', timestamp: '0) OR (1=1' as unknown as number }]),
      ).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    });

    it('answers large frames (chunked) and gives the newest row per entity', async () => {
      const { store, group } = await open({ ttlSeconds: undefined });
      const rows: FeatureRow[] = [];
      for (let e = 0; e < 300; e++) for (let t = 1; t <= 5; t++) rows.push(row(`entity-${e}`, t * 1_000 + e));
      await store.writeBatch(group, rows);
      const queries = Array.from({ length: 4_500 }, (_, i) => ({
        entityId: `entity-${i % 300}`,
        timestamp: 1_000 + (i % 5) * 1_000 + 999,
      }));
      const answers = await store.pointInTime(group, queries, ['count']);
      // Entity e has events at t·1000 + e (t = 1..5); at (k+1)·1000 + 999 the newest is t = k+1.
      answers.forEach((answer, i) => {
        expect(answer?.values.count, `query ${i}`).toBe(((i % 5) + 1) * 1_000 + (i % 300));
      });
      const latest: FeatureRow[] = [];
      for await (const page of store.latest(group)) latest.push(...page);
      expect(latest).toHaveLength(300);
      for (const newest of latest) expect(newest.eventTime).toBe(5_000 + Number(newest.entityId.slice('entity-'.length)));
    });
  });
}
