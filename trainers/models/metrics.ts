/**
 * Evaluation metrics, in plain JavaScript over typed arrays, so TensorFlow.js outputs, ONNX Runtime
 * outputs and a production model's scores are all measured by the same code.
 *
 * Binary classification: `auc` (ROC AUC, ties counted half, the Mann–Whitney statistic), `logloss`
 * (probabilities clipped to [1e-7, 1 − 1e-7]), `accuracy` (threshold 0.5), `brier`, `positive_rate`.
 * Regression: `rmse`, `mae`, `r2`.
 */

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

export function auc(labels: ArrayLike<number>, scores: ArrayLike<number>): number {
  const n = labels.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => (scores[a] as number) - (scores[b] as number));
  let positives = 0;
  let rankSum = 0;
  for (let i = 0; i < n; ) {
    // Average rank over a run of tied scores.
    let j = i;
    while (j + 1 < n && scores[order[j + 1] as number] === scores[order[i] as number]) j++;
    const rank = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) {
      if ((labels[order[k] as number] as number) >= 0.5) {
        positives++;
        rankSum += rank;
      }
    }
    i = j + 1;
  }
  const negatives = n - positives;
  if (positives === 0 || negatives === 0) return Number.NaN;
  return (rankSum - (positives * (positives + 1)) / 2) / (positives * negatives);
}

export function logloss(labels: ArrayLike<number>, probabilities: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < labels.length; i++) {
    const p = Math.min(1 - 1e-7, Math.max(1e-7, probabilities[i] as number));
    sum += (labels[i] as number) >= 0.5 ? -Math.log(p) : -Math.log(1 - p);
  }
  return labels.length === 0 ? Number.NaN : sum / labels.length;
}

export function classificationMetrics(labels: ArrayLike<number>, probabilities: ArrayLike<number>): Record<string, number> {
  let correct = 0;
  let brier = 0;
  let positives = 0;
  for (let i = 0; i < labels.length; i++) {
    const y = (labels[i] as number) >= 0.5 ? 1 : 0;
    const p = probabilities[i] as number;
    if ((p >= 0.5 ? 1 : 0) === y) correct++;
    brier += (p - y) ** 2;
    positives += y;
  }
  const n = labels.length;
  return {
    auc: auc(labels, probabilities),
    logloss: logloss(labels, probabilities),
    accuracy: correct / n,
    brier: brier / n,
    positive_rate: positives / n,
  };
}

export function regressionMetrics(targets: ArrayLike<number>, predictions: ArrayLike<number>): Record<string, number> {
  const n = targets.length;
  let mean = 0;
  for (let i = 0; i < n; i++) mean += targets[i] as number;
  mean /= n;
  let se = 0;
  let ae = 0;
  let ss = 0;
  for (let i = 0; i < n; i++) {
    const e = (predictions[i] as number) - (targets[i] as number);
    se += e * e;
    ae += Math.abs(e);
    ss += ((targets[i] as number) - mean) ** 2;
  }
  return { rmse: Math.sqrt(se / n), mae: ae / n, r2: ss === 0 ? Number.NaN : 1 - se / ss };
}

export function evaluate(task: Task, labels: ArrayLike<number>, outputs: ArrayLike<number>): Record<string, number> {
  return task === 'binary' ? classificationMetrics(labels, outputs) : regressionMetrics(labels, outputs);
}

/** Metrics as a plain record with only finite values (Avro maps of doubles take NaN, but readers should not have to). */
export function finite(metrics: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(metrics).filter(([, v]) => Number.isFinite(v)));
}
