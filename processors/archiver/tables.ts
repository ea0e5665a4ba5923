/**
 * The offline history tables the archiver keeps in ClickHouse, one per event topic, and the pure
 * mapping from a decoded event to a row. SQL here runs on ClickHouse 18.16 and on current releases:
 * no Map type (maps are JSON strings, readable with visitParamExtract or JSONExtract), no DateTime64
 * (times are DateTime('UTC') plus an Int64 millisecond column), ReplacingMergeTree for effectively-once
 * rows: a replayed event has the same sorting key, so merges (or FINAL) keep one copy.
 */
import { ident } from '../../kernel/sql.ts';
import { TOPICS, type TopicEntry } from '../../topics/catalogue.ts';

export type Row = Record<string, string | number | null>;

export interface OfflineTable {
  /** Table name inside the Rheo database. */
  name: string;
  topic: TopicEntry;
  columns: ReadonlyArray<readonly [name: string, type: string]>;
  orderBy: string[];
  partitionBy: string;
  /** Pure: a decoded event to its row. */
  toRow(event: Record<string, unknown>): Row;
}

/** Epoch ms of a timestamp-millis value, whether the decoder gave a Date or a number. */
export function millis(value: unknown): number {
  if (value instanceof Date) return value.getTime();
  if (typeof value === 'number') return value;
  if (typeof value === 'bigint') return Number(value);
  throw new TypeError(`not a timestamp: ${String(value)}`);
}

/** `YYYY-MM-DD hh:mm:ss` in UTC: what DateTime('UTC') parses in every ClickHouse version. */
export function dateTime(value: unknown): string {
  return new Date(millis(value)).toISOString().slice(0, 19).replace('T', ' ');
}

/** Avro unions decode as plain values in avsc (wrapUnions off), but tolerate the wrapped form `{ "double": 1 }`. */
function unwrap(value: unknown): unknown {
  if (value && typeof value === 'object' && !Array.isArray(value) && !(value instanceof Date) && !Buffer.isBuffer(value)) {
    const keys = Object.keys(value);
    if (keys.length === 1 && ['double', 'string', 'boolean', 'long', 'int', 'float'].includes(keys[0] as string))
      return (value as Record<string, unknown>)[keys[0] as string];
  }
  return value;
}

function json(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    const plain = unwrap(v);
    return typeof plain === 'bigint' ? Number(plain) : plain instanceof Date ? plain.getTime() : plain;
  });
}

const str = (value: unknown): string => String(value);
const optStr = (value: unknown): string | null => (value === null || value === undefined ? null : String(unwrap(value)));
const optNum = (value: unknown): number | null => {
  const plain = unwrap(value);
  return plain === null || plain === undefined ? null : Number(plain);
};

