import { describe, expect, it } from 'vitest';
import { CAS_REPLIES, CAS_SCRIPT, decide } from '../../../features/online/cas.ts';
import { decodeEntry, encodeEntry, entityIdOf, entityKey, groupPattern, groupsKey } from '../../../features/online/layout.ts';
import { row, testGroup } from '../../support/feature-groups.ts';

describe('Redis layout', () => {
  const group = testGroup('layout');

  it('keys one entry per group and entity under a prefix', () => {
    expect(entityKey('rheo:features', 'card_activity', 'card-1')).toBe('rheo:features:card_activity:card-1');
    expect(entityIdOf('rheo:features', 'card_activity', 'rheo:features:card_activity:a:b:c')).toBe('a:b:c');
    expect(groupsKey('rheo:features')).toBe('rheo:features:_groups');
    expect(groupPattern('p*[x]', 'g')).toBe('p\\*\\[x\\]:g:*');
  });

  it('stores a version header (event time, created time, id length and id) then the values as JSON', () => {
    const r = row('e', 1_000, {
      createdTime: 1_500,
      eventId: 'id-1',
      values: { amount: null, count: 3, label: 'a', flag: true },
    });
    expect(encodeEntry(r, group.features)).toBe('1000|1500|4:id-1{"amount":null,"count":3,"label":"a","flag":true}');
    expect(decodeEntry('e', group.features, encodeEntry(r, group.features))).toEqual(r);
  });

  it('round-trips ids and values with any characters, counting id length in UTF-8 bytes like Lua', () => {
    const r = row('e', 1, {
      eventId: 'ü|9:{"x"',
      values: { amount: 0.1 + 0.2, count: Number.MAX_SAFE_INTEGER, label: '}{|\n', flag: false },
    });
    const text = encodeEntry(r, group.features);
    expect(text.startsWith('1|1|9:ü|9:{"x"{')).toBe(true);
    expect(decodeEntry('e', group.features, text)).toEqual(r);
  });

  it('reads a feature declared after the entry was written as its default, and keeps only the features asked for', () => {
    const old = '5|5|1:x{"amount":1.5}';
    expect(decodeEntry('e', group.features, old)?.values).toEqual({ amount: 1.5, count: 0, label: null, flag: null });
    expect(decodeEntry('e', group.features.slice(0, 1), old)?.values).toEqual({ amount: 1.5 });
    expect(decodeEntry('e', group.features, null)).toBeNull();
    expect(decodeEntry('e', group.features, 'garbage')).toBeNull();
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

  it('is the Lua script the Redis adapter runs: GET the header, SET the entry with its expiry, byte-wise ids', () => {
    expect(CAS_SCRIPT).toContain("redis.pcall('GET', key)");
    expect(CAS_SCRIPT).toContain("redis.call('SET', key, entry, 'PXAT', string.format('%d', et + ttl))");
    expect(CAS_SCRIPT).toContain('string.byte');
    expect(CAS_SCRIPT).not.toMatch(/id\s*<\s*cid/);
    expect(CAS_REPLIES).toEqual({ 0: 'stale', 1: 'accepted', 2: 'duplicate' });
  });
});
