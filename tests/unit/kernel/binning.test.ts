/** The one bin rule, and that the baseline writer (trainer) and the drift reader count the same bins. */
import { describe, expect, it } from 'vitest';
import {
  binIndex,
  binProportions,
  categoryBins,
  categoryValue,
  numericBins,
  numericValue,
  quantileEdges,
} from '../../../kernel/binning.ts';
import { rng } from '../../../kernel/random.ts';
import { compileBinner } from '../../../processors/drift/binning.ts';
import { booleanBaseline, categoricalBaseline, numericBaseline } from '../../../trainers/baseline.ts';

describe('bin rule', () => {
  it('puts v in bin i when edges[i-1] <= v < edges[i], outer bins open-ended', () => {
    const edges = [10, 20, 30];
    expect([-1e9, 9.999, 10, 19.99, 20, 29, 30, 1e9].map((v) => binIndex(edges, v))).toEqual([0, 0, 1, 1, 2, 2, 3, 3]);
    expect([Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY].map((v) => binIndex(edges, v))).toEqual([0, 3]);
    expect(binIndex([], 5)).toBe(0);
  });

  it('reads finite numbers and booleans as numbers; NaN, infinities, strings and null are null', () => {
    expect([3.5, -0, true, false].map(numericValue)).toEqual([3.5, -0, 1, 0]);
    expect([Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, '12', null, undefined, {}].map(numericValue)).toEqual(
      [null, null, null, null, null, null, null],
    );
  });

  it('reads categories: strings as they are, booleans by name, numbers as true/false only for boolean categories', () => {
    expect(['web', true, false, 1, 0, 0.7, 0.49].map((v) => categoryValue(v, true))).toEqual([
      'web',
      'true',
      'false',
      'true',
      'false',
      'true',
      'false',
    ]);
    expect([2, 0.5].map((v) => categoryValue(v, false))).toEqual(['2', '0.5']);
    expect([Number.NaN, Number.POSITIVE_INFINITY, null, undefined].map((v) => categoryValue(v, true))).toEqual([
      null,
      null,
      null,
      null,
    ]);
  });
});

describe('quantile edges and reference proportions', () => {
  it('cuts at the value of rank ⌊i·n/k⌋ and counts shares with the bin rule', () => {
    const values = Array.from({ length: 100 }, (_, i) => i); // 0..99
    const edges = quantileEdges(values, 4);
    expect(edges).toEqual([25, 50, 75]);
    expect(binProportions(edges, values)).toEqual([0.25, 0.25, 0.25, 0.25]);
    expect(quantileEdges([], 10)).toEqual([]);
    expect(binProportions([], [])).toEqual([1]);
  });

  it('deduplicates edges of discrete features and drops an edge at the minimum; nulls are a rate, not a bin', () => {
    // 60% zeros, 30% ones, 10% twos, plus nulls of every kind.
    const values = [
      ...Array(60).fill(0),
      ...Array(30).fill(1),
      ...Array(10).fill(2),
      Number.NaN,
      Number.POSITIVE_INFINITY,
      Number.NEGATIVE_INFINITY,
    ];
    const bins = numericBins(values, 10);
    expect(bins.edges).toEqual([1, 2]);
    expect(bins.proportions.map((p) => Number(p.toFixed(2)))).toEqual([0.6, 0.3, 0.1]);
    expect(bins).toMatchObject({ min: 0, max: 2, count: 100 });
    expect(bins.nullRate).toBeCloseTo(3 / 103, 12);
  });

  it('a constant sample is one bin; an all-null or empty one has count 0 and everything in its one bin', () => {
    expect(numericBins([3, 3, 3], 10)).toEqual({ edges: [], proportions: [1], min: 3, max: 3, nullRate: 0, count: 3 });
    expect(numericBins([Number.NaN], 10)).toEqual({ edges: [], proportions: [1], min: null, max: null, nullRate: 1, count: 0 });
    expect(numericBins([], 10)).toMatchObject({ proportions: [1], nullRate: 0, count: 0 });
  });

  it('categories: most frequent first (ties by name), capped, with a last bin for the rest', () => {
    const bins = categoryBins(['a', 'b', 'a', 'c', null, 'a', 'b', 'd'], { maxCategories: 2 });
    expect(bins).toMatchObject({ categories: ['a', 'b'], count: 7, nullRate: 1 / 8 });
    expect(bins.proportions).toEqual([3 / 7, 2 / 7, 2 / 7]);
    expect(categoryBins(['y', 'x']).categories).toEqual(['x', 'y']);
    expect(categoryBins([null], { categories: ['false', 'true'] }).proportions).toEqual([0, 0, 1]);
    expect(categoryBins([1, 0, 1, 1, Number.NaN], { categories: ['false', 'true'] })).toEqual({
      categories: ['false', 'true'],
      proportions: [0.25, 0.75, 0],
      nullRate: 0.2,
      count: 4,
    });
  });
});

