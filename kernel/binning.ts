/**
 * The one binning rule shared by the baseline writer (the trainer, `trainers/baseline.ts`) and the
 * drift reader (`processors/drift/binning.ts`); they must agree forever, or every live window would be
 * compared with proportions counted on other bins. A numeric baseline's k ascending interior edges
 * make k+1 bins: bin i holds v with edges[i-1] <= v < edges[i], the outer bins open-ended.
 */

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
