/**
 * DDL for the tables catalogue and the one way to create what is missing. `CREATE TABLE IF NOT
 * EXISTS` and `CREATE VIEW IF NOT EXISTS` only: ensuring is idempotent and never alters an existing
 * object. Every name goes through `kernel/sql.ts`; types, keys and engines are the catalogue's fixed
 * values, so no user input reaches this SQL. A view's SELECT is its read model in `monitoring/`, the
 * same query the gateway and the CLI run. The SQL runs on ClickHouse 18.16 and current releases.
 */
import { ident, type SqlFragment } from '../kernel/sql.ts';
import { driftAlertsSql, driftWindowsSql } from '../monitoring/drift.ts';
import { qualitySql } from '../monitoring/quality.ts';
import {
  type CatalogueEntry,
  type Column,
  HISTORY_TABLES,
  TABLES,
  type TableEntry,
  tableRef,
  VIEWS,
  type ViewEntry,
} from './catalogue.ts';

const HOUR_MS = 3_600_000;

/** What ensuring needs of a ClickHouse client: running a statement (a `ClickHouseClient` is one). */
export interface DdlClient {
  command(params: { query: string }): Promise<unknown>;
}

/** Each view's SELECT, by view name: a view added to the catalogue without one does not compile. */
const VIEW_SELECTS: { readonly [V in keyof typeof VIEWS]: (database: string) => SqlFragment } = {
  model_quality_hourly: (database) => qualitySql({ database, windowMs: HOUR_MS }),
  drift_windows: driftWindowsSql,
  drift_alerts: driftAlertsSql,
};

function columnType(c: Column): string {
  return c.nullable ? `Nullable(${c.type})` : c.type;
}

export function createTableSql(database: string, table: TableEntry): string {
  const definitions = table.columns.map((c) => `${ident(c.name).text} ${columnType(c)}`).join(',\n  ');
  const version = table.engine.version === undefined ? '' : ident(table.engine.version).text;
  const orderBy = table.orderBy.map((c) => ident(c).text).join(', ');
  return `CREATE TABLE IF NOT EXISTS ${tableRef(database, table).text} (\n  ${definitions}\n) ENGINE = ${table.engine.name}(${version}) PARTITION BY toYYYYMM(${ident(table.partitionByMonthOf).text}) ORDER BY (${orderBy})`;
}

export function createViewSql(database: string, view: ViewEntry): string {
  const select = (VIEW_SELECTS as Readonly<Record<string, (database: string) => SqlFragment>>)[view.name];
  if (!select) throw new Error(`view ${view.name} is not in the tables catalogue`);
  return `CREATE VIEW IF NOT EXISTS ${tableRef(database, view).text} AS\n${select(database).text}`;
}

/** The DDL that creates `entries` and the tables their views read, tables first, each once. */
export function ensureStatements(database: string, entries: readonly CatalogueEntry[]): string[] {
  const tables = new Map<string, TableEntry>();
  const views = new Map<string, ViewEntry>();
  for (const entry of entries) {
    if (entry.kind === 'table') tables.set(entry.name, entry);
    else {
      for (const read of entry.reads) tables.set(read.name, read);
      views.set(entry.name, entry);
    }
  }
  return [
    ...[...tables.values()].map((t) => createTableSql(database, t)),
    ...[...views.values()].map((v) => createViewSql(database, v)),
  ];
}

/** Creates whatever of `entries` (and the tables their views read) is missing. */
export async function ensureTables(client: DdlClient, database: string, entries: readonly CatalogueEntry[]): Promise<void> {
  for (const query of ensureStatements(database, entries)) await client.command({ query });
}

/** The archiver's history tables, one per event topic. */
export function ensureHistoryTables(client: DdlClient, database: string): Promise<void> {
  return ensureTables(client, database, HISTORY_TABLES);
}

/**
 * What feedback and drift monitoring read and write: the history tables (the views read them), the
 * joiner's tables and the monitoring views.
 */
export function ensureMonitoringTables(client: DdlClient, database: string): Promise<void> {
  return ensureTables(client, database, [
    ...HISTORY_TABLES,
    TABLES.prediction_outcomes,
    TABLES.feedback_unmatched,
    ...Object.values(VIEWS),
  ]);
}