/** Counts of what the drift reader places, and how many it reads as null. */
function readerCounts(binner: ReturnType<typeof compileBinner>, values: readonly unknown[]) {
  const counts = new Array<number>(binner.bins).fill(0);
  let nulls = 0;
  for (const v of values) {
    const placed = binner.place(v);
    if (placed === null) nulls++;
    else counts[placed.bin] = (counts[placed.bin] as number) + 1;
  }
  return { counts, nulls };
}

describe('writer and reader agree', () => {
  it('on random numeric data with values on the edges, infinities and NaN', () => {
    for (const seed of [1, 11, 42, 2026]) {
      const random = rng(seed);
      const values = Array.from({ length: 5_000 }, () => {
        const u = random();
        if (u < 0.02) return Number.NaN;
        if (u < 0.03) return Number.POSITIVE_INFINITY;
        if (u < 0.04) return Number.NEGATIVE_INFINITY;
        // Discrete-heavy half, so many values land exactly on edges; a continuous rest.
        return u < 0.5 ? Math.round(random() * 40) / 2 : random() * 20;
      });
      const baseline = numericBaseline('x', values, 10);
      const binner = compileBinner(baseline);
      const { counts, nulls } = readerCounts(binner, values);
      expect(counts.map((c) => c / baseline.count)).toEqual(baseline.proportions);
      expect(nulls / values.length).toBe(baseline.null_rate);
      expect(values.length - nulls).toBe(baseline.count);
      for (const edge of baseline.bin_edges) expect(binner.place(edge)?.bin).toBe(binIndex(baseline.bin_edges, edge));
      // Every training value is in range: min and max are those of exactly the values the reader bins.
      expect(values.every((v) => binner.place(v)?.outOfRange !== true)).toBe(true);
    }
  });

  it('on random categories, capped, with nulls; and on booleans logged as numbers', () => {
    const random = rng(7);
    const names = ['web', 'app', 'pos', 'moto', 'atm', 'kiosk'];
    const values = Array.from({ length: 3_000 }, () =>
      random() < 0.05 ? null : (names[Math.floor(random() ** 2 * names.length)] as string),
    );
    const baseline = categoricalBaseline('channel', values, { maxCategories: 4 });
    const { counts, nulls } = readerCounts(compileBinner(baseline), values);
    expect(counts.map((c) => c / baseline.count)).toEqual(baseline.proportions);
    expect(nulls / values.length).toBe(baseline.null_rate);

    const flags = Array.from({ length: 2_000 }, () => {
      const u = random();
      return u < 0.03 ? Number.NaN : u < 0.04 ? Number.POSITIVE_INFINITY : u < 0.6 ? 1 : 0;
    });
    const flagBaseline = booleanBaseline('card_present', flags);
    const flagsRead = readerCounts(compileBinner(flagBaseline), flags);
    expect(flagsRead.counts.map((c) => c / flagBaseline.count)).toEqual(flagBaseline.proportions);
    expect(flagsRead.nulls / flags.length).toBe(flagBaseline.null_rate);
  });
});
