/**
 * ClickHouse objects of feedback and drift monitoring (18.16 and later): the joiner's tables and the
 * views analysts query. Views are plain (not materialized): always exact, deduplicated with FINAL,
 * computed at query time from the archived events and the outcomes.
 *
 *   prediction_outcomes     one row per labelled prediction (per variant): score, label, delay, join kind
 *   feedback_unmatched      labels the joiner gave up on (no prediction within the wait)
 *   model_quality_hourly    per model, version, variant and hour: predictions, labeled, unlabeled,
 *                           accuracy, AUC, log loss (classifiers), MAE, RMSE (regressors)
 *   drift_windows           every drift report (from `drift_reports`), with late_count
 *   drift_alerts            the WARN and ALERT windows, newest first
 */
import type { ClickHouseClient } from '../../kernel/clients.ts';
import { ident } from '../../kernel/sql.ts';
import { ensureOfflineTables } from '../archiver/index.ts';
import { qualitySql } from './quality.ts';

const HOUR_MS = 3_600_000;

export const OUTCOMES_TABLE = 'prediction_outcomes';
export const UNMATCHED_TABLE = 'feedback_unmatched';

export function outcomesTableSql(database: string): string {
  return `CREATE TABLE IF NOT EXISTS ${ident(`${database}.${OUTCOMES_TABLE}`).text} (
  prediction_event_id String,
  prediction_id String,
  entity_id String,
  model_name String,
  model_version String,
  variant String,
  source String,
  prediction_time DateTime('UTC'),
  prediction_time_ms Int64,
  request_time_ms Int64,
  score Nullable(Float64),
  predicted_label Nullable(String),
  label Float64,
  label_event_id String,
  label_source Nullable(String),
  observed_time DateTime('UTC'),
  observed_time_ms Int64,
  label_delay_ms Int64,
  join_kind String,
  version UInt64
) ENGINE = ReplacingMergeTree(version) PARTITION BY toYYYYMM(prediction_time) ORDER BY (model_name, model_version, variant, prediction_event_id)`;
}

export function unmatchedTableSql(database: string): string {
  return `CREATE TABLE IF NOT EXISTS ${ident(`${database}.${UNMATCHED_TABLE}`).text} (
  label_event_id String,
  event_time DateTime('UTC'),
  prediction_id Nullable(String),
  entity_id Nullable(String),
  reference_time_ms Nullable(Int64),
  model_name Nullable(String),
  label Float64,
  observed_time_ms Int64,
  reason String,
  given_up_at DateTime('UTC')
) ENGINE = ReplacingMergeTree() PARTITION BY toYYYYMM(event_time) ORDER BY (label_event_id)`;
}

export function monitoringViewsSql(database: string): string[] {
  const view = (name: string) => ident(`${database}.${name}`).text;
  const reports = ident(`${database}.drift_reports`).text;
  return [
    `CREATE VIEW IF NOT EXISTS ${view('model_quality_hourly')} AS ${qualitySql({ database, windowMs: HOUR_MS }).text}`,
    `CREATE VIEW IF NOT EXISTS ${view('drift_windows')} AS
SELECT model_name, model_version, feature, target, window_start, window_end, status, psi, kl, count, null_rate,
       out_of_range_rate, dlq_count, visitParamExtractInt(report, 'late_count') AS late_count, event_id
FROM ${reports} FINAL`,
    `CREATE VIEW IF NOT EXISTS ${view('drift_alerts')} AS
SELECT window_start, window_end, model_name, model_version, feature, target, status, round(psi, 4) AS psi, count
FROM ${reports} FINAL
WHERE status IN ('WARN', 'ALERT')
ORDER BY window_start DESC, psi DESC`,
  ];
}

/** Creates what is missing: the archiver's tables (the views read them), the joiner's tables, the views. */
export async function ensureMonitoringTables(client: ClickHouseClient, database: string): Promise<void> {
  await ensureOfflineTables(client, database);
  await client.command({ query: outcomesTableSql(database) });
  await client.command({ query: unmatchedTableSql(database) });
  for (const query of monitoringViewsSql(database)) await client.command({ query });
}
