import { describe, expect, it } from 'vitest';
import { emptyState, type Fragment, fragmentKey, step } from '../../../../processors/drift/transform.ts';
import { lookup, MODEL, ok, prediction, records, VERSION } from './helpers.ts';

const MIN = 60_000;
const spec = { sizeMs: MIN, slideMs: MIN, latenessMs: 10_000 };

describe('drift transform (one partition)', () => {
  it('counts bins, nulls and out-of-range values per feature and for the score', () => {
    const out = step(
      emptyState(),
      records([
        ok(prediction(1_000, { amount: 5, category: 'a' }, 0.2)),
        ok(prediction(2_000, { amount: 15, category: 'b' }, 0.7)),
        ok(prediction(3_000, { amount: 150, category: 'zzz' }, 0.1)),
        ok(prediction(4_000, { amount: null }, 0.3)),
      ]),
      lookup,
      spec,
    );
    const fragment = out.write?.state.open[fragmentKey(MODEL, VERSION, 0)] as Fragment;
    expect(fragment).toMatchObject({ start: 0, end: MIN, records: 4, late: 0 });
    expect(fragment.features.amount).toEqual({ c: [1, 1, 1], n: 1, o: 1 });
    expect(fragment.features.category).toEqual({ c: [1, 1, 1], n: 1, o: 1 });
    expect(fragment.prediction).toEqual({ c: [3, 1], n: 0, o: 0 });
    expect(out.write).toMatchObject({ base: null, sealed: [], state: { next: '4', maxT: 4_000 } });
  });

  it('leaves the input state untouched (pure) and skips records it already applied', () => {
    const first = step(emptyState(), records([ok(prediction(1_000, { amount: 5 }))]), lookup, spec);
    const state = first.write?.state ?? emptyState();
    const snapshot = structuredClone(state);
    // Offsets 0..2 redelivered after a crash: 0 was applied, 1 and 2 are new.
    const again = step(
      state,
      records([
        ok(prediction(1_000, { amount: 5 })),
        ok(prediction(1_500, { amount: 15 })),
        ok(prediction(1_600, { amount: 25 })),
      ]),
      lookup,
      spec,
    );
    expect(state).toEqual(snapshot);
    expect(again.stats).toMatchObject({ applied: 2, skipped: 1 });
    expect(again.write?.base).toBe('1');
    expect(again.write?.state.open[fragmentKey(MODEL, VERSION, 0)]?.features.amount?.c).toEqual([1, 1, 1]);
    // A chunk entirely redelivered changes nothing.
    expect(
      step(again.write?.state ?? emptyState(), records([ok(prediction(1_000, { amount: 5 }))], 2), lookup, spec).write,
    ).toBeNull();
  });

  it('accepts events within the allowed lateness, counts later ones as late in the newest window', () => {
    const out = step(
      emptyState(),
      records([
        ok(prediction(1_000, { amount: 5 })), // window 0
        ok(prediction(65_000, { amount: 5 })), // window 1; time 65 s
        ok(prediction(59_000, { amount: 15 })), // window 0 closes at 60 s + 10 s lateness: still in
        ok(prediction(71_000, { amount: 5 })), // time 71 s: window 0 is closed
        ok(prediction(59_500, { amount: 25 })), // too late: counted as late in window 1, not in window 0's bins
      ]),
      lookup,
      spec,
    );
    expect(out.stats.late).toBe(1);
    const sealed = out.write?.sealed ?? [];
    expect(sealed.map((f) => [f.start, f.records, f.late])).toEqual([[0, 2, 0]]);
    expect(sealed[0]?.features.amount?.c).toEqual([1, 1, 0]);
    const open = out.write?.state.open[fragmentKey(MODEL, VERSION, MIN)] as Fragment;
    expect([open.records, open.late]).toEqual([2, 1]);
  });

  it('closes windows on event time only, at the exact boundary', () => {
    const out = step(
      emptyState(),
      records([ok(prediction(MIN - 1, { amount: 5 })), ok(prediction(MIN + 9_999, { amount: 5 }))]),
      lookup,
      spec,
    );
    expect(out.write?.sealed).toEqual([]);
    const next = step(out.write?.state ?? emptyState(), records([ok(prediction(MIN + 10_000, { amount: 5 }))], 2), lookup, spec);
    expect(next.write?.sealed.map((f) => f.start)).toEqual([0]);
    expect(next.write?.crossed).toBe(true);
    // Time moving within the same slot completes nothing: no reporting pass is needed.
    const quiet = step(
      next.write?.state ?? emptyState(),
      records([ok(prediction(MIN + 10_500, { amount: 5 }))], 3),
      lookup,
      spec,
    );
    expect(quiet.write?.crossed).toBe(false);
  });

  it('refuses undecodable records (dead-lettered) and counts them per slot; versions without baseline only move time', () => {
    const out = step(
      emptyState(),
      records([
        ok(prediction(1_000, { amount: 5 })),
        { ok: false, reason: 'not Avro' },
        ok(prediction(200_000, { amount: 5 }, 0.1, '9.9.9')),
      ]),
      lookup,
      spec,
    );
    expect(out.rejected).toEqual([expect.objectContaining({ code: 'SCHEMA_DECODE_FAILED', reason: 'not Avro' })]);
    expect(out.stats).toMatchObject({ undecodable: 1, unbaselined: 1 });
    expect(out.write?.sealedDlq).toEqual([{ slot: 0, count: 1 }]);
    expect(out.write?.sealed.map((f) => f.start)).toEqual([0]);
    expect(out.write?.state.maxT).toBe(200_000);
  });

  it('gives the same state whatever the chunking', () => {
    const inputs = Array.from({ length: 40 }, (_, i) => ok(prediction(i * 7_000 - (i % 3) * 9_000, { amount: i % 30 })));
    const whole = step(emptyState(), records(inputs), lookup, spec).write;
    let state = emptyState();
    const sealed: Fragment[] = [];
    for (let i = 0; i < inputs.length; i += 7) {
      const w = step(state, records(inputs.slice(i, i + 7), i), lookup, spec).write;
      if (!w) continue;
      state = w.state;
      sealed.push(...w.sealed);
    }
    expect(state.open).toEqual(whole?.state.open);
    const byStart = (a: Fragment, b: Fragment) => a.start - b.start;
    expect(sealed.sort(byStart)).toEqual([...(whole?.sealed ?? [])].sort(byStart));
    expect(sealed.length).toBeGreaterThan(3);
  });
});
