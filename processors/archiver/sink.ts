/**
 * ClickHouse sink: one JSONEachRow insert per table per chunk. Resolves only when ClickHouse
 * acknowledged the insert; network failures are retriable (the runner pauses and retries).
 */
import type { ClickHouseClient } from '../../kernel/clients.ts';
import { RheoError } from '../../kernel/errors.ts';
import { ident } from '../../kernel/sql.ts';
import type { Sink } from '../../runtime/types.ts';
import type { TableRow } from './transform.ts';

export function clickHouseRowSink(client: ClickHouseClient, database: string): Sink<TableRow> {
  return {
    name: 'clickhouse',
    async write(writes, signal) {
      const byTable = new Map<string, TableRow['row'][]>();
      for (const { table, row } of writes) {
        const rows = byTable.get(table);
        if (rows) rows.push(row);
        else byTable.set(table, [row]);
      }
      for (const [table, values] of byTable) {
        try {
          await client.insert({ table: ident(`${database}.${table}`).text, values, format: 'JSONEachRow', abort_signal: signal });
        } catch (error) {
          throw new RheoError(
            'SINK_UNAVAILABLE',
            `ClickHouse insert into ${table} failed: ${error instanceof Error ? error.message : String(error)}`,
            { cause: error },
          );
        }
      }
    },
  };
}
