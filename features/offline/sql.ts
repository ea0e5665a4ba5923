/**
 * The ClickHouse SQL of the offline store (pure; unit-tested), written for 18.16 and current releases
 * alike. Every value goes through `kernel/sql.ts` (`sql`, `ident`, `list`), identifiers included.
 *
 * Table per group, `<prefix><group>` (default `features_<group>`):
 *   entity_id String, event_time DateTime('UTC'), event_time_ms Int64, created_time_ms Int64,
 *   event_id String, then one column per feature (Float64 | Int64 | String | UInt8, Nullable when
 *   the feature is), ReplacingMergeTree ORDER BY (entity_id, event_time_ms, created_time_ms, event_id):
 *   a redelivered event has the same sorting key, so merges (or FINAL) keep one copy.
 *
 * Point in time without ASOF JOIN: the entity rows travel as two array literals and are unrolled with
 * arrayJoin; an ALL INNER JOIN on entity_id pairs each with that entity's history (pre-filtered to the
 * chunk's entities and time range), a WHERE keeps only rows known and valid at the row's time
 * (event_time ≤ t, created_time ≤ t, t < event_time + TTL), and `argMax(tuple(values), tuple(event_time,
 * created_time, event_id))` picks the newest per entity row. The values travel inside a tuple because
 * argMax over a Nullable argument skips NULLs (it would return an older non-null value).
 */
import { ident, join, list, SqlFragment, SqlInjectionError, sql } from '../../kernel/sql.ts';
import type { FeatureDecl, FeatureGroupDecl, FeatureRow, FeatureValue } from '../declaration.ts';

export const DEFAULT_TABLE_PREFIX = 'features_';

export const BASE_COLUMNS: ReadonlyArray<readonly [string, string]> = [
  ['entity_id', 'String'],
  ['event_time', "DateTime('UTC')"],
  ['event_time_ms', 'Int64'],
  ['created_time_ms', 'Int64'],
  ['event_id', 'String'],
];

export const SORTING_KEY = ['entity_id', 'event_time_ms', 'created_time_ms', 'event_id'] as const;

const TYPES: Record<FeatureDecl['type'], string> = { double: 'Float64', long: 'Int64', string: 'String', boolean: 'UInt8' };

export function columnType(feature: Pick<FeatureDecl, 'type' | 'nullable'>): string {
  const base = TYPES[feature.type];
  return feature.nullable ? `Nullable(${base})` : base;
}

/** `<prefix><group>`, checked to be a plain identifier. */
export function tableName(prefix: string, group: string): string {
  const name = `${prefix}${group}`;
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new SqlInjectionError(`not a plain table name: ${JSON.stringify(name)}`);
  return name;
}

function qualified(database: string, table: string): SqlFragment {
  return ident(`${database}.${table}`);
}

function columnDefinition(feature: FeatureDecl): SqlFragment {
  const type = columnTypeSql(columnType(feature));
  if (feature.default === undefined || feature.nullable) return sql`${ident(feature.name)} ${type}`;
  return sql`${ident(feature.name)} ${type} DEFAULT ${feature.default}`;
}

/** Column types come from the fixed map above (never from input); checked again before joining them in. */
function columnTypeSql(type: string): SqlFragment {
  if (!/^(Nullable\()?(Float64|Int64|String|UInt8|DateTime\('UTC'\))\)?$/.test(type))
    throw new SqlInjectionError(`not a column type: ${type}`);
  return new SqlFragment(type);
}

export function createTableSql(database: string, table: string, group: FeatureGroupDecl): string {
  const columns = [
    ...BASE_COLUMNS.map(([name, type]) => sql`${ident(name)} ${columnTypeSql(type)}`),
    ...group.features.map(columnDefinition),
  ];
  const orderBy = join(SORTING_KEY.map((c) => ident(c)));
  return sql`CREATE TABLE IF NOT EXISTS ${qualified(database, table)} (\n  ${join(columns, ',\n  ')}\n) ENGINE = ReplacingMergeTree() PARTITION BY toYYYYMM(event_time) ORDER BY (${orderBy})`
    .text;
}

