import { describe, expect, it } from 'vitest';
import { explainSchemaChange } from '../../../features/apply.ts';
import {
  addColumnSql,
  columnType,
  createTableSql,
  DateTimeTexts,
  dateTimeText,
  fromColumn,
  insertColumns,
  latestSql,
  makeNullableSql,
  planColumns,
  pointInTimeSql,
  rowFromTuple,
  tableName,
  tsvRow,
  tsvRows,
  tsvValue,
} from '../../../features/offline/sql.ts';
import { featureGroupSchema } from '../../../schemas/index.ts';
import { row, testGroup } from '../../support/feature-groups.ts';

const group = { ...testGroup('sql'), name: 'card_activity' };

/** The SQL with every single-quoted string literal (ClickHouse escapes) replaced by '?': what is left is code. */
function code(text: string): string {
  return text.replace(/'(?:[^'\\]|\\.)*'/gs, "'?'");
}

const HOSTILE = [
  "' OR 1=1 --",
  "x'); DROP TABLE rheo.features_card_activity; --",
  'back\\slash\\',
  "\\' OR ''='",
  "a\\\\'b",
  'line\nbreak',
  'nul\0byte',
  '`ident` /* comment */ "q"',
  "') UNION ALL SELECT * FROM system.users --",
];

describe('offline table DDL', () => {
  it('derives one table per group: base columns, typed features, ReplacingMergeTree keyed by the event', () => {
    const ddl = createTableSql('rheo', tableName('features_', group.name), group);
    expect(ddl).toContain('CREATE TABLE IF NOT EXISTS `rheo`.`features_card_activity`');
    expect(ddl).toContain("`event_time` DateTime('UTC')");
    expect(ddl).toContain('`amount` Nullable(Float64)');
    expect(ddl).toContain('`count` Int64 DEFAULT 0');
    expect(ddl).toContain('`label` String');
    expect(ddl).toContain('`flag` UInt8');
    expect(ddl).toContain(
      'ENGINE = ReplacingMergeTree() PARTITION BY toYYYYMM(event_time) ORDER BY (`entity_id`, `event_time_ms`, `created_time_ms`, `event_id`)',
    );
    expect(columnType({ type: 'boolean', nullable: true })).toBe('Nullable(UInt8)');
  });

  it('refuses table names that are not plain identifiers', () => {
    expect(() => tableName('features_', 'x; DROP TABLE y')).toThrow(/plain table name/);
    expect(() => tableName('bad-prefix_', 'x')).toThrow(/plain table name/);
  });

  it('plans a compatible change (new column, nullable widening) and refuses a type change', () => {
    const existing = new Map([
      ['entity_id', 'String'],
      ['event_time', "DateTime('UTC')"],
      ['event_time_ms', 'Int64'],
      ['created_time_ms', 'Int64'],
      ['event_id', 'String'],
      ['amount', 'Float64'],
      ['count', 'Int64'],
      ['label', 'Int64'],
    ]);
    const plan = planColumns(group, existing);
    expect(plan.add.map((f) => f.name)).toEqual(['flag']);
    expect(plan.makeNullable.map((f) => f.name)).toEqual(['amount']);
    expect(plan.conflicts).toEqual([
      'feature "label" is declared string (String) but its column holds Int64; a type change is never compatible: declare a new feature instead',
    ]);
    expect(addColumnSql('rheo', 't', group.features[3] as never)).toBe('ALTER TABLE `rheo`.`t` ADD COLUMN `flag` UInt8');
    expect(makeNullableSql('rheo', 't', group.features[0] as never)).toBe(
      'ALTER TABLE `rheo`.`t` MODIFY COLUMN `amount` Nullable(Float64)',
    );
  });

  it('writes each row as one TabSeparated line, every column listed, strings escaped, null as \\N', () => {
    const r = row('e\tvil\n', Date.UTC(2026, 0, 2, 3, 4, 5, 678), {
      eventId: 'id\\0',
      values: { amount: null, count: 1, label: 'a\rb\0c', flag: true },
    });
    expect(insertColumns(group)).toEqual([
      'entity_id',
      'event_time',
      'event_time_ms',
      'created_time_ms',
      'event_id',
      'amount',
      'count',
      'label',
      'flag',
    ]);
    expect(tsvRow(group, r)).toBe(
      `e\\tvil\\n\t2026-01-02 03:04:05\t${r.eventTime}\t${r.createdTime}\tid\\\\0\t\\N\t1\ta\\rb\\0c\t1\n`,
    );
    expect(tsvValue(-1e-300)).toBe('-1e-300');
  });

  it('reads tuples back with quoted 64-bit integers and 0/1 booleans', () => {
    expect(rowFromTuple('e', group.features, ['1000', '1001', 'id', null, '9007199254740991', 'l', 0])).toEqual({
      entityId: 'e',
      eventTime: 1_000,
      createdTime: 1_001,
      eventId: 'id',
      values: { amount: null, count: 9_007_199_254_740_991, label: 'l', flag: false },
    });
    expect(fromColumn({ type: 'boolean' }, 1)).toBe(true);
  });
});

