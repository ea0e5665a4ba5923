/**
 * The one binning rule, shared by the baseline writer (the trainer, `trainers/baseline.ts`, which
 * turns these into the `FeatureBaseline` contract) and the drift reader (`processors/drift/binning.ts`,
 * which counts live windows against it). They must agree forever, or every live window would be
 * compared with proportions counted on other bins, so both take every rule from here:
 *
 * - Values: a numeric bin takes finite numbers, booleans as 1/0; NaN, ±Infinity, strings, null and
 *   anything else are null (counted in the null rate, never in a bin). A category bin takes strings
 *   as they are, booleans as `true`/`false`, and — when the categories are `true`/`false` (booleans
 *   logged as numbers) — finite numbers as `true` from 0.5; other finite numbers as their decimal text.
 * - Numeric bins: k ascending interior edges make k+1 bins; bin i holds v with edges[i-1] <= v < edges[i],
 *   the outer bins open-ended (`binIndex`, a binary search).
 * - Quantile edges: cut at the quantiles i/k (the value at rank ⌊i·n/k⌋ of the sorted values), then
 *   deduplicated, and an edge at the minimum dropped (it would leave an empty first bin), so discrete
 *   features get fewer, honest bins.
 * - Categories: most frequent first (ties by name), at most a maximum; one more, last bin holds the
 *   rest and categories never seen.
 * - Reference proportions: the share of non-null values per bin, counted with `binIndex` / the
 *   category rule above; an empty sample has everything in its last bin.
 */

/** Most categories a baseline keeps; the rest share the last bin. */
export const MAX_CATEGORIES = 50;

/** A value as numeric bins see it: a finite number (booleans as 1/0), or null. */
export function numericValue(value: unknown): number | null {
  if (typeof value === 'number') return Number.isFinite(value) ? value : null;
  if (typeof value === 'boolean') return value ? 1 : 0;
  return null;
}

/** A value as category bins see it; `booleanLike` when the categories are `true` and `false`. */
export function categoryValue(value: unknown, booleanLike: boolean): string | null {
  if (typeof value === 'string') return value;
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'number' && Number.isFinite(value)) return booleanLike ? (value >= 0.5 ? 'true' : 'false') : String(value);
  return null;
}

/** The bin of `value`: the number of edges <= value (binary search, upper bound). */
export function binIndex(edges: readonly number[], value: number): number {
  let lo = 0;
  let hi = edges.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((edges[mid] as number) <= value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Interior edges of `bins` quantile bins over ascending finite values (at most bins − 1 edges). */
export function quantileEdges(sorted: readonly number[], bins: number): number[] {
  const n = sorted.length;
  if (n === 0) return [];
  const min = sorted[0] as number;
  const edges: number[] = [];
  for (let i = 1; i < bins; i++) {
    // The value at rank ⌊q·n⌋: about a share q of the values lies strictly below it.
    const edge = sorted[Math.min(n - 1, Math.floor((i / bins) * n))] as number;
    if (edge > min && (edges.length === 0 || edge > (edges[edges.length - 1] as number))) edges.push(edge);
  }
  return edges;
}

/** The share of `values` (finite) in each of the edges' bins; [1] (one bin, all of it) for no values. */
export function binProportions(edges: readonly number[], values: readonly number[]): number[] {
  const counts = new Array<number>(edges.length + 1).fill(0);
  if (values.length === 0) return counts.map((_, i) => (i === edges.length ? 1 : 0));
  for (const v of values) {
    const bin = binIndex(edges, v);
    counts[bin] = (counts[bin] as number) + 1;
  }
  return counts.map((c) => c / values.length);
}

/** A numeric sample summarised on its quantile bins: what the writer records and the reader counts with. */
export interface NumericBins {
  edges: number[];
  proportions: number[];
  /** Of the non-null values; null when there are none. */
  min: number | null;
  max: number | null;
  /** Share of null values (see `numericValue`) in the whole sample; 0 for an empty one. */
  nullRate: number;
  /** Non-null values. */
  count: number;
}

export function numericBins(values: ArrayLike<unknown>, bins: number): NumericBins {
  const present: number[] = [];
  for (let i = 0; i < values.length; i++) {
    const v = numericValue(values[i]);
    if (v !== null) present.push(v);
  }
  present.sort((a, b) => a - b);
  const n = present.length;
  const nullRate = values.length === 0 ? 0 : (values.length - n) / values.length;
  const edges = quantileEdges(present, bins);
  return {
    edges,
    proportions: binProportions(edges, present),
    min: n === 0 ? null : (present[0] as number),
    max: n === 0 ? null : (present[n - 1] as number),
    nullRate,
    count: n,
  };
}

/** A categorical sample summarised: its categories and their shares, the last share for the rest. */
export interface CategoryBins {
  categories: string[];
  /** One per category, then the rest (and unseen categories): length categories + 1. */
  proportions: number[];
  nullRate: number;
  count: number;
}

export interface CategoryOptions {
  /** Fixed categories (booleans: `false`, `true`); otherwise the most frequent ones of the sample. */
  categories?: readonly string[];
  maxCategories?: number;
}

export function categoryBins(values: ArrayLike<unknown>, options: CategoryOptions = {}): CategoryBins {
  const booleanLike = options.categories !== undefined && isBooleanLike(options.categories);
  const counts = new Map<string, number>();
  let present = 0;
  for (let i = 0; i < values.length; i++) {
    const c = categoryValue(values[i], booleanLike);
    if (c === null) continue;
    present++;
    counts.set(c, (counts.get(c) ?? 0) + 1);
  }
  const categories =
    options.categories !== undefined
      ? [...options.categories]
      : [...counts.entries()]
          .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
          .slice(0, options.maxCategories ?? MAX_CATEGORIES)
          .map(([c]) => c);
  const known = categories.map((c) => counts.get(c) ?? 0);
  const rest = present - known.reduce((a, b) => a + b, 0);
  return {
    categories,
    proportions: present === 0 ? [...categories.map(() => 0), 1] : [...known, rest].map((c) => c / present),
    nullRate: values.length === 0 ? 0 : (values.length - present) / values.length,
    count: present,
  };
}

/** Whether categories are the booleans' (`true` and `false`), so 1/0 read as them. */
export function isBooleanLike(categories: readonly string[]): boolean {
  return categories.includes('true') && categories.includes('false');
}
