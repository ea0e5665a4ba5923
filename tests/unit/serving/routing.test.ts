import { describe, expect, it } from 'vitest';
import type { TrafficPolicy } from '../../../schemas/index.ts';
import { BUCKETS, bucket, canarySalt, fnv1a32, route, versionsToServe } from '../../../serving/routing.ts';

const base: TrafficPolicy = { production_version: '1.0.0', canary: null, ab_split: null, shadow_versions: [] };
const entities = Array.from({ length: 20_000 }, (_, i) => `card-${i}`);

describe('routing', () => {
  it('hashes with FNV-1a 32 (reference values) and stable buckets', () => {
    // Published FNV-1a 32-bit test vectors.
    expect(fnv1a32(new TextEncoder().encode(''))).toBe(0x811c9dc5);
    expect(fnv1a32(new TextEncoder().encode('a'))).toBe(0xe40c292c);
    expect(fnv1a32(new TextEncoder().encode('foobar'))).toBe(0xbf9cf968);
    // Pinned buckets: a change here would silently move live traffic between versions.
    expect([
      bucket('s', 'card-1'),
      bucket('s', 'card-2'),
      bucket('ab:2.0.0', 'card-42'),
      bucket(canarySalt('1.1.0'), 'é'),
    ]).toEqual([7274, 2203, 5803, 7865]);
    for (const id of entities.slice(0, 100)) expect(bucket('salt', id)).toBe(bucket('salt', id));
    expect(entities.every((id) => bucket('x', id) >= 0 && bucket('x', id) < BUCKETS)).toBe(true);
  });

  it('sends everyone to production without experiments, and nobody when there is no production', () => {
    expect(route(base, 'card-1')).toEqual({ primary: { version: '1.0.0', variant: 'PRODUCTION' }, shadows: [] });
    expect(route({ ...base, production_version: null }, 'card-1')).toBeNull();
  });

  it('splits canary and A/B shares within 1.5 points of the target, and independently', () => {
    const policy: TrafficPolicy = {
      ...base,
      canary: { version: '1.1.0', percent: 10 },
      ab_split: { version: '2.0.0', percent: 30, salt: 'exp-7' },
    };
    const counts = { PRODUCTION: 0, CANARY: 0, CHALLENGER: 0 } as Record<string, number>;
    for (const id of entities) {
      const decision = route(policy, id);
      counts[decision?.primary.variant as string] = (counts[decision?.primary.variant as string] ?? 0) + 1;
    }
    const share = (n: number) => (100 * n) / entities.length;
    expect(Math.abs(share(counts.CANARY as number) - 10)).toBeLessThan(1.5);
    // The challenger gets 30 % of the 90 % outside the canary.
    expect(Math.abs(share(counts.CHALLENGER as number) - 27)).toBeLessThan(1.5);
    expect(Math.abs(share(counts.PRODUCTION as number) - 63)).toBeLessThan(1.5);
  });

  it('keeps an entity on its side, and a canary ramp only adds entities', () => {
    const at = (percent: number) =>
      new Set(
        entities.filter((id) => route({ ...base, canary: { version: '1.1.0', percent } }, id)?.primary.variant === 'CANARY'),
      );
    const five = at(5);
    const twenty = at(20);
    for (const id of five) expect(twenty.has(id)).toBe(true);
    expect(at(5)).toEqual(five);
    expect(at(100).size).toBe(entities.length);
  });

  it('reshuffles with a new salt, scores shadows for every request, and lists versions to load', () => {
    const a = entities.filter(
      (id) => route({ ...base, ab_split: { version: '2.0.0', percent: 50, salt: 'one' } }, id)?.primary.variant === 'CHALLENGER',
    );
    const b = new Set(
      entities.filter(
        (id) =>
          route({ ...base, ab_split: { version: '2.0.0', percent: 50, salt: 'two' } }, id)?.primary.variant === 'CHALLENGER',
      ),
    );
    const overlap = a.filter((id) => b.has(id)).length / a.length;
    expect(overlap).toBeGreaterThan(0.45);
    expect(overlap).toBeLessThan(0.55);
    const shadowed = { ...base, shadow_versions: ['3.0.0'], canary: { version: '1.1.0', percent: 50 } };
    expect(route(shadowed, 'card-9')?.shadows).toEqual([{ version: '3.0.0', variant: 'SHADOW' }]);
    expect(versionsToServe(shadowed)).toEqual(['1.0.0', '1.1.0', '3.0.0']);
  });
});
