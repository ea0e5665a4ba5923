/** The trainer's baseline in the contract's terms; the binning rules themselves are tested in `tests/unit/kernel/binning.test.ts`. */
import { describe, expect, it } from 'vitest';
import { booleanBaseline, categoricalBaseline, computeBaseline, numericBaseline } from '../../../trainers/baseline.ts';

describe('drift baseline', () => {
  it('numeric: quantile edges, proportions, min, max, null rate and count as a FeatureBaseline', () => {
    const values = [...Array.from({ length: 100 }, (_, i) => i), Number.NaN]; // 0..99 and a null
    expect(numericBaseline('x', values, 4)).toEqual({
      feature: 'x',
      kind: 'NUMERIC',
      bin_edges: [25, 50, 75],
      categories: [],
      proportions: [0.25, 0.25, 0.25, 0.25],
      min: 0,
      max: 99,
      null_rate: 1 / 101,
      count: 100,
    });
    expect(numericBaseline('z', [Number.NaN], 10)).toMatchObject({ count: 0, null_rate: 1, proportions: [1], min: null });
  });

  it('categorical: frequencies, most frequent first, and a last bin for the rest and unseen categories', () => {
    expect(categoricalBaseline('cat', ['a', 'b', 'a', 'c', null, 'a', 'b', 'd'], { maxCategories: 2 })).toEqual({
      feature: 'cat',
      kind: 'CATEGORICAL',
      bin_edges: [],
      categories: ['a', 'b'],
      proportions: [3 / 7, 2 / 7, 2 / 7],
      min: null,
      max: null,
      null_rate: 1 / 8,
      count: 7,
    });
    expect(booleanBaseline('flag', [1, 0, 1, 1])).toMatchObject({ categories: ['false', 'true'], proportions: [0.25, 0.75, 0] });
    expect(booleanBaseline('flag', [1, Number.NaN])).toMatchObject({ null_rate: 0.5, count: 1 });
  });

  it('covers every input and the score', () => {
    const baseline = computeBaseline(
      [
        { name: 'amount', type: 'DOUBLE', values: [1, 2, 3, 4] },
        { name: 'card_present', type: 'BOOLEAN', values: [1, 0, 0, 0] },
        { name: 'channel', type: 'STRING', values: ['web', 'app', null] },
      ],
      { name: 'probability', values: [0.1, 0.2, 0.3, 0.9] },
    );
    expect(baseline.features.map((f) => [f.feature, f.kind])).toEqual([
      ['amount', 'NUMERIC'],
      ['card_present', 'CATEGORICAL'],
      ['channel', 'CATEGORICAL'],
    ]);
    expect(baseline.prediction).toMatchObject({ feature: 'probability', kind: 'NUMERIC', min: 0.1, max: 0.9 });
    expect(computeBaseline([], null).prediction).toBeNull();
  });
});
