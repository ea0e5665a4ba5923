/** Compiling a registered baseline into the drift reader's binner; the bin rules and the writer–reader agreement are tested in `tests/unit/kernel/binning.test.ts`. */
import { describe, expect, it } from 'vitest';
import { compileBinner } from '../../../../processors/drift/binning.ts';
import type { FeatureBaseline } from '../../../../schemas/index.ts';
import { categoricalBaseline } from '../../../../trainers/baseline.ts';

const numeric = (edges: number[], proportions: number[], extra: Partial<FeatureBaseline> = {}): FeatureBaseline => ({
  feature: 'amount',
  kind: 'NUMERIC',
  bin_edges: edges,
  categories: [],
  proportions,
  min: null,
  max: null,
  null_rate: 0,
  count: 100,
  ...extra,
});

describe('numeric bins', () => {
  it('counts nulls, non-numbers and out-of-range values apart; booleans are 1/0', () => {
    const binner = compileBinner(numeric([10, 20], [0.3, 0.4, 0.3], { min: 0, max: 50 }));
    expect(binner.bins).toBe(3);
    expect(binner.place(null)).toBeNull();
    expect(binner.place(undefined)).toBeNull();
    expect(binner.place('12')).toBeNull();
    expect(binner.place(Number.NaN)).toBeNull();
    expect(binner.place(15)).toEqual({ bin: 1, outOfRange: false });
    expect(binner.place(-3)).toEqual({ bin: 0, outOfRange: true });
    expect(binner.place(51)).toEqual({ bin: 2, outOfRange: true });
    expect(binner.place(true)).toEqual({ bin: 0, outOfRange: false });
  });

  it('refuses inconsistent baselines', () => {
    expect(() => compileBinner(numeric([10, 10], [0.3, 0.4, 0.3]))).toThrow(/ascending/);
    expect(() => compileBinner(numeric([10], [1]))).toThrow(/2 proportions/);
  });
});

describe('categorical bins', () => {
  it('reads booleans, and 1/0 for boolean categories, as `true`/`false`', () => {
    const binner = compileBinner(categoricalBaseline('flag', ['true', 'false', 'false'], { categories: ['false', 'true'] }));
    expect([true, false, 1, 0, 0.7].map((v) => binner.place(v)?.bin)).toEqual([1, 0, 1, 0, 1]);
  });

  it('has a bin per category plus one for unseen values (out of range)', () => {
    const binner = compileBinner(categoricalBaseline('category', ['a', 'b', 'b', 'c', 'b', null]));
    expect(binner.categories).toEqual(['b', 'a', 'c']);
    expect(binner.expected).toEqual([0.6, 0.2, 0.2, 0]);
    expect(binner.place('a')).toEqual({ bin: 1, outOfRange: false });
    expect(binner.place('zzz')).toEqual({ bin: 3, outOfRange: true });
    expect(binner.place(null)).toBeNull();
  });

  it('accepts a baseline without the unseen bin and gives it an empty one', () => {
    const binner = compileBinner({ ...categoricalBaseline('c', ['x', 'y']), proportions: [0.5, 0.5] });
    expect(binner.expected).toEqual([0.5, 0.5, 0]);
  });
});
