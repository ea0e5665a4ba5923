/**
 * The read side of live model quality: the one SQL query that computes, over event-time windows in
 * ClickHouse, the figures the quality metrics module defines (accuracy at the decision threshold, AUC
 * with tied scores counted half, log loss with p and 1 − p floored, MAE, RMSE), and its row parser.
 * It is the SELECT of the `model_quality_hourly` view (`tables/admin.ts`) and what the gateway's
 * quality route, the demo and the joiner's Prometheus gauges read. Windows hold predictions by their
 * event time; `labeled` counts predictions with an outcome, `unlabeled` the rest. Table names come
 * from the tables catalogue; every value goes through `kernel/sql.ts`.
 */
import type { ClickHouseClient } from '../kernel/clients.ts';
import { DECISION_THRESHOLD, LOG_LOSS_CLIP, type Task } from '../kernel/quality.ts';
import { ident, join, type SqlFragment, sql } from '../kernel/sql.ts';
import { TABLES, tableRef } from '../tables/catalogue.ts';

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
  const predictions = tableRef(q.database, TABLES.predictions);
  const outcomes = tableRef(q.database, TABLES.prediction_outcomes);
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