/** 18.16 has no `ADD COLUMN IF NOT EXISTS`: the caller adds only columns system.columns lacks. */
export function addColumnSql(database: string, table: string, feature: FeatureDecl): string {
  return sql`ALTER TABLE ${qualified(database, table)} ADD COLUMN ${columnDefinition(feature)}`.text;
}

/** Making a feature nullable is BACKWARD compatible in Avro; the column follows. */
export function makeNullableSql(database: string, table: string, feature: FeatureDecl): string {
  return sql`ALTER TABLE ${qualified(database, table)} MODIFY COLUMN ${ident(feature.name)} ${columnTypeSql(columnType({ ...feature, nullable: true }))}`
    .text;
}

export function columnsSql(database: string, table: string): string {
  return sql`SELECT name, type FROM system.columns WHERE database = ${database} AND table = ${table}`.text;
}

export interface ColumnPlan {
  /** Features without a column yet. */
  add: FeatureDecl[];
  /** Non-nullable columns of features now declared nullable. */
  makeNullable: FeatureDecl[];
  /** Why the table cannot follow the declaration (nothing is changed then). */
  conflicts: string[];
}

/** Pure: how an existing table must change to hold the declaration. */
export function planColumns(group: FeatureGroupDecl, existing: ReadonlyMap<string, string>): ColumnPlan {
  const plan: ColumnPlan = { add: [], makeNullable: [], conflicts: [] };
  for (const [name, type] of BASE_COLUMNS) {
    const actual = existing.get(name);
    if (actual !== type) plan.conflicts.push(`column ${name} is ${actual ?? 'missing'}, expected ${type}`);
  }
  for (const feature of group.features) {
    const actual = existing.get(feature.name);
    const expected = columnType(feature);
    if (actual === undefined) plan.add.push(feature);
    else if (actual === expected) continue;
    else if (feature.nullable && actual === columnType({ ...feature, nullable: false })) plan.makeNullable.push(feature);
    else
      plan.conflicts.push(
        `feature "${feature.name}" is declared ${feature.type}${feature.nullable ? ' (nullable)' : ''} (${expected}) but its column holds ${actual}; a type change is never compatible: declare a new feature instead`,
      );
  }
  return plan;
}

/** Columns written per row, in TabSeparated order (features the declaration no longer has take their defaults). */
export function insertColumns(group: FeatureGroupDecl): string[] {
  return [...BASE_COLUMNS.map(([name]) => name), ...group.features.map((f) => f.name)];
}

const TSV_ESCAPES: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r', '\0': '\\0' };

/** A value in ClickHouse's TabSeparated escaping: `\N` for null, backslash escapes for \\ \t \n \r \0. */
export function tsvValue(value: FeatureValue): string {
  if (value === null) return '\\N';
  if (typeof value === 'boolean') return value ? '1' : '0';
  if (typeof value === 'number') return String(value);
  return value.replace(/[\\\t\n\r\0]/g, (ch) => TSV_ESCAPES[ch] as string);
}

/** `YYYY-MM-DD hh:mm:ss` (UTC) of epoch ms. */
export function dateTimeText(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().slice(0, 19).replace('T', ' ');
}

/**
 * `dateTimeText` for the rows of one batch: consecutive rows mostly share a second, so the last
 * one is remembered. Instance state, one per batch, so nothing is shared between writers.
 */
export class DateTimeTexts {
  private second = Number.NaN;
  private text = '';

  of(ms: number): string {
    const second = Math.floor(ms / 1000);
    if (second !== this.second) {
      this.second = second;
      this.text = dateTimeText(ms);
    }
    return this.text;
  }
}

/** One TabSeparated line of a row, columns as `insertColumns`. Data, not SQL: nothing here is parsed as a query. */
export function tsvRow(group: FeatureGroupDecl, row: FeatureRow, dates: DateTimeTexts = new DateTimeTexts()): string {
  let line = `${tsvValue(row.entityId)}\t${dates.of(row.eventTime)}\t${row.eventTime}\t${row.createdTime}\t${tsvValue(row.eventId)}`;
  for (const feature of group.features) line += `\t${tsvValue(row.values[feature.name] ?? null)}`;
  return `${line}\n`;
}

