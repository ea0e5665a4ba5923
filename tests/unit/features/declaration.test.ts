import { describe, expect, it } from 'vitest';
import { cardActivity, fraud, merchantRisk } from '../../../examples/fraud/index.ts';
import {
  compareVersions,
  defineFeatureGroup,
  expiresAt,
  groupProblems,
  isExpired,
  newestPerEntity,
  parseFeatureRef,
  rowFromEvent,
} from '../../../features/declaration.ts';
import { FeatureRegistry } from '../../../features/registry.ts';
import { featureGroupSchema } from '../../../schemas/index.ts';
import { row, testGroup } from '../../support/feature-groups.ts';

describe('feature group declarations', () => {
  it('declares the demo groups, frozen, each deriving an Avro schema', () => {
    expect(fraud.features.list().map((g) => g.name)).toEqual(['card_activity', 'merchant_risk']);
    expect(Object.isFrozen(cardActivity) && Object.isFrozen(cardActivity.features)).toBe(true);
    expect(featureGroupSchema(merchantRisk).fields.map((f) => f.name)).toEqual([
      'entity_id',
      'chargeback_rate_30d',
      'txn_count_30d',
      'category',
      'event_time',
      'created_time',
      'event_id',
    ]);
  });

  it('refuses a bad TTL along with the schema rules', () => {
    expect(groupProblems(testGroup('x', { ttlSeconds: 0 }))[0]).toMatch(/ttlSeconds/);
    expect(groupProblems(testGroup('x', { ttlSeconds: 1.5 }))).toHaveLength(1);
    expect(() => defineFeatureGroup({ ...testGroup('x'), name: 'Bad Name' })).toThrow(/snake_case/);
    expect(() => new FeatureRegistry([cardActivity, cardActivity])).toThrow(/declared twice/);
  });

  it('orders versions by event time, then created time, then event id byte-wise', () => {
    const v = (eventTime: number, createdTime: number, eventId: string) => ({ eventTime, createdTime, eventId });
    expect(compareVersions(v(2, 0, 'a'), v(1, 9, 'z'))).toBeGreaterThan(0);
    expect(compareVersions(v(1, 2, 'a'), v(1, 1, 'z'))).toBeGreaterThan(0);
    expect(compareVersions(v(1, 1, 'b'), v(1, 1, 'a'))).toBeGreaterThan(0);
    expect(compareVersions(v(1, 1, 'a'), v(1, 1, 'a'))).toBe(0);
    // Byte order, not locale order: 'Z' (0x5a) < 'a' (0x61), '-' (0x2d) < '0' (0x30), 'é' (0xc3..) > 'z'.
    expect(compareVersions(v(1, 1, 'Z'), v(1, 1, 'a'))).toBeLessThan(0);
    expect(compareVersions(v(1, 1, 'a-b'), v(1, 1, 'a0'))).toBeLessThan(0);
    expect(compareVersions(v(1, 1, 'é'), v(1, 1, 'z'))).toBeGreaterThan(0);
  });

  it('keeps the newest row per entity', () => {
    const rows = [row('a', 1), row('a', 3), row('b', 1), row('a', 2)];
    expect(newestPerEntity(rows).map((r) => [r.entityId, r.eventTime])).toEqual([
      ['a', 3],
      ['b', 1],
    ]);
  });

  it('expires a row at event time + TTL', () => {
    const group = testGroup('x', { ttlSeconds: 10 });
    expect(expiresAt(group, { eventTime: 1_000 })).toBe(11_000);
    expect(isExpired(group, { eventTime: 1_000 }, 10_999)).toBe(false);
    expect(isExpired(group, { eventTime: 1_000 }, 11_000)).toBe(true);
    expect(isExpired({ ttlSeconds: undefined }, { eventTime: 0 }, Number.MAX_SAFE_INTEGER)).toBe(false);
  });

  it('parses feature references and resolves them against the registry', () => {
    expect(parseFeatureRef('card_activity:txn_count_1h')).toEqual({ group: 'card_activity', feature: 'txn_count_1h' });
    for (const bad of ['card_activity', 'a:b:c', "x:y' OR 1", ':x', 'A:b'])
      expect(() => parseFeatureRef(bad)).toThrow(/group:feature/);
    const registry = fraud.features;
    expect(registry.resolve(['card_activity:txn_count_1h', 'merchant_risk:category', 'card_activity:txn_count_1h'])).toEqual([
      { group: cardActivity, features: ['txn_count_1h'] },
      { group: merchantRisk, features: ['category'] },
    ]);
    expect(() => registry.resolve(['card_activity:nope', 'nogroup:x'])).toThrow(/card_activity:nope .*nogroup:x/);
    expect(() => registry.get('nogroup')).toThrow(expect.objectContaining({ code: 'NOT_FOUND' }));
    expect(registry.byTopic('features.merchant_risk')).toBe(merchantRisk);
  });

  it('checks decoded events: entity, key, times, id and every value', () => {
    const group = testGroup('x');
    const event = {
      entity_id: 'e',
      amount: 1.5,
      count: 2,
      label: 'l',
      flag: true,
      event_time: 10,
      created_time: 11,
      event_id: 'id',
    };
    expect(rowFromEvent(group, event, 'e')).toEqual({
      row: {
        entityId: 'e',
        eventTime: 10,
        createdTime: 11,
        eventId: 'id',
        values: { amount: 1.5, count: 2, label: 'l', flag: true },
      },
    });
    const reason = (patch: Record<string, unknown>, key: string | null = 'e') => {
      const result = rowFromEvent(group, { ...event, ...patch }, key);
      return 'reason' in result ? result.reason : 'ok';
    };
    expect(reason({ entity_id: '' })).toMatch(/missing entity/);
    expect(reason({}, 'other')).toMatch(/key "other" but entity_id is "e"/);
    expect(reason({}, null)).toMatch(/key is missing/);
    expect(reason({ event_time: -1 })).toMatch(/event_time/);
    expect(reason({ created_time: 1.5 })).toMatch(/created_time/);
    expect(reason({ event_id: '' })).toMatch(/event_id/);
    expect(reason({ amount: Number.NaN })).toMatch(/finite double/);
    expect(reason({ amount: null })).toBe('ok');
    expect(reason({ count: null })).toMatch(/not nullable/);
    expect(reason({ count: 2 ** 60 })).toMatch(/integer/);
    expect(reason({ label: 5 })).toMatch(/string/);
    expect(reason({ flag: 'yes' })).toMatch(/boolean/);
  });
});
