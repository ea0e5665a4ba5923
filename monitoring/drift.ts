/**
 * The read side of drift (ClickHouse, where the archiver lands `monitoring.drift` and
 * `training.requests`): the reports of a model over a time range, its retraining requests, and the
 * SELECTs of the `drift_windows` and `drift_alerts` views. Used by the gateway's monitoring routes,
 * `rheo drift report`, the demo, and `tables/admin.ts` for the views. Table names come from the tables
 * catalogue; every value goes through `kernel/sql.ts`. ClickHouse 18.16 SQL.
 */
import type { ClickHouseClient } from '../kernel/clients.ts';
import { join, type SqlFragment, sql } from '../kernel/sql.ts';
import { TABLES, tableRef } from '../tables/catalogue.ts';

export interface DriftQuery {
  database: string;
  model: string;
  /** Window start, epoch ms: from inclusive, to exclusive. */
  from: number;
  to: number;
  feature?: string;
  version?: string;
  limit?: number;
}

export interface DriftWindowRow {
  model_version: string;
  feature: string;
  target: string;
  window_start: number;
  window_end: number;
  status: string;
  psi: number | null;
  kl: number | null;
  count: number;
  null_rate: number;
  out_of_range_rate: number;
  dlq_count: number;
  late_count: number;
  warn_threshold: number;
  alert_threshold: number;
  event_id: string;
}

export interface RetrainRow {
  event_id: string;
  event_time: number;
  reason: string;
  requested_by: string;
  base_version: string | null;
  summary: string;
}

type Client = { query: ClickHouseClient['query'] };

/** The `drift_windows` view: every report, deduplicated, with its late count. */
export function driftWindowsSql(database: string): SqlFragment {
  return sql`SELECT model_name, model_version, feature, target, window_start, window_end, status, psi, kl, count, null_rate,
       out_of_range_rate, dlq_count, visitParamExtractInt(report, 'late_count') AS late_count, event_id
FROM ${tableRef(database, TABLES.drift_reports)} FINAL`;
}

/** The `drift_alerts` view: the WARN and ALERT windows, newest first. */
export function driftAlertsSql(database: string): SqlFragment {
  return sql`SELECT window_start, window_end, model_name, model_version, feature, target, status, round(psi, 4) AS psi, count
FROM ${tableRef(database, TABLES.drift_reports)} FINAL
WHERE status IN ('WARN', 'ALERT')
ORDER BY window_start DESC, psi DESC`;
}

export async function readDriftReports(client: Client, q: DriftQuery): Promise<DriftWindowRow[]> {
  const filters = [
    sql`model_name = ${q.model}`,
    sql`window_start >= ${new Date(q.from)}`,
    sql`window_start < ${new Date(q.to)}`,
    ...(q.feature !== undefined ? [sql`feature = ${q.feature}`] : []),
    ...(q.version !== undefined ? [sql`model_version = ${q.version}`] : []),
  ];
  const query = sql`SELECT model_version, feature, target, toUnixTimestamp(window_start) * 1000 AS window_start_ms,
  toUnixTimestamp(window_end) * 1000 AS window_end_ms, status, psi, kl, count, null_rate, out_of_range_rate, dlq_count,
  visitParamExtractInt(report, 'late_count') AS late_count, visitParamExtractFloat(report, 'warn_threshold') AS warn_threshold,
  visitParamExtractFloat(report, 'alert_threshold') AS alert_threshold, event_id
FROM ${tableRef(q.database, TABLES.drift_reports)} FINAL
WHERE ${join(filters, ' AND ')}
ORDER BY window_start_ms, model_version, target, feature
LIMIT ${q.limit ?? 10_000}`;
  const result = await client.query({ query: query.text, format: 'JSONEachRow' });
  return ((await result.json()) as Array<Record<string, unknown>>).map((r) => ({
    model_version: String(r.model_version),
    feature: String(r.feature),
    target: String(r.target),
    window_start: Number(r.window_start_ms),
    window_end: Number(r.window_end_ms),
    status: String(r.status),
    psi: r.psi === null ? null : Number(r.psi),
    kl: r.kl === null ? null : Number(r.kl),
    count: Number(r.count),
    null_rate: Number(r.null_rate),
    out_of_range_rate: Number(r.out_of_range_rate),
    dlq_count: Number(r.dlq_count),
    late_count: Number(r.late_count),
    warn_threshold: Number(r.warn_threshold),
    alert_threshold: Number(r.alert_threshold),
    event_id: String(r.event_id),
  }));
}

export async function readRetrainRequests(
  client: Client,
  q: Pick<DriftQuery, 'database' | 'model' | 'from' | 'to'>,
): Promise<RetrainRow[]> {
  const query = sql`SELECT event_id, event_time_ms, reason, requested_by, base_version, visitParamExtractString(evidence, 'summary') AS summary
FROM ${tableRef(q.database, TABLES.retrain_requests)} FINAL
WHERE model_name = ${q.model} AND event_time_ms >= ${q.from} AND event_time_ms < ${q.to}
ORDER BY event_time_ms`;
  const result = await client.query({ query: query.text, format: 'JSONEachRow' });
  return ((await result.json()) as Array<Record<string, unknown>>).map((r) => ({
    event_id: String(r.event_id),
    event_time: Number(r.event_time_ms),
    reason: String(r.reason),
    requested_by: String(r.requested_by),
    base_version: r.base_version === null ? null : String(r.base_version),
    summary: String(r.summary),
  }));
}
