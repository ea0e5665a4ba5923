/**
 * The drift baseline of a version, from its training split (design §6), in the contract's terms
 * (`FeatureBaseline`): numeric features get quantile bin edges with the share of training values in
 * each bin; categorical ones (booleans here, strings in general) get category frequencies plus a
 * last bin for categories never seen; the primary score gets a numeric baseline too. Every rule —
 * which values are null, where edges are cut, which bin a value falls in — is the one the drift
 * processor reads with (`kernel/binning.ts`), so these proportions match what it counts exactly.
 */
import { type CategoryOptions, categoryBins, categoryValue, numericBins } from '../kernel/binning.ts';
import type { DriftBaseline, FeatureBaseline } from '../schemas/index.ts';

export const DEFAULT_BINS = 10;

/** Values as numbers, NaN (or any non-finite number) for null. */
export function numericBaseline(feature: string, values: ArrayLike<number>, bins = DEFAULT_BINS): FeatureBaseline {
  const summary = numericBins(values, bins);
  return {
    feature,
    kind: 'NUMERIC',
    bin_edges: summary.edges,
    categories: [],
    proportions: summary.proportions,
    min: summary.min,
    max: summary.max,
    null_rate: summary.nullRate,
    count: summary.count,
  };
}

/** Category frequencies, most frequent first (ties by name), at most `maxCategories`; the last bin holds the rest and unseen ones. */
export function categoricalBaseline(
  feature: string,
  values: ReadonlyArray<string | null>,
  options: CategoryOptions = {},
): FeatureBaseline {
  const summary = categoryBins(values, options);
  return {
    feature,
    kind: 'CATEGORICAL',
    bin_edges: [],
    categories: summary.categories,
    proportions: summary.proportions,
    min: null,
    max: null,
    null_rate: summary.nullRate,
    count: summary.count,
  };
}

/** Booleans (as 1/0, NaN for null) as the categories `false` and `true`, read as the drift reader reads them. */
export function booleanBaseline(feature: string, values: ArrayLike<number>): FeatureBaseline {
  return categoricalBaseline(
    feature,
    Array.from(values, (v) => categoryValue(v, true)),
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
