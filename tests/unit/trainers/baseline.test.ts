import { describe, expect, it } from 'vitest';
import { binIndex } from '../../../kernel/binning.ts';
import { booleanBaseline, categoricalBaseline, computeBaseline, numericBaseline } from '../../../trainers/baseline.ts';

describe('drift baseline', () => {
  it('cuts numeric quantile edges and counts proportions with the contract rule (edges[i-1] ≤ v < edges[i])', () => {
    const values = Array.from({ length: 100 }, (_, i) => i); // 0..99
    const b = numericBaseline('x', values, 4);
    expect(b).toMatchObject({
      feature: 'x',
      kind: 'NUMERIC',
      bin_edges: [25, 50, 75],
      min: 0,
      max: 99,
      null_rate: 0,
      count: 100,
    });
    expect(b.proportions).toEqual([0.25, 0.25, 0.25, 0.25]);
    expect([
      binIndex(b.bin_edges, 24.9),
      binIndex(b.bin_edges, 25),
      binIndex(b.bin_edges, 99),
      binIndex(b.bin_edges, -5),
    ]).toEqual([0, 1, 3, 0]);
  });

  it('deduplicates edges of discrete features and drops an edge at the minimum; nulls are a rate, not a bin', () => {
    // 60% zeros, 30% ones, 10% twos, plus nulls.
    const values = [...Array(60).fill(0), ...Array(30).fill(1), ...Array(10).fill(2), Number.NaN, Number.NaN];
    const b = numericBaseline('n', values, 10);
    expect(b.bin_edges).toEqual([1, 2]);
    expect(b.proportions.map((p) => Number(p.toFixed(2)))).toEqual([0.6, 0.3, 0.1]);
    expect(b.null_rate).toBeCloseTo(2 / 102, 12);
    expect(b.count).toBe(100);
  });

  it('a constant feature is one bin; an all-null one has count 0', () => {
    expect(numericBaseline('c', [3, 3, 3], 10)).toMatchObject({ bin_edges: [], proportions: [1], min: 3, max: 3 });
    expect(numericBaseline('z', [Number.NaN], 10)).toMatchObject({ count: 0, null_rate: 1, proportions: [1] });
  });

  it('categorical: frequencies, most frequent first, and a last bin for the rest and unseen categories', () => {
    const b = categoricalBaseline('cat', ['a', 'b', 'a', 'c', null, 'a', 'b', 'd'], { maxCategories: 2 });
    expect(b).toMatchObject({ kind: 'CATEGORICAL', categories: ['a', 'b'], bin_edges: [], count: 7 });
    expect(b.proportions).toEqual([3 / 7, 2 / 7, 2 / 7]);
    expect(b.null_rate).toBe(1 / 8);
    expect(booleanBaseline('flag', [1, 0, 1, 1])).toMatchObject({ categories: ['false', 'true'], proportions: [0.25, 0.75, 0] });
  });

  it('covers every input and the score', () => {
    const baseline = computeBaseline(
      [
        { name: 'amount', type: 'DOUBLE', values: [1, 2, 3, 4] },
        { name: 'card_present', type: 'BOOLEAN', values: [1, 0, 0, 0] },
      ],
      { name: 'probability', values: [0.1, 0.2, 0.3, 0.9] },
    );
    expect(baseline.features.map((f) => [f.feature, f.kind])).toEqual([
      ['amount', 'NUMERIC'],
      ['card_present', 'CATEGORICAL'],
    ]);
    expect(baseline.prediction).toMatchObject({ feature: 'probability', kind: 'NUMERIC', min: 0.1, max: 0.9 });
  });
});
