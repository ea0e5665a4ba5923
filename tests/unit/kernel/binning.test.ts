/** The one bin rule, and that the baseline writer (trainer) and the drift reader count the same bins. */
import { describe, expect, it } from 'vitest';
import { binIndex } from '../../../kernel/binning.ts';
import { rng } from '../../../kernel/random.ts';
import { compileBinner } from '../../../processors/drift/binning.ts';
import { numericBaseline } from '../../../trainers/baseline.ts';

describe('bin rule', () => {
  it('puts v in bin i when edges[i-1] <= v < edges[i], outer bins open-ended', () => {
    const edges = [10, 20, 30];
    expect([-1e9, 9.999, 10, 19.99, 20, 29, 30, 1e9].map((v) => binIndex(edges, v))).toEqual([0, 0, 1, 1, 2, 2, 3, 3]);
    expect([Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY].map((v) => binIndex(edges, v))).toEqual([0, 3]);
    expect(binIndex([], 5)).toBe(0);
  });

  it('the trainer’s baseline proportions are what the drift binner counts on the same data, edges included', () => {
    const random = rng(11);
    // Discrete-heavy values, so many land exactly on edges.
    const values = Array.from({ length: 5_000 }, () => Math.round(random() * 40) / 2);
    const baseline = numericBaseline('x', values, 10);
    const binner = compileBinner(baseline);
    const counts = new Array<number>(binner.bins).fill(0);
    for (const v of values) {
      const placed = binner.place(v);
      if (placed) counts[placed.bin] = (counts[placed.bin] as number) + 1;
    }
    expect(counts.map((c) => c / values.length)).toEqual(baseline.proportions);
    for (const edge of baseline.bin_edges) expect(binner.place(edge)?.bin).toBe(binIndex(baseline.bin_edges, edge));
  });
});
