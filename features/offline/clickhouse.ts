/**
 * The ClickHouse adapter of the offline store (SQL in sql.ts). Inserts are one JSONEachRow insert
 * per batch (acknowledged by ClickHouse before `writeBatch` resolves); point-in-time queries run in
 * chunks of entity rows, so the query text stays well under `max_query_size`.
 */
import { Readable } from 'node:stream';
import type { ClickHouseClient } from '../../kernel/clients.ts';
import { errorMessage, RheoError } from '../../kernel/errors.ts';
import { ident, sql } from '../../kernel/sql.ts';
import type { FeatureGroupDecl, FeatureRow } from '../declaration.ts';
import {
  addColumnSql,
  columnsSql,
  createTableSql,
  DEFAULT_TABLE_PREFIX,
  insertColumns,
  latestSql,
  makeNullableSql,
  planColumns,
  pointInTimeSql,
  rowFromTuple,
  tableName,
  tsvRows,
} from './sql.ts';
import { checkQuery, type OfflinePlan, type OfflineStore, type PointInTimeQuery, selectFeatures } from './store.ts';

export interface ClickHouseOfflineStoreOptions {
  database: string;
  /** Table name prefix; default `features_`. */
  tablePrefix?: string;
  ownsClient?: boolean;
  /** Entity rows per point-in-time query; default 2000 (also bounded by text size). */
  chunkRows?: number;
  /** Entities per `latest` page (buckets by hash); default 50 000. */
  latestPageEntities?: number;
}

const CHUNK_TEXT_BYTES = 200_000;

export class ClickHouseOfflineStore implements OfflineStore {
  readonly name = 'clickhouse';
  readonly client: ClickHouseClient;
  readonly database: string;
  readonly tablePrefix: string;
  readonly #ownsClient: boolean;
  readonly #chunkRows: number;
  readonly #pageEntities: number;

  constructor(client: ClickHouseClient, options: ClickHouseOfflineStoreOptions) {
    this.client = client;
    this.database = options.database;
    this.tablePrefix = options.tablePrefix ?? DEFAULT_TABLE_PREFIX;
    this.#ownsClient = options.ownsClient ?? false;
    this.#chunkRows = options.chunkRows ?? 2000;
    this.#pageEntities = options.latestPageEntities ?? 50_000;
  }

  table(group: FeatureGroupDecl | string): string {
    return tableName(this.tablePrefix, typeof group === 'string' ? group : group.name);
  }

  async plan(group: FeatureGroupDecl): Promise<OfflinePlan> {
    const table = this.table(group);
    const rows = await this.#select<{ name: string; type: string }>(columnsSql(this.database, table), 'reading columns');
    if (rows.length === 0) return { group: group.name, table, action: 'create', addColumns: [], makeNullable: [], conflicts: [] };
    const plan = planColumns(group, new Map(rows.map((r) => [r.name, r.type])));
    return {
      group: group.name,
      table,
      action: plan.add.length + plan.makeNullable.length > 0 ? 'alter' : 'none',
      addColumns: plan.add.map((f) => f.name),
      makeNullable: plan.makeNullable.map((f) => f.name),
      conflicts: plan.conflicts,
    };
  }

