/**
 * Materializer transform (pure): each decoded feature event becomes one checked row of its group,
 * bound for both stores. A record that is not a valid event of its group — missing entity, a key
 * that is not the entity id, a value of the wrong type, a non-finite number, a bad time — is refused
 * with the reason, so the runner dead-letters it and the rest flows.
 */
import { type FeatureGroupDecl, type FeatureRow, rowFromEvent } from '../../features/declaration.ts';
import type { SourceRecord, TransformResult } from '../../runtime/types.ts';

export interface FeatureWrite {
  readonly group: string;
  readonly row: FeatureRow;
}

export function materializeTransform(groupsByTopic: ReadonlyMap<string, FeatureGroupDecl>) {
  return (records: ReadonlyArray<SourceRecord<Readonly<Record<string, unknown>>>>): TransformResult<FeatureWrite> => {
    const result: TransformResult<FeatureWrite> = { writes: [], rejected: [] };
    for (const record of records) {
      const group = groupsByTopic.get(record.topic);
      if (!group) {
        result.rejected.push({
          record,
          code: 'PROCESSING_FAILED',
          reason: `no feature group is declared for topic ${record.topic}`,
        });
        continue;
      }
      const checked = rowFromEvent(group, record.value, record.key);
      if ('reason' in checked)
        result.rejected.push({ record, code: 'PROCESSING_FAILED', reason: `invalid ${group.name} event: ${checked.reason}` });
      else result.writes.push({ group: group.name, row: checked.row });
    }
    return result;
  };
}
