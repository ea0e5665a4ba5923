/**
 * Feedback joiner transform (pure): labels with their candidate predictions (from the enrich stage)
 * become outcome rows, one per joined prediction variant, or one unmatched row when the lookup gave
 * up. `toLabelEvent` checks a label before any lookup: one that names neither a prediction nor an
 * entity, or whose label is not a finite number, is refused with the reason (dead-lettered).
 */
import type { SourceRecord, TransformResult } from '../../runtime/types.ts';
import type { Feedback } from '../../schemas/index.ts';
import type { InsertRow, TABLES } from '../../tables/catalogue.ts';
import { clickHouseTime, type JoinSettings, joinLabels, type LabelEvent, type OutcomeRow, type PredictionRow } from './join.ts';

/** A label and the predictions it may join to; `gaveUpAt` is set when none landed within the wait. */
export interface LabelWithCandidates {
  label: LabelEvent;
  candidates: PredictionRow[];
  gaveUpAt: number | null;
}

/** One row of `rheo.feedback_unmatched`. */
export type UnmatchedRow = InsertRow<typeof TABLES.feedback_unmatched>;

/** One write per label: its outcome rows (one per joined prediction variant), or its unmatched row. */
export type JoinerWrite = { table: 'outcomes'; rows: OutcomeRow[] } | { table: 'unmatched'; row: UnmatchedRow };

export function toLabelEvent(f: Feedback): LabelEvent | { refused: string } {
  if (f.prediction_id === null && f.entity_id === null)
    return { refused: 'feedback names neither a prediction_id nor an entity_id' };
  if (!Number.isFinite(f.label)) return { refused: `label ${f.label} is not a finite number` };
  return {
    event_id: f.event_id,
    event_time: f.event_time,
    prediction_id: f.prediction_id,
    entity_id: f.entity_id,
    reference_time: f.reference_time,
    model_name: f.model_name,
    label: f.label,
    observed_time: f.observed_time,
    label_source: f.label_source,
  };
}

export function unmatchedRow(label: LabelEvent, gaveUpAt: number, waitMs: number): UnmatchedRow {
  return {
    label_event_id: label.event_id,
    event_time: clickHouseTime(label.event_time),
    prediction_id: label.prediction_id,
    entity_id: label.entity_id,
    reference_time_ms: label.reference_time,
    model_name: label.model_name,
    label: label.label,
    observed_time_ms: label.observed_time,
    reason: `no prediction in ClickHouse after ${waitMs} ms (${label.prediction_id === null ? `entity ${label.entity_id}` : `prediction ${label.prediction_id}`})`,
    given_up_at: clickHouseTime(gaveUpAt),
  };
}

export function joinTransform(settings: JoinSettings & { waitMs: number }) {
  return (records: ReadonlyArray<SourceRecord<LabelWithCandidates>>): TransformResult<JoinerWrite> => {
    const writes: JoinerWrite[] = [];
    for (const { value } of records) {
      const joined = joinLabels([value.label], value.candidates, settings);
      if (joined.outcomes.length > 0) writes.push({ table: 'outcomes', rows: joined.outcomes });
      for (const label of joined.unmatched)
        writes.push({ table: 'unmatched', row: unmatchedRow(label, value.gaveUpAt ?? label.observed_time, settings.waitMs) });
    }
    return { writes, rejected: [] };
  };
}