/** The TabSeparated text of a batch of rows. */
export function tsvRows(group: FeatureGroupDecl, rows: readonly FeatureRow[]): string {
  const dates = new DateTimeTexts();
  let text = '';
  for (const row of rows) text += tsvRow(group, row, dates);
  return text;
}

/** The tuple every query returns per entity: (event_time_ms, created_time_ms, event_id, features...). */
function valueTuple(features: readonly FeatureDecl[]): SqlFragment {
  return sql`tuple(event_time_ms, created_time_ms, event_id${join(
    features.map((f) => sql`, ${ident(f.name)}`),
    '',
  )})`;
}

const VERSION = sql`tuple(event_time_ms, created_time_ms, event_id)`;

export interface PointInTimeQuery {
  readonly entityId: string;
  /** Epoch ms ≥ 0. */
  readonly timestamp: number;
}

/**
 * For each query row (1-based `_q_row`), the newest row of its entity with event_time ≤ t,
 * created_time ≤ t and (with a TTL) t < event_time + TTL. Rows without a match are absent.
 */
export function pointInTimeSql(
  database: string,
  table: string,
  group: FeatureGroupDecl,
  features: readonly FeatureDecl[],
  queries: readonly PointInTimeQuery[],
): string {
  const ids = queries.map((q) => q.entityId);
  const times = queries.map((q) => q.timestamp);
  const maxTs = Math.max(...times);
  const ttl = group.ttlSeconds === undefined ? undefined : group.ttlSeconds * 1000;
  const columns = join(
    ['entity_id', 'event_time_ms', 'created_time_ms', 'event_id', ...features.map((f) => f.name)].map((c) => ident(c)),
  );
  const historyTtl = ttl === undefined ? sql`` : sql` AND event_time_ms > ${Math.min(...times) - ttl}`;
  const rowTtl = ttl === undefined ? sql`` : sql` AND event_time_ms > _q_ts - ${ttl}`;
  return sql`SELECT _q_row, argMax(${valueTuple(features)}, ${VERSION}) AS _v
FROM (
  SELECT arrayJoin(arrayEnumerate(_q_ids)) AS _q_row, _q_ids[_q_row] AS entity_id, toInt64(_q_tss[_q_row]) AS _q_ts
  FROM (SELECT ${ids} AS _q_ids, ${times} AS _q_tss)
)
ALL INNER JOIN (
  SELECT ${columns} FROM ${qualified(database, table)}
  WHERE entity_id IN ${list([...new Set(ids)])} AND event_time_ms <= ${maxTs} AND created_time_ms <= ${maxTs}${historyTtl}
) USING entity_id
WHERE event_time_ms <= _q_ts AND created_time_ms <= _q_ts${rowTtl}
GROUP BY _q_row`.text;
}

/** The newest row per entity (whatever its age), optionally for one hash bucket of entities. */
export function latestSql(
  database: string,
  table: string,
  features: readonly FeatureDecl[],
  bucket?: { index: number; of: number },
): string {
  const where = bucket && bucket.of > 1 ? sql` WHERE cityHash64(entity_id) % ${bucket.of} = ${bucket.index}` : sql``;
  return sql`SELECT entity_id, argMax(${valueTuple(features)}, ${VERSION}) AS _v FROM ${qualified(database, table)}${where} GROUP BY entity_id`
    .text;
}

/** Turns `_v` (ClickHouse JSON: 64-bit integers quoted, booleans as 0/1) back into a row. */
export function rowFromTuple(entityId: string, features: readonly FeatureDecl[], tuple: readonly unknown[]): FeatureRow {
  const values: Record<string, FeatureValue> = {};
  features.forEach((feature, i) => {
    values[feature.name] = fromColumn(feature, tuple[i + 3]);
  });
  return {
    entityId,
    eventTime: Number(tuple[0]),
    createdTime: Number(tuple[1]),
    eventId: String(tuple[2]),
    values,
  };
}

export function fromColumn(feature: Pick<FeatureDecl, 'type'>, value: unknown): FeatureValue {
  if (value === null || value === undefined) return null;
  switch (feature.type) {
    case 'double':
    case 'long':
      return Number(value);
    case 'boolean':
      return Number(value) !== 0;
    case 'string':
      return String(value);
  }
}
