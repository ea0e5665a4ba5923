import { describe, expect, it } from 'vitest';
import { createTableSql, dateTime, millis, OFFLINE_TABLES } from '../../../../processors/archiver/tables.ts';
import { archiveTransform, type TableRow } from '../../../../processors/archiver/transform.ts';
import { MemorySink, ProcessorTestDriver } from '../../../../runtime/driver.ts';
import { type ProcessorSpec, statelessProcessor } from '../../../../runtime/types.ts';
import { contractNamed } from '../../../../schemas/contracts.ts';
import { FIXTURES } from '../../../../schemas/fixtures.ts';

describe('offline tables', () => {
  it('map every fixture of their contract to a complete row', () => {
    for (const table of OFFLINE_TABLES) {
      const name = table.topic.valueSchema as keyof typeof FIXTURES;
      const fixtures = FIXTURES[name];
      expect(fixtures.length, `${name} has fixtures`).toBeGreaterThan(0);
      for (const fixture of fixtures) {
        const row = table.toRow(fixture as unknown as Record<string, unknown>);
        expect(Object.keys(row).sort(), table.name).toEqual(table.columns.map(([c]) => c).sort());
        for (const [column, type] of table.columns) {
          const value = row[column];
          if (!type.startsWith('Nullable')) expect(value, `${table.name}.${column}`).not.toBeNull();
          if (type.includes('DateTime')) expect(value).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
          if (/Int64|Float64/.test(type) && value !== null) expect(Number.isFinite(value), `${table.name}.${column}`).toBe(true);
        }
      }
    }
  });

  it('renders DDL that ClickHouse 18.16 accepts: ReplacingMergeTree, no Map, no DateTime64', () => {
    for (const table of OFFLINE_TABLES) {
      const ddl = createTableSql('rheo', table);
      expect(ddl).toContain(`CREATE TABLE IF NOT EXISTS \`rheo\`.\`${table.name}\``);
      expect(ddl).toContain('ENGINE = ReplacingMergeTree()');
      expect(ddl).not.toMatch(/DateTime64|Map\(|LowCardinality/);
    }
  });

  it('formats times in UTC from Dates or epoch ms', () => {
    expect(dateTime(Date.UTC(2026, 10, 23, 19, 5, 7, 999))).toBe('2026-11-23 19:05:07');
    expect(millis(new Date(5))).toBe(5);
    expect(() => millis('yesterday')).toThrow(TypeError);
  });
});

describe('archive transform', () => {
  it('writes decoded predictions as rows and refuses what it cannot map', async () => {
    const predictions = OFFLINE_TABLES.find((t) => t.name === 'predictions')!;
    const sink = new MemorySink<TableRow>();
    const spec: ProcessorSpec<Record<string, unknown>, TableRow> = {
      name: 'archiver',
      inputs: [predictions.topic],
      decode: (raw) => JSON.parse(raw.value!.toString()) as Record<string, unknown>,
      supply: statelessProcessor(archiveTransform(new Map([[predictions.topic.name, predictions]]))),
      sink,
    };
    const driver = new ProcessorTestDriver(spec);
    const fixture = FIXTURES.Prediction[0]!;
    const good = JSON.stringify(fixture, (_k, v: unknown) => (v instanceof Date ? v.getTime() : v));
    await driver.pipe([
      driver.record('predictions', Buffer.from(good)),
      driver.record('predictions', Buffer.from(JSON.stringify({ event_id: 'x' }))),
    ]);
    expect(sink.written).toHaveLength(1);
    expect(sink.written[0]?.row.event_id).toBe(fixture.event_id);
    expect(driver.deadLetters).toHaveLength(1);
    expect(driver.deadLetters[0]?.reason).toMatch(/cannot map to predictions/);
    expect(contractNamed('Prediction')).toBeDefined();
  });
});
