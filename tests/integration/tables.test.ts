/**
 * The tables catalogue on the real ClickHouse: every table and view is created in a scratch database
 * from the catalogue's DDL, and what ClickHouse reports for each (DESCRIBE) is exactly the catalogue's
 * columns, names, types and nullability, in order. Views included: their columns are declared in the
 * catalogue by hand, so this is what keeps a view's declaration and its SELECT in step.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ClickHouseClient, createClickHouse } from '../../kernel/clients.ts';
import { loadConfig } from '../../kernel/config.ts';
import { ident } from '../../kernel/sql.ts';
import { ensureTables } from '../../tables/admin.ts';
import { CATALOGUE, tableRef } from '../../tables/catalogue.ts';

const config = loadConfig();
const database = `test_tables_${randomUUID().slice(0, 8)}`;
let client: ClickHouseClient;

beforeAll(async () => {
  client = createClickHouse(config);
  await client.command({ query: `CREATE DATABASE ${ident(database).text}` });
});

afterAll(async () => {
  await client.command({ query: `DROP DATABASE IF EXISTS ${ident(database).text}` });
  await client.close();
});

describe('tables catalogue on ClickHouse', () => {
  it('creates every table and view with exactly the declared columns, and ensuring again changes nothing', async () => {
    await ensureTables(client, database, CATALOGUE);
    await ensureTables(client, database, CATALOGUE);
    for (const entry of CATALOGUE) {
      const result = await client.query({ query: `DESCRIBE TABLE ${tableRef(database, entry).text}`, format: 'JSONEachRow' });
      const described = ((await result.json()) as Array<{ name: string; type: string }>).map((c) => `${c.name} ${c.type}`);
      expect(described, entry.name).toEqual(entry.columns.map((c) => `${c.name} ${c.nullable ? `Nullable(${c.type})` : c.type}`));
    }
  });
});