  async ensure(group: FeatureGroupDecl): Promise<OfflinePlan> {
    const plan = await this.plan(group);
    if (plan.conflicts.length > 0) {
      throw new RheoError(
        'SCHEMA_INCOMPATIBLE',
        `table ${this.database}.${plan.table} cannot hold feature group ${group.name}: ${plan.conflicts.join('; ')}`,
        { details: { group: group.name, table: plan.table, conflicts: plan.conflicts } },
      );
    }
    const table = plan.table;
    if (plan.action === 'create') await this.#command(createTableSql(this.database, table, group), 'creating the table');
    for (const name of plan.addColumns)
      await this.#command(
        addColumnSql(this.database, table, group.features.find((f) => f.name === name) as never),
        'adding a column',
      );
    for (const name of plan.makeNullable)
      await this.#command(
        makeNullableSql(this.database, table, group.features.find((f) => f.name === name) as never),
        'altering a column',
      );
    return plan;
  }

  async writeBatch(group: FeatureGroupDecl, rows: readonly FeatureRow[]): Promise<void> {
    if (rows.length === 0) return;
    try {
      // TabSeparated: far cheaper than JSON for ClickHouse to parse and for us to build.
      const text = tsvRows(group, rows);
      await this.client.insert({
        table: ident(`${this.database}.${this.table(group)}`).text,
        columns: insertColumns(group) as [string, ...string[]],
        values: Readable.from([Buffer.from(text)], { objectMode: false }),
        format: 'TabSeparated',
      });
    } catch (error) {
      throw new RheoError('SINK_UNAVAILABLE', `ClickHouse insert into ${this.table(group)} failed: ${errorMessage(error)}`, {
        cause: error,
      });
    }
  }

  async pointInTime(
    group: FeatureGroupDecl,
    queries: readonly PointInTimeQuery[],
    features?: readonly string[],
  ): Promise<Array<FeatureRow | null>> {
    const selected = selectFeatures(group, features);
    for (const query of queries) checkQuery(query);
    const out: Array<FeatureRow | null> = new Array(queries.length).fill(null);
    let start = 0;
    while (start < queries.length) {
      // A chunk ends at the row count or when the entity ids would make the query text too long.
      let end = start;
      let bytes = 0;
      while (end < queries.length && end - start < this.#chunkRows && bytes < CHUNK_TEXT_BYTES) {
        bytes += Buffer.byteLength((queries[end] as PointInTimeQuery).entityId) * 2 + 40;
        end++;
      }
      const chunk = queries.slice(start, end);
      const text = pointInTimeSql(this.database, this.table(group), group, selected, chunk);
      const rows = await this.#select<{ _q_row: number | string; _v: unknown[] }>(text, 'querying a point in time', {
        max_query_size: String(4 * CHUNK_TEXT_BYTES),
      });
      for (const row of rows) {
        const index = start + Number(row._q_row) - 1;
        out[index] = rowFromTuple((queries[index] as PointInTimeQuery).entityId, selected, row._v);
      }
      start = end;
    }
    return out;
  }

  async *latest(group: FeatureGroupDecl): AsyncIterable<FeatureRow[]> {
    const table = ident(`${this.database}.${this.table(group)}`);
    const [stats] = await this.#select<{ n: string | number }>(
      sql`SELECT uniqExact(entity_id) AS n FROM ${table}`.text,
      'counting',
    );
    const buckets = Math.max(1, Math.ceil(Number(stats?.n ?? 0) / this.#pageEntities));
    const features = [...group.features];
    for (let index = 0; index < buckets; index++) {
      const rows = await this.#select<{ entity_id: string; _v: unknown[] }>(
        latestSql(this.database, this.table(group), features, { index, of: buckets }),
        'reading the latest rows',
      );
      if (rows.length > 0) yield rows.map((row) => rowFromTuple(row.entity_id, features, row._v));
    }
  }

  async count(group: FeatureGroupDecl): Promise<number> {
    const [row] = await this.#select<{ n: string | number }>(
      sql`SELECT count() AS n FROM ${ident(`${this.database}.${this.table(group)}`)} FINAL`.text,
      'counting',
    );
    return Number(row?.n ?? 0);
  }

  async teardown(group: FeatureGroupDecl): Promise<void> {
    await this.#command(sql`DROP TABLE IF EXISTS ${ident(`${this.database}.${this.table(group)}`)}`.text, 'dropping the table');
  }

  async close(): Promise<void> {
    if (this.#ownsClient) await this.client.close();
  }

  async #select<T>(query: string, what: string, settings: Record<string, string> = {}): Promise<T[]> {
    try {
      const result = await this.client.query({ query, format: 'JSONEachRow', clickhouse_settings: settings as never });
      return (await result.json()) as T[];
    } catch (error) {
      throw new RheoError('SINK_UNAVAILABLE', `ClickHouse failed ${what}: ${errorMessage(error)}`, { cause: error });
    }
  }

  async #command(query: string, what: string): Promise<void> {
    try {
      await this.client.command({ query });
    } catch (error) {
      throw new RheoError('SINK_UNAVAILABLE', `ClickHouse failed ${what}: ${errorMessage(error)}`, { cause: error });
    }
  }
}
