import { describe, expect, it } from 'vitest';
import { accuracy, auc, brier, logLoss, mae, qualityOf, r2, rmse } from '../../../kernel/quality.ts';

const pairs = (scores: number[], labels: number[]) => scores.map((score, i) => ({ score, label: labels[i] as number }));
/** The array form every metric takes: (labels, scores). */
const on = (scores: number[], labels: number[]): [number[], number[]] => [labels, scores];

describe('quality metrics (hand-computed), one rule for ties and degenerate sets', () => {
  it('AUC is the Mann–Whitney statistic with ties counted half, and null without both classes', () => {
    expect(auc([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9])).toBe(1);
    expect(auc([0, 0, 1, 1], [0.9, 0.8, 0.2, 0.1])).toBe(0);
    expect(auc([0, 1, 0, 1], [0.5, 0.5, 0.5, 0.5])).toBe(0.5);
    // Pairs (pos, neg): (0.8,0.1) ✓ (0.8,0.9) ✗ (0.4,0.1) ✓ (0.4,0.9) ✗ → 2/4.
    expect(auc([1, 0, 1, 0], [0.8, 0.1, 0.4, 0.9])).toBe(0.5);
    expect(auc([1, 0, 1], [0.3, 0.3, 0.9])).toBe(0.75);
    expect(auc([1, 1], [0.3, 0.4])).toBeNull();
    expect(auc([0, 0], [0.3, 0.4])).toBeNull();
    expect(auc([], [])).toBeNull();
  });

  it('every metric of an empty set is null; R² of constant targets is null', () => {
    for (const metric of [logLoss, accuracy, brier, mae, rmse, r2]) expect(metric([], [])).toBeNull();
    expect(r2([2, 2, 2], [1, 2, 3])).toBeNull();
    expect(r2([1, 2, 3], [1, 2, 5])).toBeCloseTo(1 - 4 / 2, 12);
    expect(brier([1, 0], [0.9, 0.2])).toBeCloseTo((0.01 + 0.04) / 2, 12);
  });

  it('AUC: the share of (positive, negative) pairs ranked right', () => {
    // positives 0.35, 0.8; negatives 0.1, 0.4: 0.35>0.1, 0.35<0.4, 0.8>0.1, 0.8>0.4 → 3/4
    expect(auc(...on([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1]))).toBe(0.75);
    // a tie between a positive and a negative counts half: (0.5 + 1 + 1 + 1) / 4
    expect(auc(...on([0.5, 0.5, 0.2, 0.9], [1, 0, 0, 1]))).toBe(0.875);
    expect(auc(...on([0.9, 0.1], [1, 0]))).toBe(1);
    expect(auc(...on([0.9, 0.1], [0, 1]))).toBe(0);
    expect(auc(...on([0.3, 0.6], [1, 1]))).toBeNull();
  });

  it('log loss, with p and 1 − p floored at 1e-15', () => {
    // −(ln 0.8 + ln 0.7) / 2
    expect(logLoss(...on([0.8, 0.3], [1, 0]))).toBeCloseTo(0.2899092476264711, 12);
    expect(logLoss(...on([1], [0]))).toBeCloseTo(34.538776394910684, 9);
    expect(logLoss([], [])).toBeNull();
  });

  it('accuracy at 0.5 (inclusive), MAE and RMSE', () => {
    expect(accuracy(...on([0.5, 0.49, 0.9, 0.2], [1, 0, 0, 0]))).toBe(0.75);
    expect(mae(...on([2, 4, 9], [3, 4, 5]))).toBe(5 / 3);
    expect(rmse(...on([2, 4, 9], [3, 4, 5]))).toBeCloseTo(Math.sqrt(17 / 3), 12);
  });

  it('reports classifier metrics for 0/1 labels with scores in [0, 1], regression metrics otherwise', () => {
    expect(qualityOf(pairs([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1]))).toEqual({
      labeled: 4,
      positives: 2,
      task: 'classification',
      accuracy: 0.75,
      auc: 0.75,
      log_loss: expect.any(Number),
      mae: null,
      rmse: null,
    });
    expect(qualityOf(pairs([2, 4, 9], [3, 4, 5]))).toMatchObject({ task: 'regression', auc: null, mae: 5 / 3 });
  });
});
