import { describe, expect, it } from 'vitest';
import { createTableSql, createViewSql, ensureStatements, ensureTables } from '../../../tables/admin.ts';
import { CATALOGUE, HISTORY_TABLES, TABLES, VIEWS } from '../../../tables/catalogue.ts';
import { catalogue as topicCatalogue } from '../../../topics/catalogue.ts';

describe('tables catalogue', () => {
  it('keys every entry by its name, each name once', () => {
    for (const [key, entry] of [...Object.entries(TABLES), ...Object.entries(VIEWS)]) expect(entry.name).toBe(key);
    const names = CATALOGUE.map((e) => e.name);
    expect(new Set(names).size).toBe(names.length);
  });

  it('keys, partitions and versions name columns of their own table, of the right type', () => {
    for (const table of Object.values(TABLES)) {
      const columns = new Map(table.columns.map((c) => [c.name, c] as const));
      expect(columns.size, `${table.name} has each column once`).toBe(table.columns.length);
      for (const key of table.orderBy) expect(columns.get(key)?.nullable, `${table.name} sorts by ${key}`).toBe(false);
      expect(columns.get(table.partitionByMonthOf)?.type, `${table.name} partitions by a DateTime`).toBe("DateTime('UTC')");
      const version = 'version' in table.engine ? table.engine.version : undefined;
      if (version !== undefined) expect(columns.get(version)?.type, `${table.name} version column`).toMatch(/^U?Int64$/);
      expect(table.description.length).toBeGreaterThan(0);
    }
  });

  it('fills history tables from catalogued topics, and views read catalogued tables', () => {
    const topics = new Set(topicCatalogue().map((t) => t.name));
    for (const table of HISTORY_TABLES) expect(topics.has(table.source.name), table.name).toBe(true);
    const tables = new Set(Object.values(TABLES));
    for (const view of Object.values(VIEWS)) for (const read of view.reads) expect(tables.has(read), view.name).toBe(true);
  });

  it('renders DDL that ClickHouse 18.16 accepts: ReplacingMergeTree, no Map, no DateTime64, no TTL', () => {
    for (const table of Object.values(TABLES)) {
      const ddl = createTableSql('rheo', table);
      expect(ddl).toContain(`CREATE TABLE IF NOT EXISTS \`rheo\`.\`${table.name}\``);
      expect(ddl).toMatch(/ENGINE = ReplacingMergeTree\((`\w+`)?\) PARTITION BY toYYYYMM\(`\w+`\) ORDER BY \(/);
      expect(ddl).not.toMatch(/DateTime64|Map\(|LowCardinality|TTL/);
      for (const c of table.columns) expect(ddl).toContain(`\`${c.name}\` ${c.nullable ? `Nullable(${c.type})` : c.type}`);
    }
  });

  it('renders the joiner outcome table as before: versioned, sorted by model, version, variant, prediction', () => {
    const ddl = createTableSql('rheo', TABLES.prediction_outcomes);
    expect(ddl).toContain('`score` Nullable(Float64),\n  `predicted_label` Nullable(String),\n  `label` Float64');
    expect(ddl).toMatch(
      /ENGINE = ReplacingMergeTree\(`version`\) PARTITION BY toYYYYMM\(`prediction_time`\) ORDER BY \(`model_name`, `model_version`, `variant`, `prediction_event_id`\)$/,
    );
  });

  it('creates views over their tables from the monitoring read models', () => {
    expect(createViewSql('rheo', VIEWS.drift_alerts)).toMatch(
      /^CREATE VIEW IF NOT EXISTS `rheo`.`drift_alerts` AS\nSELECT .*\nFROM `rheo`.`drift_reports` FINAL\nWHERE status IN \('WARN', 'ALERT'\)/s,
    );
    expect(createViewSql('rheo', VIEWS.model_quality_hourly)).toContain('intDiv(`prediction_time_ms` - 0, 3600000)');
  });

  it('ensures tables before the views that read them, each once', async () => {
    const statements = ensureStatements('rheo', [VIEWS.drift_windows, TABLES.drift_reports, VIEWS.drift_alerts]);
    expect(statements.map((s) => s.split(' (')[0]?.split(' AS')[0])).toEqual([
      'CREATE TABLE IF NOT EXISTS `rheo`.`drift_reports`',
      'CREATE VIEW IF NOT EXISTS `rheo`.`drift_windows`',
      'CREATE VIEW IF NOT EXISTS `rheo`.`drift_alerts`',
    ]);
    const run: string[] = [];
    await ensureTables({ command: async ({ query }) => run.push(query) }, 'rheo', [VIEWS.drift_alerts]);
    expect(run).toEqual(ensureStatements('rheo', [VIEWS.drift_alerts]));
  });

  it('refuses a database name that is not a plain identifier', () => {
    expect(() => createTableSql('rheo; DROP TABLE x', TABLES.feedback)).toThrow(/identifier/);
  });
});
