import { describe, expect, it } from 'vitest';
import { FIXTURES } from '../../../schemas/fixtures.ts';
import { HISTORY_TABLES } from '../../../tables/catalogue.ts';
import { ARCHIVED_TABLES, archivedTable, dateTime, millis } from '../../../tables/history.ts';

describe('history tables', () => {
  it('map every fixture of their contract to a complete row', () => {
    for (const table of ARCHIVED_TABLES) {
      const name = table.topic.valueSchema as keyof typeof FIXTURES;
      const fixtures = FIXTURES[name];
      expect(fixtures.length, `${name} has fixtures`).toBeGreaterThan(0);
      for (const fixture of fixtures) {
        const row = table.toRow(fixture as unknown as Record<string, unknown>);
        expect(Object.keys(row).sort(), table.name).toEqual(table.entry.columns.map((c) => c.name).sort());
        for (const { name: column, type, nullable } of table.entry.columns) {
          const value = row[column];
          if (!nullable) expect(value, `${table.name}.${column}`).not.toBeNull();
          if (type === "DateTime('UTC')") expect(value).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
          if (/Int|Float/.test(type) && value !== null) expect(Number.isFinite(value), `${table.name}.${column}`).toBe(true);
        }
      }
    }
  });

  it('cover exactly the catalogue tables that have a source topic', () => {
    expect(ARCHIVED_TABLES.map((t) => t.name)).toEqual(HISTORY_TABLES.map((t) => t.name));
    expect(archivedTable('predictions').topic.name).toBe('predictions');
  });

  it('formats times in UTC from Dates or epoch ms', () => {
    expect(dateTime(Date.UTC(2026, 10, 23, 19, 5, 7, 999))).toBe('2026-11-23 19:05:07');
    expect(millis(new Date(5))).toBe(5);
    expect(() => millis('yesterday')).toThrow(TypeError);
  });
});
