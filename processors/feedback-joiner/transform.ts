/**
 * Feedback joiner transform (pure): each decoded label becomes a join request for the sink, which
 * looks its prediction up in ClickHouse. A label that names neither a prediction nor an entity, or
 * whose label is not a finite number, is refused with the reason (dead-lettered by the runner).
 */

import type { SourceRecord, TransformResult } from '../../runtime/types.ts';
import type { Feedback } from '../../schemas/index.ts';
import type { LabelEvent } from './join.ts';

export function joinTransform(records: ReadonlyArray<SourceRecord<Feedback>>): TransformResult<LabelEvent> {
  const result: TransformResult<LabelEvent> = { writes: [], rejected: [] };
  for (const record of records) {
    const f = record.value;
    if (f.prediction_id === null && f.entity_id === null) {
      result.rejected.push({
        record,
        code: 'PROCESSING_FAILED',
        reason: 'feedback names neither a prediction_id nor an entity_id',
      });
      continue;
    }
    if (!Number.isFinite(f.label)) {
      result.rejected.push({ record, code: 'PROCESSING_FAILED', reason: `label ${f.label} is not a finite number` });
      continue;
    }
    result.writes.push({
      event_id: f.event_id,
      event_time: f.event_time,
      prediction_id: f.prediction_id,
      entity_id: f.entity_id,
      reference_time: f.reference_time,
      model_name: f.model_name,
      label: f.label,
      observed_time: f.observed_time,
      label_source: f.label_source,
    });
  }
  return result;
}
