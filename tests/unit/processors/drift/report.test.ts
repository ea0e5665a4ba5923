import { describe, expect, it } from 'vitest';
import { buildReports, mergeFragments, reportId } from '../../../../processors/drift/report.ts';
import type { Fragment } from '../../../../processors/drift/transform.ts';
import { COMPILED, MODEL, VERSION } from './helpers.ts';

const fragment = (amount: number[], nulls = 0, late = 0): Fragment => ({
  model: MODEL,
  version: VERSION,
  start: 0,
  end: 60_000,
  records: amount.reduce((a, b) => a + b, 0) + nulls,
  late,
  features: { amount: { c: amount, n: nulls, o: 1 }, category: { c: [5, 5, 0], n: 0, o: 0 } },
  prediction: { c: [9, 1], n: 0, o: 0 },
});

const settings = { epsilon: 1e-4, minSamples: 10, thresholds: { warn: 0.1, alert: 0.25 }, latenessMs: 5_000 };

describe('drift reports', () => {
  it('sums the partitions fragments of a window', () => {
    const merged = mergeFragments([fragment([10, 20, 10], 1, 2), fragment([5, 0, 5], 3, 1)]);
    expect(merged.features.amount).toEqual({ c: [15, 20, 15], n: 4, o: 2 });
    expect(merged.features.category).toEqual({ c: [10, 10, 0], n: 0, o: 0 });
    expect(merged.prediction).toEqual({ c: [18, 2], n: 0, o: 0 });
    expect([merged.records, merged.late]).toEqual([54, 3]);
    expect(() => mergeFragments([fragment([1, 1, 1]), { ...fragment([1, 1, 1]), start: 60_000 }])).toThrow(/different windows/);
  });

  it('reports every baselined feature and the score, with ids and times derived from the window', () => {
    const reports = buildReports(mergeFragments([fragment([75, 0, 25], 2, 3)]), COMPILED, 4, settings);
    expect(reports.map((r) => [r.feature, r.target])).toEqual([
      ['amount', 'FEATURE'],
      ['category', 'FEATURE'],
      ['probability', 'PREDICTION'],
    ]);
    const amount = reports[0];
    // a = (0.75, ε, 0.25) against e = (0.25, 0.5, 0.25)
    const a = [0.75, 1e-4, 0.25];
    const e = [0.25, 0.5, 0.25];
    const expectedPsi = a.reduce((s, ai, i) => s + (ai - (e[i] as number)) * Math.log(ai / (e[i] as number)), 0);
    expect(amount).toMatchObject({
      event_id: reportId(MODEL, VERSION, 'FEATURE', 'amount', 0, 60_000),
      event_time: 65_000,
      window_start: 0,
      window_end: 60_000,
      status: 'ALERT',
      count: 100,
      null_count: 2,
      null_rate: 2 / 102,
      out_of_range_count: 1,
      out_of_range_rate: 0.01,
      dlq_count: 4,
      late_count: 3,
      counts: [75, 0, 25],
      expected: [0.25, 0.5, 0.25],
      bin_edges: [10, 20],
      epsilon: 1e-4,
    });
    expect(amount?.psi).toBeCloseTo(expectedPsi, 12);
    expect(reports[1]).toMatchObject({ status: 'OK', psi: 0, categories: ['a', 'b'] });
    // Identical data, identical reports.
    expect(buildReports(mergeFragments([fragment([75, 0, 25], 2, 3)]), COMPILED, 4, settings)).toEqual(reports);
  });

  it('calls a window below the minimum sample INSUFFICIENT, with no scores', () => {
    const [amount] = buildReports(fragment([3, 3, 3]), COMPILED, 0, settings);
    expect(amount).toMatchObject({ status: 'INSUFFICIENT', psi: null, kl: null, count: 9 });
  });
});
