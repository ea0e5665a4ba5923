import { describe, expect, it } from 'vitest';
import { CAS_REPLIES, CAS_SCRIPT, decide } from '../../../features/online/cas.ts';
import {
  casArguments,
  decodeValue,
  encodeValue,
  entityIdOf,
  entityKey,
  groupPattern,
  groupsKey,
  rowFromFields,
} from '../../../features/online/layout.ts';
import { row, testGroup } from '../../support/feature-groups.ts';

describe('Redis layout', () => {
  const group = testGroup('layout');

  it('keys one hash per group and entity under a prefix', () => {
    expect(entityKey('rheo:features', 'card_activity', 'card-1')).toBe('rheo:features:card_activity:card-1');
    expect(entityIdOf('rheo:features', 'card_activity', 'rheo:features:card_activity:a:b:c')).toBe('a:b:c');
    expect(groupsKey('rheo:features')).toBe('rheo:features:_groups');
    expect(groupPattern('p*[x]', 'g')).toBe('p\\*\\[x\\]:g:*');
  });

  it('encodes values as strings and decodes them by declared type, null as absent', () => {
    expect([1.5, 42, 'x', true, false, null].map(encodeValue)).toEqual(['1.5', '42', 'x', '1', '0', null]);
    expect(decodeValue({ type: 'double' }, String(0.1 + 0.2))).toBe(0.1 + 0.2);
    expect(decodeValue({ type: 'long' }, String(Number.MAX_SAFE_INTEGER))).toBe(Number.MAX_SAFE_INTEGER);
    expect(decodeValue({ type: 'boolean' }, '0')).toBe(false);
    expect(decodeValue({ type: 'string' }, '')).toBe('');
    expect(decodeValue({ type: 'string' }, null)).toBeNull();
  });

  it('passes the row to the CAS script as event time, created time, id, TTL, then non-null fields', () => {
    const r = row('e', 1_000, {
      createdTime: 1_500,
      eventId: 'id-1',
      values: { amount: null, count: 3, label: 'a', flag: true },
    });
    expect(casArguments(r, group.features, 60_000)).toEqual([
      '1000',
      '1500',
      'id-1',
      '60000',
      'count',
      '3',
      'label',
      'a',
      'flag',
      '1',
    ]);
    expect(casArguments(r, group.features, undefined)[3]).toBe('0');
  });

  it('reads a row back from HMGET fields, or null when the entity has none', () => {
    expect(rowFromFields('e', group.features, ['1000', '1500', 'id-1', null, '3', 'a', '1'])).toEqual({
      entityId: 'e',
      eventTime: 1_000,
      createdTime: 1_500,
      eventId: 'id-1',
      values: { amount: null, count: 3, label: 'a', flag: true },
    });
    expect(rowFromFields('e', group.features, [null, null, null, null, null, null, null])).toBeNull();
  });
});

describe('compare-and-set decision', () => {
  const v = (eventTime: number, createdTime = eventTime, eventId = 'a') => ({ eventTime, createdTime, eventId });

  it('accepts a first write and anything newer; refuses late events; spots redeliveries', () => {
    expect(decide(null, v(1))).toBe('accepted');
    expect(decide(v(1), v(2))).toBe('accepted');
    expect(decide(v(2), v(1))).toBe('stale');
    expect(decide(v(2), v(2))).toBe('duplicate');
  });

  it('lets a correction (same event time, later created time) win, and not an older one', () => {
    expect(decide(v(5, 10), v(5, 20))).toBe('accepted');
    expect(decide(v(5, 20), v(5, 10))).toBe('stale');
    // A later-created event for an older event time still loses: event time decides first.
    expect(decide(v(5, 10), v(4, 99))).toBe('stale');
  });

  it('resolves equal times by event id, the same whichever arrives first', () => {
    expect(decide(v(5, 5, 'a'), v(5, 5, 'b'))).toBe('accepted');
    expect(decide(v(5, 5, 'b'), v(5, 5, 'a'))).toBe('stale');
  });

  it('is the Lua script the Redis adapter runs: one HMGET, byte-wise ids, DEL before HSET, expiry from event time', () => {
    expect(CAS_SCRIPT).toContain("redis.call('HMGET', key, '_et', '_ct', '_id')");
    expect(CAS_SCRIPT).toContain('string.byte');
    expect(CAS_SCRIPT.indexOf("redis.call('DEL', key)")).toBeLessThan(CAS_SCRIPT.indexOf("redis.call('HSET'"));
    expect(CAS_SCRIPT).toContain("redis.call('PEXPIREAT', key, string.format('%d', et + ttl))");
    expect(CAS_REPLIES).toEqual({ 0: 'stale', 1: 'accepted', 2: 'duplicate' });
  });
});
