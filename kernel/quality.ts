/**
 * The one implementation of model-quality metrics, used by the trainer (evaluation, search), the
 * quality gate, the feedback joiner's live figures, the demo and the benchmarks. Pure, over plain
 * arrays, so TensorFlow.js outputs, ONNX Runtime outputs and live scores are measured by the same code;
 * the SQL that computes the live figures in ClickHouse (`monitoring/quality.ts`) follows the same rules.
 *
 * Rules, the same everywhere:
 * - A label is positive when it is ≥ `DECISION_THRESHOLD` (0.5); a score predicts positive at ≥ 0.5.
 * - AUC is the Mann–Whitney statistic: P(score of a random positive > score of a random negative),
 *   tied scores counted half (exact, whatever the number of distinct scores).
 * - Log loss floors p and 1 − p at `LOG_LOSS_CLIP` (1e-15), as the SQL does.
 * - Degenerate windows give `null`, never a made-up number: every metric of an empty set, and AUC of
 *   a set without both classes. A caller that needs a number says what it uses instead (the trainer
 *   records NaN and drops it from the version's metrics; the gate fails a missing metric).
 */

export const DECISION_THRESHOLD = 0.5;
export const LOG_LOSS_CLIP = 1e-15;

/** A live task as the joiner sees it: classification when every label is 0/1 and every score in [0, 1]. */
export type Task = 'classification' | 'regression';

/** AUC; null when there are no positives or no negatives. */
export function auc(labels: ArrayLike<number>, scores: ArrayLike<number>): number | null {
  const n = labels.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => (scores[a] as number) - (scores[b] as number));
  let positives = 0;
  let negatives = 0;
  let wins = 0;
  for (let i = 0; i < n; ) {
    // One run of tied scores: each positive in it beats every negative below and ties (half) those in it.
    let j = i;
    let pos = 0;
    let neg = 0;
    const score = scores[order[i] as number] as number;
    while (j < n && scores[order[j] as number] === score) {
      if ((labels[order[j] as number] as number) >= DECISION_THRESHOLD) pos++;
      else neg++;
      j++;
    }
    wins += pos * (negatives + neg / 2);
    positives += pos;
    negatives += neg;
    i = j;
  }
  return positives > 0 && negatives > 0 ? wins / (positives * negatives) : null;
}

/** Mean binary cross-entropy of probabilities; null for an empty set. */
export function logLoss(labels: ArrayLike<number>, probabilities: ArrayLike<number>): number | null {
  const n = labels.length;
  if (n === 0) return null;
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const y = labels[i] as number;
    const p = probabilities[i] as number;
    sum += y * Math.log(Math.max(p, LOG_LOSS_CLIP)) + (1 - y) * Math.log(Math.max(1 - p, LOG_LOSS_CLIP));
  }
  return -sum / n;
}

/** Share of scores on the label's side of the threshold; null for an empty set. */
export function accuracy(labels: ArrayLike<number>, scores: ArrayLike<number>): number | null {
  const n = labels.length;
  if (n === 0) return null;
  let correct = 0;
  for (let i = 0; i < n; i++)
    if ((scores[i] as number) >= DECISION_THRESHOLD === (labels[i] as number) >= DECISION_THRESHOLD) correct++;
  return correct / n;
}

/** Mean squared error of probabilities; null for an empty set. */
export function brier(labels: ArrayLike<number>, probabilities: ArrayLike<number>): number | null {
  return meanOf(labels, probabilities, (y, p) => (p - ((y as number) >= DECISION_THRESHOLD ? 1 : 0)) ** 2);
}

export function mae(targets: ArrayLike<number>, predictions: ArrayLike<number>): number | null {
  return meanOf(targets, predictions, (y, p) => Math.abs(p - y));
}

export function rmse(targets: ArrayLike<number>, predictions: ArrayLike<number>): number | null {
  const mse = meanOf(targets, predictions, (y, p) => (p - y) ** 2);
  return mse === null ? null : Math.sqrt(mse);
}

/** Coefficient of determination; null for an empty set or constant targets. */
export function r2(targets: ArrayLike<number>, predictions: ArrayLike<number>): number | null {
  const n = targets.length;
  if (n === 0) return null;
  let mean = 0;
  for (let i = 0; i < n; i++) mean += targets[i] as number;
  mean /= n;
  let se = 0;
  let ss = 0;
  for (let i = 0; i < n; i++) {
    se += ((predictions[i] as number) - (targets[i] as number)) ** 2;
    ss += ((targets[i] as number) - mean) ** 2;
  }
  return ss === 0 ? null : 1 - se / ss;
}

function meanOf(
  labels: ArrayLike<number>,
  outputs: ArrayLike<number>,
  term: (label: number, output: number) => number,
): number | null {
  const n = labels.length;
  if (n === 0) return null;
  let sum = 0;
  for (let i = 0; i < n; i++) sum += term(labels[i] as number, outputs[i] as number);
  return sum / n;
}

/** A scored prediction with its label, as the joiner joins them. */
export interface Scored {
  score: number;
  label: number;
}

export interface QualityFigures {
  labeled: number;
  positives: number;
  task: Task;
  accuracy: number | null;
  auc: number | null;
  log_loss: number | null;
  mae: number | null;
  rmse: number | null;
}

export function taskOf(pairs: readonly Scored[]): Task {
  return pairs.every((p) => (p.label === 0 || p.label === 1) && p.score >= 0 && p.score <= 1) ? 'classification' : 'regression';
}

/** The live figures of a set of labelled predictions: classification metrics or regression metrics, by its task. */
export function qualityOf(pairs: readonly Scored[]): QualityFigures {
  const task = taskOf(pairs);
  const labels = pairs.map((p) => p.label);
  const scores = pairs.map((p) => p.score);
  const classifier = task === 'classification';
  return {
    labeled: pairs.length,
    positives: labels.filter((y) => y >= DECISION_THRESHOLD).length,
    task,
    accuracy: classifier ? accuracy(labels, scores) : null,
    auc: classifier ? auc(labels, scores) : null,
    log_loss: classifier ? logLoss(labels, scores) : null,
    mae: classifier ? null : mae(labels, scores),
    rmse: classifier ? null : rmse(labels, scores),
  };
}
