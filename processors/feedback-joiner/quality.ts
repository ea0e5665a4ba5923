/**
 * Live model quality (pure): the metrics in TypeScript — what the unit tests check by hand — and the
 * one SQL query that computes the same figures in ClickHouse over event-time windows, for the
 * `rheo.model_quality_hourly` view, the gateway and the joiner's Prometheus gauges.
 *
 * Classifiers (every label 0 or 1, every score in [0, 1]): accuracy at a 0.5 threshold, AUC (the
 * Mann–Whitney statistic, tied scores counted half — exact, from the score's distinct values), log
 * loss with p and 1 − p floored at 1e-15 (as in the SQL). Regressors: MAE and RMSE. Windows hold predictions
 * by their event time; `labeled` counts predictions with an outcome, `unlabeled` the rest.
 */
import type { ClickHouseClient } from '../../kernel/clients.ts';
import { ident, join, type SqlFragment, sql } from '../../kernel/sql.ts';

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

export interface QualityQuery {
  database: string;
  windowMs: number;
  model?: string;
  /** Prediction event time, epoch ms: from inclusive, to exclusive. */
  from?: number;
  to?: number;
  /** Windows are [origin + k·window, origin + (k+1)·window); default 0 (aligned to the epoch). */
  origin?: number;
}

/**
 * Quality per model, version, variant and window, one row per window that has predictions. ClickHouse
 * 18.16 SQL (no window functions, no arrayAUC): AUC from the distinct scores' positive and negative
 * counts, sorted, with a cumulative sum of negatives.
 */
export function qualitySql(q: QualityQuery): SqlFragment {
  const w = q.windowMs;
  if (!Number.isInteger(w) || w <= 0) throw new Error('window must be a positive whole number of ms');
  const origin = q.origin ?? 0;
  const bucket = (column: string) => sql`intDiv(${ident(column)} - ${origin}, ${w}) * ${w} + ${origin}`;
  const predictionFilter = filters('event_time_ms', q);
  const outcomeFilter = filters('prediction_time_ms', q);
  const predictions = ident(`${q.database}.predictions`);
  const outcomes = ident(`${q.database}.prediction_outcomes`);
  return sql`SELECT
  model_name, model_version, variant,
  toDateTime(intDiv(window_start_ms, 1000), 'UTC') AS window_start,
  window_start_ms,
  window_start_ms + ${w} AS window_end_ms,
  predictions,
  labeled,
  if(predictions > labeled, predictions - labeled, 0) AS unlabeled,
  positives,
  if(labeled = 0, '', if(classifier = 1, 'classification', 'regression')) AS task,
  if(labeled > 0 AND classifier = 1, accuracy_raw, NULL) AS accuracy,
  if(labeled > 0 AND classifier = 1 AND positives > 0 AND negatives > 0, auc_raw, NULL) AS auc,
  if(labeled > 0 AND classifier = 1, log_loss_raw, NULL) AS log_loss,
  if(labeled > 0 AND classifier = 0, mae_raw, NULL) AS mae,
  if(labeled > 0 AND classifier = 0, rmse_raw, NULL) AS rmse,
  if(labeled > 0, mean_score_raw, NULL) AS mean_score,
  if(labeled > 0, mean_label_raw, NULL) AS mean_label
FROM
(
  SELECT model_name, model_version, variant, ${bucket('event_time_ms')} AS window_start_ms, uniqExact(event_id) AS predictions
  FROM ${predictions}
  WHERE ${predictionFilter}
  GROUP BY model_name, model_version, variant, window_start_ms
)
ANY LEFT JOIN
(
  SELECT
    model_name, model_version, variant, window_start_ms,
    sum(n) AS labeled,
    sum(pos) AS positives,
    sum(neg) AS negatives,
    min(binary) AS classifier,
    sum(correct) / sum(n) AS accuracy_raw,
    -sum(ll) / sum(n) AS log_loss_raw,
    sum(ae) / sum(n) AS mae_raw,
    sqrt(sum(se) / sum(n)) AS rmse_raw,
    sum(score_sum) / sum(n) AS mean_score_raw,
    sum(label_sum) / sum(n) AS mean_label_raw,
    arraySort(groupArray((score, pos, neg))) AS curve,
    arraySum(arrayMap((p, cn, nn) -> p * (cn - nn / 2), arrayMap(t -> t.2, curve), arrayCumSum(arrayMap(t -> t.3, curve)), arrayMap(t -> t.3, curve))) / (sum(pos) * sum(neg)) AS auc_raw
  FROM
  (
    SELECT
      model_name, model_version, variant,
      ${bucket('prediction_time_ms')} AS window_start_ms,
      assumeNotNull(score) AS score,
      count() AS n,
      countIf(label >= ${DECISION_THRESHOLD}) AS pos,
      countIf(label < ${DECISION_THRESHOLD}) AS neg,
      min((label = 0 OR label = 1) AND assumeNotNull(score) >= 0 AND assumeNotNull(score) <= 1) AS binary,
      countIf((assumeNotNull(score) >= ${DECISION_THRESHOLD}) = (label >= ${DECISION_THRESHOLD})) AS correct,
      sum(label * log(greatest(assumeNotNull(score), ${LOG_LOSS_CLIP})) + (1 - label) * log(greatest(1 - assumeNotNull(score), ${LOG_LOSS_CLIP}))) AS ll,
      sum(abs(assumeNotNull(score) - label)) AS ae,
      sum((assumeNotNull(score) - label) * (assumeNotNull(score) - label)) AS se,
      sum(assumeNotNull(score)) AS score_sum,
      sum(label) AS label_sum
    FROM ${outcomes} FINAL
    WHERE isNotNull(score) AND ${outcomeFilter}
    GROUP BY model_name, model_version, variant, window_start_ms, score
  )
  GROUP BY model_name, model_version, variant, window_start_ms
) USING (model_name, model_version, variant, window_start_ms)`;
}

function filters(column: string, q: QualityQuery): SqlFragment {
  const col = ident(column);
  const parts: SqlFragment[] = [sql`1`];
  if (q.model !== undefined) parts.push(sql`model_name = ${q.model}`);
  if (q.from !== undefined) parts.push(sql`${col} >= ${q.from}`);
  if (q.to !== undefined) parts.push(sql`${col} < ${q.to}`);
  return join(parts, ' AND ');
}

/** One row of `qualitySql`, numbers parsed. */
export interface QualityRow {
  model_name: string;
  model_version: string;
  variant: string;
  window_start_ms: number;
  window_end_ms: number;
  predictions: number;
  labeled: number;
  unlabeled: number;
  positives: number;
  task: Task | '';
  accuracy: number | null;
  auc: number | null;
  log_loss: number | null;
  mae: number | null;
  rmse: number | null;
  mean_score: number | null;
  mean_label: number | null;
}

const INTEGER_COLUMNS = ['window_start_ms', 'window_end_ms', 'predictions', 'labeled', 'unlabeled', 'positives'] as const;

export async function readQuality(client: { query: ClickHouseClient['query'] }, q: QualityQuery): Promise<QualityRow[]> {
  const result = await client.query({
    query: `${qualitySql(q).text}\nORDER BY window_start_ms, model_version, variant`,
    format: 'JSONEachRow',
  });
  const rows = (await result.json()) as Array<Record<string, unknown>>;
  return rows.map((row) => {
    const out = { ...row } as Record<string, unknown>;
    delete out.window_start;
    for (const c of INTEGER_COLUMNS) out[c] = Number(row[c]);
    return out as unknown as QualityRow;
  });
}
