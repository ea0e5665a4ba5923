/**
 * The archiver's history tables as mappings: for each catalogue table filled from a topic, the pure
 * function from a decoded event of that topic to its row. Each mapping is typed by its catalogue
 * entry (`InsertRow`), so a column added to the catalogue without a value here does not compile. The
 * archiver, the batch scorer (which inserts its predictions directly) and the fraud example's labeled
 * history all map events through these, so a row looks the same whoever wrote it.
 */
import type { TopicEntry } from '../topics/catalogue.ts';
import { type HistoryTableEntry, type InsertRow, TABLES, type TableName } from './catalogue.ts';

export type Row = Record<string, string | number | null>;

export interface ArchivedTable {
  /** Table name inside the Rheo database. */
  readonly name: string;
  readonly topic: TopicEntry;
  readonly entry: HistoryTableEntry;
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

type HistoryName = {
  [K in TableName]: (typeof TABLES)[K] extends { readonly source: TopicEntry } ? K : never;
}[TableName];

/** Per history table, the mapping of one decoded event to its row. */
const TO_ROW: { readonly [K in HistoryName]: (e: Record<string, unknown>) => InsertRow<(typeof TABLES)[K]> } = {
  predictions: (e) => ({
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
  feedback: (e) => ({
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
  model_events: (e) => {
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
  retrain_requests: (e) => ({
    event_id: str(e.event_id),
    event_time: dateTime(e.event_time),
    event_time_ms: millis(e.event_time),
    model_name: str(e.model_name),
    reason: str(e.reason),
    requested_by: str(e.requested_by),
    base_version: optStr(e.base_version),
    evidence: json(e.evidence ?? null),
  }),
  training_runs: (e) => {
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
  drift_reports: (e) => ({
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
};

export function archivedTable(name: HistoryName): ArchivedTable {
  const entry: HistoryTableEntry = TABLES[name];
  return { name: entry.name, topic: entry.source, entry, toRow: TO_ROW[name] };
}

/** Every history table with its mapping, in catalogue order. */
export const ARCHIVED_TABLES: readonly ArchivedTable[] = (Object.keys(TO_ROW) as HistoryName[]).map(archivedTable);
