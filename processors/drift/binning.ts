/**
 * Binning against a version's frozen baseline (pure). A numeric baseline's k ascending interior
 * `bin_edges` make k+1 bins — bin i holds v with edges[i-1] <= v < edges[i], the outer bins open-ended —
 * and a categorical one has a bin per known category plus a last bin for unseen ones. Edges come from
 * the training set and are never re-derived from live data, so every window of a version is scored on
 * the same bins and identical data always gives identical counts. Which values are null, which bin
 * a value falls in and how a category is read are the rules of `kernel/binning.ts`, the very ones the
 * trainer (`trainers/baseline.ts`) built the proportions with, so they match what is counted here.
 */
import { binIndex, categoryValue, isBooleanLike, numericValue } from '../../kernel/binning.ts';
import type { FeatureBaseline } from '../../schemas/index.ts';

/** Where one live value falls: its bin, and whether it lies outside what training saw. */
export interface Placement {
  bin: number;
  outOfRange: boolean;
}

export interface Binner {
  readonly feature: string;
  readonly kind: 'NUMERIC' | 'CATEGORICAL';
  readonly bins: number;
  /** Baseline share per bin (length `bins`). */
  readonly expected: readonly number[];
  readonly edges: readonly number[];
  readonly categories: readonly string[];
  /** The bin of a value, or null for a null, missing or unusable value (counted as null). */
  place(value: unknown): Placement | null;
  /**
   * The same without allocating (the hot path): -1 for null, the bin when in range, the bin plus
   * `bins` when out of range.
   */
  index(value: unknown): number;
}

function placement(binner: Pick<Binner, 'bins' | 'index'>, value: unknown): Placement | null {
  const i = binner.index(value);
  if (i < 0) return null;
  return i >= binner.bins ? { bin: i - binner.bins, outOfRange: true } : { bin: i, outOfRange: false };
}

/** Compiles a baseline into a binner; throws with the reason when the baseline is inconsistent. */
export function compileBinner(baseline: FeatureBaseline): Binner {
  const { feature } = baseline;
  if (baseline.kind === 'NUMERIC') {
    const edges = baseline.bin_edges;
    for (let i = 1; i < edges.length; i++)
      if (!((edges[i] as number) > (edges[i - 1] as number))) throw new Error(`${feature}: bin edges are not strictly ascending`);
    if (baseline.proportions.length !== edges.length + 1)
      throw new Error(
        `${feature}: ${edges.length} edges need ${edges.length + 1} proportions, got ${baseline.proportions.length}`,
      );
    const min = baseline.min ?? Number.NEGATIVE_INFINITY;
    const max = baseline.max ?? Number.POSITIVE_INFINITY;
    const bins = edges.length + 1;
    return {
      feature,
      kind: 'NUMERIC',
      bins,
      expected: baseline.proportions,
      edges,
      categories: [],
      index(value) {
        const v = numericValue(value);
        if (v === null) return -1;
        const bin = binIndex(edges, v);
        return v < min || v > max ? bin + bins : bin;
      },
      place(value) {
        return placement(this, value);
      },
    };
  }
  if (baseline.kind === 'CATEGORICAL') {
    const categories = baseline.categories;
    const index = new Map(categories.map((c, i) => [c, i]));
    if (index.size !== categories.length) throw new Error(`${feature}: categories repeat`);
    // A baseline without the unseen bin (one proportion per category) gets an empty one.
    let expected = baseline.proportions;
    if (expected.length === categories.length) expected = [...expected, 0];
    if (expected.length !== categories.length + 1)
      throw new Error(
        `${feature}: ${categories.length} categories need ${categories.length + 1} proportions, got ${expected.length}`,
      );
    const unseen = categories.length;
    const bins = categories.length + 1;
    const booleanLike = isBooleanLike(categories);
    return {
      feature,
      kind: 'CATEGORICAL',
      bins,
      expected,
      edges: [],
      categories,
      index(value) {
        const c = categoryValue(value, booleanLike);
        if (c === null) return -1;
        return index.get(c) ?? unseen + bins;
      },
      place(value) {
        return placement(this, value);
      },
    };
  }
  throw new Error(`${feature}: baseline kind ${baseline.kind} cannot be binned`);
}