describe('point-in-time SQL (ClickHouse 18.16: no ASOF JOIN)', () => {
  const text = pointInTimeSql('rheo', 'features_card_activity', group, group.features, [
    { entityId: 'a', timestamp: 5_000 },
    { entityId: 'b', timestamp: 9_000_000 },
  ]);

  it('joins each entity row with its history and keeps the newest row known and valid at that time', () => {
    expect(text).not.toMatch(/ASOF/i);
    expect(text).toContain("SELECT ['a', 'b'] AS _q_ids, [5000, 9000000] AS _q_tss");
    expect(text).toContain('ALL INNER JOIN');
    expect(text).toContain('USING entity_id');
    expect(text).toContain('WHERE event_time_ms <= _q_ts AND created_time_ms <= _q_ts AND event_time_ms > _q_ts - 3600000');
    expect(text).toContain(
      'argMax(tuple(event_time_ms, created_time_ms, event_id, `amount`, `count`, `label`, `flag`), tuple(event_time_ms, created_time_ms, event_id))',
    );
    // History pre-filtered to the chunk's entities and time range.
    expect(text).toContain(
      "WHERE entity_id IN ('a', 'b') AND event_time_ms <= 9000000 AND created_time_ms <= 9000000 AND event_time_ms > -3595000",
    );
  });

  it('drops the TTL condition for a group without TTL', () => {
    const forever = pointInTimeSql('rheo', 't', { ...group, ttlSeconds: undefined }, group.features, [
      { entityId: 'a', timestamp: 1 },
    ]);
    expect(forever).not.toContain('_q_ts -');
  });

  it('renders hostile entity ids only as escaped string literals', () => {
    const hostile = pointInTimeSql(
      'rheo',
      'features_card_activity',
      group,
      group.features,
      HOSTILE.map((entityId, i) => ({ entityId, timestamp: i })),
    );
    const rest = code(hostile);
    for (const fragment of ['DROP', 'UNION', 'OR 1=1', '--', ';', '/*', 'system.users', '"q"', '\0', "\n'"]) {
      expect(rest, fragment).not.toContain(fragment);
    }
    // Every id is there, escaped the ClickHouse way.
    expect(hostile).toContain("'\\' OR 1=1 --'");
    expect(hostile).toContain("'back\\\\slash\\\\'");
    expect(hostile).toContain("'nul\\0byte'");
    expect(hostile).toContain("'line\\nbreak'");
  });

  it('refuses identifiers and values that are not what they claim', () => {
    expect(() => pointInTimeSql('rheo', 't` WHERE 1', group, group.features, [{ entityId: 'a', timestamp: 1 }])).toThrow();
    expect(() => pointInTimeSql('rheo', 't', group, group.features, [{ entityId: 'a', timestamp: Number.NaN }])).toThrow(
      /finite/,
    );
  });

  it('reads the newest row per entity, optionally one hash bucket at a time', () => {
    expect(latestSql('rheo', 't', group.features)).toBe(
      'SELECT entity_id, argMax(tuple(event_time_ms, created_time_ms, event_id, `amount`, `count`, `label`, `flag`), tuple(event_time_ms, created_time_ms, event_id)) AS _v FROM `rheo`.`t` GROUP BY entity_id',
    );
    expect(latestSql('rheo', 't', [], { index: 2, of: 4 })).toContain('WHERE cityHash64(entity_id) % 4 = 2 GROUP BY entity_id');
  });
});

describe('explaining an incompatible declaration change', () => {
  const before = featureGroupSchema(group);

  it('says which feature changed type and what to do instead', () => {
    const retyped = featureGroupSchema({
      ...group,
      features: group.features.map((f) => (f.name === 'count' ? { ...f, type: 'string' as const, default: '0' } : f)),
    });
    expect(explainSchemaChange(before, retyped)).toEqual([
      'feature "count" changed type from long to string: a type change is never compatible; declare a new feature (e.g. "count_v2") and stop producing the old one',
    ]);
  });

  it('says a new feature needs a default or nullability', () => {
    const added = featureGroupSchema({
      ...group,
      features: [...group.features, { name: 'extra', type: 'long', description: 'x' }],
    });
    expect(explainSchemaChange(before, added)[0]).toMatch(/"extra" is new but has no default/);
  });

  it('accepts compatible changes: nullable new feature, default, widening to nullable, long to double', () => {
    const compatible = featureGroupSchema({
      ...group,
      features: [
        ...group.features.map((f) =>
          f.name === 'count' ? { ...f, type: 'double' as const } : f.name === 'label' ? { ...f, nullable: true } : f,
        ),
        { name: 'n', type: 'double', nullable: true, description: 'x' },
        { name: 'd', type: 'long', default: 1, description: 'x' },
      ],
    });
    expect(explainSchemaChange(before, compatible)).toEqual([]);
  });

  it('formats date-times per batch, remembering only within one batch', () => {
    const dates = new DateTimeTexts();
    expect(dates.of(Date.UTC(2026, 0, 2, 3, 4, 5, 100))).toBe('2026-01-02 03:04:05');
    expect(dates.of(Date.UTC(2026, 0, 2, 3, 4, 5, 900))).toBe('2026-01-02 03:04:05');
    expect(dates.of(Date.UTC(2026, 0, 2, 3, 4, 6))).toBe('2026-01-02 03:04:06');
    expect(dateTimeText(Date.UTC(1999, 11, 31, 23, 59, 59, 999))).toBe('1999-12-31 23:59:59');
    const rows = [0, 1, 1_000, 2_500].map((ms) => row('e', Date.UTC(2026, 0, 1) + ms));
    expect(tsvRows(group, rows)).toBe(rows.map((r) => tsvRow(group, r)).join(''));
  });
});
