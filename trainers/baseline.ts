/**
 * The drift baseline of a version, from its training split (design §6), in the contract's terms
 * (`FeatureBaseline`): numeric features get quantile bin edges — k interior edges, k+1 bins, bin i
 * holding edges[i-1] ≤ v < edges[i], the outer bins open — with the share of training values in
 * each bin; categorical ones (booleans here, strings in general) get category frequencies plus a
 * last bin for categories never seen; the primary score gets a numeric baseline too.
 *
 * Edges are cut at the quantiles i/k (the value at rank ⌊i·n/k⌋), then deduplicated, and an edge at the minimum
 * is dropped (it would leave an empty first bin), so discrete features get fewer, honest bins. The
 * proportions are counted with the very rule the drift processor applies, so they match it exactly.
 */
import { binIndex } from '../kernel/binning.ts';
import type { DriftBaseline, FeatureBaseline } from '../schemas/index.ts';

export const DEFAULT_BINS = 10;
export const MAX_CATEGORIES = 50;

/** Values as numbers, NaN for null. */
export function numericBaseline(feature: string, values: ArrayLike<number>, bins = DEFAULT_BINS): FeatureBaseline {
  const present: number[] = [];
  for (let i = 0; i < values.length; i++) {
    const v = values[i] as number;
    if (!Number.isNaN(v)) present.push(v);
  }
  present.sort((a, b) => a - b);
  const n = present.length;
  const nullRate = values.length === 0 ? 0 : (values.length - n) / values.length;
  if (n === 0)
    return {
      feature,
      kind: 'NUMERIC',
      bin_edges: [],
      categories: [],
      proportions: [1],
      min: null,
      max: null,
      null_rate: nullRate,
      count: 0,
    };
  const min = present[0] as number;
  const max = present[n - 1] as number;
  const edges: number[] = [];
  for (let i = 1; i < bins; i++) {
    // The value at rank ⌊q·n⌋: about a share q of the values lies strictly below it.
    const edge = present[Math.min(n - 1, Math.floor((i / bins) * n))] as number;
    if (edge > min && (edges.length === 0 || edge > (edges[edges.length - 1] as number))) edges.push(edge);
  }
  const counts = new Array<number>(edges.length + 1).fill(0);
  for (const v of present) counts[binIndex(edges, v)] = (counts[binIndex(edges, v)] as number) + 1;
  return {
    feature,
    kind: 'NUMERIC',
    bin_edges: edges,
    categories: [],
    proportions: counts.map((c) => c / n),
    min,
    max,
    null_rate: nullRate,
    count: n,
  };
}

/** Category frequencies, most frequent first (ties by name), at most `maxCategories`; the last bin holds the rest and unseen ones. */
export function categoricalBaseline(
  feature: string,
  values: ReadonlyArray<string | null>,
  options: { categories?: readonly string[]; maxCategories?: number } = {},
): FeatureBaseline {
  const counts = new Map<string, number>();
  let present = 0;
  for (const v of values) {
    if (v === null) continue;
    present++;
    counts.set(v, (counts.get(v) ?? 0) + 1);
  }
  const categories =
    options.categories !== undefined
      ? [...options.categories]
      : [...counts.entries()]
          .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
          .slice(0, options.maxCategories ?? MAX_CATEGORIES)
          .map(([c]) => c);
  const known = categories.map((c) => counts.get(c) ?? 0);
  const other = present - known.reduce((a, b) => a + b, 0);
  return {
    feature,
    kind: 'CATEGORICAL',
    bin_edges: [],
    categories,
    proportions: present === 0 ? [...categories.map(() => 0), 1] : [...known, other].map((c) => c / present),
    min: null,
    max: null,
    null_rate: values.length === 0 ? 0 : (values.length - present) / values.length,
    count: present,
  };
}

/** Booleans (as 1/0, NaN for null) as the categories `false` and `true`. */
export function booleanBaseline(feature: string, values: ArrayLike<number>): FeatureBaseline {
  return categoricalBaseline(
    feature,
    Array.from(values as ArrayLike<number>, (v) => (Number.isNaN(v) ? null : v >= 0.5 ? 'true' : 'false')),
    { categories: ['false', 'true'] },
  );
}

export interface BaselineColumn {
  name: string;
  type: 'DOUBLE' | 'LONG' | 'BOOLEAN' | 'STRING' | 'UNKNOWN';
  /** Numeric values (NaN = null), or strings for STRING features. */
  values: ArrayLike<number> | ReadonlyArray<string | null>;
}

export function computeBaseline(
  columns: readonly BaselineColumn[],
  score: { name: string; values: ArrayLike<number> } | null,
  bins = DEFAULT_BINS,
): DriftBaseline {
  return {
    features: columns.map((c) => {
      if (c.type === 'BOOLEAN') return booleanBaseline(c.name, c.values as ArrayLike<number>);
      if (c.type === 'STRING') return categoricalBaseline(c.name, c.values as ReadonlyArray<string | null>);
      return numericBaseline(c.name, c.values as ArrayLike<number>, bins);
    }),
    prediction: score ? numericBaseline(score.name, score.values, bins) : null,
  };
}
