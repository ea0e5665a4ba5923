/**
 * The label join (pure): which predictions a label is for, and the outcome rows it yields.
 *
 * - By prediction id: every variant scored for that request (production, canary, shadow…) gets the
 *   label, since they share `prediction_id`.
 * - By entity (the label names no prediction): per model (or only `model_name` when the label names
 *   one), the entity's latest prediction at or before the label's reference time — `reference_time`,
 *   else `observed_time` — and no older than the entity window; again with all its variants.
 *
 * An outcome row is keyed by the prediction's event id, so a label delivered twice, or two labels for
 * one prediction, leave one row (the latest observation wins) — ClickHouse `ReplacingMergeTree`.
 */

import type { ColumnName, InsertRow, TABLES } from '../../tables/catalogue.ts';

export interface LabelEvent {
  event_id: string;
  event_time: number;
  prediction_id: string | null;
  entity_id: string | null;
  reference_time: number | null;
  model_name: string | null;
  label: number;
  observed_time: number;
  label_source: string | null;
}

/** The columns of `rheo.predictions` a join needs. */
export const PREDICTION_JOIN_COLUMNS = [
  'event_id',
  'prediction_id',
  'entity_id',
  'model_name',
  'model_version',
  'variant',
  'source',
  'score',
  'predicted_label',
  'event_time_ms',
  'request_time_ms',
] as const satisfies ReadonlyArray<ColumnName<typeof TABLES.predictions>>;

export type PredictionRow = Pick<InsertRow<typeof TABLES.predictions>, (typeof PREDICTION_JOIN_COLUMNS)[number]>;

export type JoinKind = 'prediction_id' | 'entity';

/** One row of `rheo.prediction_outcomes` (`version`: the latest observation of a prediction's truth wins). */
export type OutcomeRow = InsertRow<typeof TABLES.prediction_outcomes> & { join_kind: JoinKind };

export interface JoinSettings {
  /** How far back from its reference time an entity label looks for a prediction. */
  entityWindowMs: number;
}

export const DEFAULT_JOIN_SETTINGS: JoinSettings = { entityWindowMs: 24 * 3_600_000 };

export function referenceTime(label: LabelEvent): number {
  return label.reference_time ?? label.observed_time;
}

/** `YYYY-MM-DD hh:mm:ss` (UTC), what DateTime('UTC') parses in every ClickHouse version. */
export function clickHouseTime(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19).replace('T', ' ');
}

function later(a: PredictionRow, b: PredictionRow): boolean {
  if (a.request_time_ms !== b.request_time_ms) return a.request_time_ms > b.request_time_ms;
  if (a.event_time_ms !== b.event_time_ms) return a.event_time_ms > b.event_time_ms;
  return a.prediction_id > b.prediction_id;
}

/** The predictions a label is for (all variants), from candidate rows (duplicates by event id allowed). */
export function matchLabel(label: LabelEvent, candidates: readonly PredictionRow[], settings: JoinSettings): PredictionRow[] {
  const unique = new Map<string, PredictionRow>();
  if (label.prediction_id !== null) {
    for (const p of candidates) if (p.prediction_id === label.prediction_id) unique.set(p.event_id, p);
    return [...unique.values()].sort((a, b) => (a.event_id < b.event_id ? -1 : 1));
  }
  if (label.entity_id === null) return [];
  const at = referenceTime(label);
  const latest = new Map<string, PredictionRow>();
  for (const p of candidates) {
    if (p.entity_id !== label.entity_id) continue;
    if (label.model_name !== null && p.model_name !== label.model_name) continue;
    if (p.request_time_ms > at || p.request_time_ms < at - settings.entityWindowMs) continue;
    const best = latest.get(p.model_name);
    if (!best || later(p, best)) latest.set(p.model_name, p);
  }
  const chosen = new Set([...latest.values()].map((p) => `${p.model_name}\u0000${p.prediction_id}`));
  for (const p of candidates) if (chosen.has(`${p.model_name}\u0000${p.prediction_id}`)) unique.set(p.event_id, p);
  return [...unique.values()].sort((a, b) => (a.event_id < b.event_id ? -1 : 1));
}

export function outcomeRow(label: LabelEvent, p: PredictionRow): OutcomeRow {
  return {
    prediction_event_id: p.event_id,
    prediction_id: p.prediction_id,
    entity_id: p.entity_id,
    model_name: p.model_name,
    model_version: p.model_version,
    variant: p.variant,
    source: p.source,
    prediction_time: clickHouseTime(p.event_time_ms),
    prediction_time_ms: p.event_time_ms,
    request_time_ms: p.request_time_ms,
    score: p.score,
    predicted_label: p.predicted_label,
    label: label.label,
    label_event_id: label.event_id,
    label_source: label.label_source,
    observed_time: clickHouseTime(label.observed_time),
    observed_time_ms: label.observed_time,
    label_delay_ms: label.observed_time - p.request_time_ms,
    join_kind: label.prediction_id !== null ? 'prediction_id' : 'entity',
    version: Math.max(0, label.observed_time),
  };
}

export interface JoinResult {
  outcomes: OutcomeRow[];
  unmatched: LabelEvent[];
}

/** Joins labels (in order) against candidate predictions; labels that match nothing come back unmatched. */
export function joinLabels(
  labels: readonly LabelEvent[],
  candidates: readonly PredictionRow[],
  settings: JoinSettings,
): JoinResult {
  const result: JoinResult = { outcomes: [], unmatched: [] };
  for (const label of labels) {
    const matches = matchLabel(label, candidates, settings);
    if (matches.length === 0) result.unmatched.push(label);
    else for (const p of matches) result.outcomes.push(outcomeRow(label, p));
  }
  return result;
}