export const OFFLINE_TABLES: readonly OfflineTable[] = [
  {
    name: 'predictions',
    topic: TOPICS.predictions,
    columns: [
      ['event_id', 'String'],
      ['event_time', "DateTime('UTC')"],
      ['event_time_ms', 'Int64'],
      ['prediction_id', 'String'],
      ['request_id', 'Nullable(String)'],
      ['entity_id', 'String'],
      ['model_name', 'String'],
      ['model_version', 'String'],
      ['variant', 'String'],
      ['source', 'String'],
      ['inputs', 'String'],
      ['outputs', 'String'],
      ['score', 'Nullable(Float64)'],
      ['predicted_label', 'Nullable(String)'],
      ['latency_ms', 'Float64'],
      ['inference_ms', 'Nullable(Float64)'],
      ['request_time', "DateTime('UTC')"],
      ['request_time_ms', 'Int64'],
    ],
    orderBy: ['model_name', 'event_time', 'event_id'],
    partitionBy: 'toYYYYMM(event_time)',
    toRow: (e) => ({
      event_id: str(e.event_id),
      event_time: dateTime(e.event_time),
      event_time_ms: millis(e.event_time),
      prediction_id: str(e.prediction_id),
      request_id: optStr(e.request_id),
      entity_id: str(e.entity_id),
      model_name: str(e.model_name),
      model_version: str(e.model_version),
      variant: str(e.variant),
      source: str(e.source),
      inputs: json(e.inputs ?? {}),
      outputs: json(e.outputs ?? {}),
      score: optNum(e.score),
      predicted_label: optStr(e.predicted_label),
      latency_ms: Number(e.latency_ms),
      inference_ms: optNum(e.inference_ms),
      request_time: dateTime(e.request_time),
      request_time_ms: millis(e.request_time),
    }),
  },
  {
    name: 'feedback',
    topic: TOPICS.feedback,
    columns: [
      ['event_id', 'String'],
      ['event_time', "DateTime('UTC')"],
      ['event_time_ms', 'Int64'],
      ['prediction_id', 'Nullable(String)'],
      ['entity_id', 'Nullable(String)'],
      ['reference_time_ms', 'Nullable(Int64)'],
      ['model_name', 'Nullable(String)'],
      ['label', 'Float64'],
      ['observed_time', "DateTime('UTC')"],
      ['observed_time_ms', 'Int64'],
      ['label_source', 'Nullable(String)'],
    ],
    orderBy: ['event_time', 'event_id'],
    partitionBy: 'toYYYYMM(event_time)',
    toRow: (e) => ({
      event_id: str(e.event_id),
      event_time: dateTime(e.event_time),
      event_time_ms: millis(e.event_time),
      prediction_id: optStr(e.prediction_id),
      entity_id: optStr(e.entity_id),
      reference_time_ms: e.reference_time === null || e.reference_time === undefined ? null : millis(unwrap(e.reference_time)),
      model_name: optStr(e.model_name),
      label: Number(e.label),
      observed_time: dateTime(e.observed_time),
      observed_time_ms: millis(e.observed_time),
      label_source: optStr(e.label_source),
    }),
  },
  {
    name: 'model_events',
    topic: TOPICS.modelsLifecycle,
    columns: [
      ['event_id', 'String'],
      ['event_time', "DateTime('UTC')"],
      ['event_time_ms', 'Int64'],
      ['model_name', 'String'],
      ['model_version', 'Nullable(String)'],
      ['event_type', 'String'],
      ['actor', 'String'],
      ['reason', 'Nullable(String)'],
      ['payload', 'String'],
    ],
    orderBy: ['model_name', 'event_time', 'event_id'],
    partitionBy: 'toYYYYMM(event_time)',
    toRow: (e) => {
      const { event_id, event_time, model_name, model_version, event_type, actor, reason, ...payload } = e;
      return {
        event_id: str(event_id),
        event_time: dateTime(event_time),
        event_time_ms: millis(event_time),
        model_name: str(model_name),
        model_version: optStr(model_version),
        event_type: str(event_type),
        actor: str(actor),
        reason: optStr(reason),
        payload: json(payload),
      };
    },
  },
  {
    name: 'retrain_requests',
    topic: TOPICS.trainingRequests,
    columns: [
      ['event_id', 'String'],
      ['event_time', "DateTime('UTC')"],
      ['event_time_ms', 'Int64'],
      ['model_name', 'String'],
      ['reason', 'String'],
      ['requested_by', 'String'],
      ['base_version', 'Nullable(String)'],
      ['evidence', 'String'],
    ],
    orderBy: ['model_name', 'event_time', 'event_id'],
    partitionBy: 'toYYYYMM(event_time)',
    toRow: (e) => ({
      event_id: str(e.event_id),
      event_time: dateTime(e.event_time),
      event_time_ms: millis(e.event_time),
      model_name: str(e.model_name),
      reason: str(e.reason),
      requested_by: str(e.requested_by),
      base_version: optStr(e.base_version),
      evidence: json(e.evidence ?? null),
    }),
  },
  {
    name: 'training_runs',
    topic: TOPICS.trainingRuns,
    columns: [
      ['event_id', 'String'],
      ['event_time', "DateTime('UTC')"],
      ['event_time_ms', 'Int64'],
      ['run_id', 'String'],
      ['model_name', 'String'],
      ['request_id', 'Nullable(String)'],
      ['event_type', 'String'],
      ['payload', 'String'],
    ],
    orderBy: ['model_name', 'run_id', 'event_time', 'event_id'],
    partitionBy: 'toYYYYMM(event_time)',
    toRow: (e) => {
      const { event_id, event_time, run_id, model_name, request_id, event_type, ...payload } = e;
      return {
        event_id: str(event_id),
        event_time: dateTime(event_time),
        event_time_ms: millis(event_time),
        run_id: str(run_id),
        model_name: str(model_name),
        request_id: optStr(request_id),
        event_type: str(event_type),
        payload: json(payload),
      };
    },
  },
  {
    name: 'drift_reports',
    topic: TOPICS.monitoringDrift,
    columns: [
      ['event_id', 'String'],
      ['event_time', "DateTime('UTC')"],
      ['model_name', 'String'],
      ['model_version', 'String'],
      ['feature', 'String'],
      ['target', 'String'],
      ['window_start', "DateTime('UTC')"],
      ['window_end', "DateTime('UTC')"],
      ['psi', 'Nullable(Float64)'],
      ['kl', 'Nullable(Float64)'],
      ['status', 'String'],
      ['count', 'Int64'],
      ['null_rate', 'Float64'],
      ['out_of_range_rate', 'Float64'],
      ['dlq_count', 'Int64'],
      ['report', 'String'],
    ],
    orderBy: ['model_name', 'feature', 'window_start', 'event_id'],
    partitionBy: 'toYYYYMM(window_start)',
    toRow: (e) => ({
      event_id: str(e.event_id),
      event_time: dateTime(e.event_time),
      model_name: str(e.model_name),
      model_version: str(e.model_version),
      feature: str(e.feature),
      target: str(e.target),
      window_start: dateTime(e.window_start),
      window_end: dateTime(e.window_end),
      psi: optNum(e.psi),
      kl: optNum(e.kl),
      status: str(e.status),
      count: Number(e.count),
      null_rate: Number(e.null_rate),
      out_of_range_rate: Number(e.out_of_range_rate),
      dlq_count: Number(e.dlq_count),
      report: json(e),
    }),
  },
];

/** DDL from checked identifiers and the fixed column types above; no user input reaches it. */
export function createTableSql(database: string, table: OfflineTable): string {
  const columns = table.columns.map(([name, type]) => `${ident(name).text} ${type}`).join(',\n  ');
  const orderBy = table.orderBy.map((c) => ident(c).text).join(', ');
  return `CREATE TABLE IF NOT EXISTS ${ident(`${database}.${table.name}`).text} (\n  ${columns}\n) ENGINE = ReplacingMergeTree() PARTITION BY ${table.partitionBy} ORDER BY (${orderBy})`;
}
