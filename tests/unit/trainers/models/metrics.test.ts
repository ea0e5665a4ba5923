import { describe, expect, it } from 'vitest';
import { classificationMetrics, finite, regressionMetrics } from '../../../../trainers/models/metrics.ts';

describe("the trainer's metrics (from kernel/quality.ts)", () => {
  it('classification: AUC, log loss floored at 1e-15, accuracy at 0.5, Brier, positive rate', () => {
    const m = classificationMetrics([1, 0, 1, 0], [0.9, 0.2, 0.4, 0.6]);
    expect(m.auc).toBe(0.75);
    expect(m.accuracy).toBe(0.5);
    expect(m.brier).toBeCloseTo((0.01 + 0.04 + 0.36 + 0.36) / 4, 12);
    expect(m.positive_rate).toBe(0.5);
    // Perfect predictions: p and 1 − p are floored, never 1 itself, so the loss is 0, not a clip artefact.
    expect(classificationMetrics([1, 0], [1, 0]).logloss).toBeCloseTo(0, 12);
    expect(classificationMetrics([1], [0]).logloss).toBeCloseTo(-Math.log(1e-15), 9);
  });

  it('a degenerate split records NaN, which finite() drops before the registry sees it', () => {
    const m = classificationMetrics([1, 1], [0.3, 0.4]);
    expect(m.auc).toBeNaN();
    expect(finite(m)).not.toHaveProperty('auc');
    expect(finite(m)).toHaveProperty('logloss');
  });

  it('regression: RMSE, MAE, R²', () => {
    const m = regressionMetrics([1, 2, 3], [1, 2, 5]);
    expect(m.rmse).toBeCloseTo(Math.sqrt(4 / 3), 12);
    expect(m.mae).toBeCloseTo(2 / 3, 12);
    expect(m.r2).toBeCloseTo(1 - 4 / 2, 12);
  });
});
