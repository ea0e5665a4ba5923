/**
 * The trainer's evaluation: which metrics a task reports and which way each improves. The metrics
 * themselves are the one implementation in `kernel/quality.ts` (AUC with ties counted half, log loss
 * clipped at 1e-15, accuracy at 0.5, Brier; RMSE, MAE, R²).
 */
import { accuracy, auc, brier, DECISION_THRESHOLD, logLoss, mae, r2, rmse } from '../../kernel/quality.ts';

export type Task = 'binary' | 'regression';

/** Which way a metric improves: the quality gate compares with it. */
export const HIGHER_IS_BETTER: Readonly<Record<string, boolean>> = {
  auc: true,
  accuracy: true,
  r2: true,
  logloss: false,
  brier: false,
  rmse: false,
  mae: false,
};

/**
 * Metrics of a trained model on a split, from the one quality module (`kernel/quality.ts`). A
 * degenerate split's metric (null there) is recorded as NaN here and dropped by `finite` before it
 * reaches the registry, so a version never claims a made-up figure.
 */
export function classificationMetrics(labels: ArrayLike<number>, probabilities: ArrayLike<number>): Record<string, number> {
  let positives = 0;
  for (let i = 0; i < labels.length; i++) if ((labels[i] as number) >= DECISION_THRESHOLD) positives++;
  return {
    auc: orNaN(auc(labels, probabilities)),
    logloss: orNaN(logLoss(labels, probabilities)),
    accuracy: orNaN(accuracy(labels, probabilities)),
    brier: orNaN(brier(labels, probabilities)),
    positive_rate: labels.length === 0 ? Number.NaN : positives / labels.length,
  };
}

export function regressionMetrics(targets: ArrayLike<number>, predictions: ArrayLike<number>): Record<string, number> {
  return {
    rmse: orNaN(rmse(targets, predictions)),
    mae: orNaN(mae(targets, predictions)),
    r2: orNaN(r2(targets, predictions)),
  };
}

function orNaN(value: number | null): number {
  return value ?? Number.NaN;
}

export function evaluate(task: Task, labels: ArrayLike<number>, outputs: ArrayLike<number>): Record<string, number> {
  return task === 'binary' ? classificationMetrics(labels, outputs) : regressionMetrics(labels, outputs);
}

/** Metrics as a plain record with only finite values (Avro maps of doubles take NaN, but readers should not have to). */
export function finite(metrics: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(metrics).filter(([, v]) => Number.isFinite(v)));
}
