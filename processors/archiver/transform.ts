/**
 * Archiver transform (pure): each decoded event becomes one row of its topic's offline table.
 * An event that cannot be mapped (a missing required field) is refused with the reason.
 */
import { errorMessage } from '../../kernel/errors.ts';
import type { SourceRecord, TransformResult } from '../../runtime/types.ts';
import type { ArchivedTable, Row } from '../../tables/history.ts';

export interface TableRow {
  table: string;
  row: Row;
}

export function archiveTransform(tablesByTopic: ReadonlyMap<string, ArchivedTable>) {
  return (records: ReadonlyArray<SourceRecord<Record<string, unknown>>>): TransformResult<TableRow> => {
    const result: TransformResult<TableRow> = { writes: [], rejected: [] };
    for (const record of records) {
      const table = tablesByTopic.get(record.topic);
      if (!table) {
        result.rejected.push({ record, code: 'PROCESSING_FAILED', reason: `no offline table for topic ${record.topic}` });
        continue;
      }
      try {
        result.writes.push({ table: table.name, row: table.toRow(record.value) });
      } catch (error) {
        result.rejected.push({
          record,
          code: 'PROCESSING_FAILED',
          reason: `cannot map to ${table.name}: ${errorMessage(error)}`,
        });
      }
    }
    return result;
  };
}
