/**
 * Live model quality (pure): the metrics in TypeScript — what the unit tests check by hand. The SQL
 * that computes the same figures in ClickHouse over event-time windows is `monitoring/quality.ts`.
 *
 * Classifiers (every label 0 or 1, every score in [0, 1]): accuracy at a 0.5 threshold, AUC (the
 * Mann–Whitney statistic, tied scores counted half — exact, from the score's distinct values), log
 * loss with p and 1 − p floored at 1e-15 (as in the SQL). Regressors: MAE and RMSE.
 */
export interface Scored {
  score: number;
  label: number;
}

export type Task = 'classification' | 'regression';

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

export const LOG_LOSS_CLIP = 1e-15;
export const DECISION_THRESHOLD = 0.5;

export function taskOf(pairs: readonly Scored[]): Task {
  return pairs.every((p) => (p.label === 0 || p.label === 1) && p.score >= 0 && p.score <= 1) ? 'classification' : 'regression';
}

/** P(score of a random positive > score of a random negative), ties counted half; null without both classes. */
export function auc(pairs: readonly Scored[]): number | null {
  const sorted = [...pairs].sort((a, b) => a.score - b.score);
  let positives = 0;
  let negatives = 0;
  let sum = 0;
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    let pos = 0;
    let neg = 0;
    while (j < sorted.length && (sorted[j] as Scored).score === (sorted[i] as Scored).score) {
      if ((sorted[j] as Scored).label >= DECISION_THRESHOLD) pos++;
      else neg++;
      j++;
    }
    sum += pos * (negatives + neg / 2);
    positives += pos;
    negatives += neg;
    i = j;
  }
  return positives > 0 && negatives > 0 ? sum / (positives * negatives) : null;
}

export function logLoss(pairs: readonly Scored[]): number | null {
  if (pairs.length === 0) return null;
  let sum = 0;
  for (const { score, label } of pairs) {
    sum += label * Math.log(Math.max(score, LOG_LOSS_CLIP)) + (1 - label) * Math.log(Math.max(1 - score, LOG_LOSS_CLIP));
  }
  return -sum / pairs.length;
}

export function accuracy(pairs: readonly Scored[]): number | null {
  if (pairs.length === 0) return null;
  let correct = 0;
  for (const { score, label } of pairs) if (score >= DECISION_THRESHOLD === label >= DECISION_THRESHOLD) correct++;
  return correct / pairs.length;
}

export function mae(pairs: readonly Scored[]): number | null {
  return pairs.length === 0 ? null : pairs.reduce((s, p) => s + Math.abs(p.score - p.label), 0) / pairs.length;
}

export function rmse(pairs: readonly Scored[]): number | null {
  return pairs.length === 0 ? null : Math.sqrt(pairs.reduce((s, p) => s + (p.score - p.label) ** 2, 0) / pairs.length);
}

export function qualityOf(pairs: readonly Scored[]): QualityFigures {
  const task = taskOf(pairs);
  const classifier = task === 'classification';
  return {
    labeled: pairs.length,
    positives: pairs.filter((p) => p.label >= DECISION_THRESHOLD).length,
    task,
    accuracy: classifier ? accuracy(pairs) : null,
    auc: classifier ? auc(pairs) : null,
    log_loss: classifier ? logLoss(pairs) : null,
    mae: classifier ? null : mae(pairs),
    rmse: classifier ? null : rmse(pairs),
  };
}
