import { describe, expect, it } from 'vitest';
import { auc, classificationMetrics, logloss, regressionMetrics } from '../../../../trainers/models/metrics.ts';

describe('metrics', () => {
  it('AUC is the Mann–Whitney statistic, ties counted half', () => {
    expect(auc([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9])).toBe(1);
    expect(auc([0, 0, 1, 1], [0.9, 0.8, 0.2, 0.1])).toBe(0);
    expect(auc([0, 1, 0, 1], [0.5, 0.5, 0.5, 0.5])).toBe(0.5);
    // Pairs (pos, neg): (0.8,0.1) ✓ (0.8,0.9) ✗ (0.4,0.1) ✓ (0.4,0.9) ✗ → 2/4.
    expect(auc([1, 0, 1, 0], [0.8, 0.1, 0.4, 0.9])).toBe(0.5);
    expect(auc([1, 0, 1], [0.3, 0.3, 0.9])).toBe(0.75);
    expect(auc([1, 1], [0.3, 0.4])).toBeNaN();
  });

  it('log loss clips probabilities; accuracy at 0.5; brier', () => {
    expect(logloss([1, 0], [1, 0])).toBeCloseTo(1e-7, 9);
    const m = classificationMetrics([1, 0, 1, 0], [0.9, 0.2, 0.4, 0.6]);
    expect(m.accuracy).toBe(0.5);
    expect(m.brier).toBeCloseTo((0.01 + 0.04 + 0.36 + 0.36) / 4, 12);
    expect(m.positive_rate).toBe(0.5);
  });

  it('regression: RMSE, MAE, R²', () => {
    const m = regressionMetrics([1, 2, 3], [1, 2, 5]);
    expect(m.rmse).toBeCloseTo(Math.sqrt(4 / 3), 12);
    expect(m.mae).toBeCloseTo(2 / 3, 12);
    expect(m.r2).toBeCloseTo(1 - 4 / 2, 12);
  });
});
