/**
 * The live quality SQL (`monitoring/quality.ts`) and the one metrics module (`kernel/quality.ts`) give
 * the same figures, degenerate windows included: one window per case (ties, one class, perfect,
 * inverted, a floored log loss, regression, no labels at all) is written to a scratch database and
 * each row ClickHouse computes is compared with `qualityOf` on the same pairs. It needs ClickHouse,
 * which is why it is not a unit test: the rule the SQL follows can only be checked by running it.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ClickHouseClient, createClickHouse } from '../../kernel/clients.ts';
import { loadConfig } from '../../kernel/config.ts';
import { qualityOf, type Scored } from '../../kernel/quality.ts';
import { ident } from '../../kernel/sql.ts';
import { readQuality } from '../../monitoring/quality.ts';
import { ensureMonitoringTables } from '../../tables/admin.ts';
import { type InsertRow, TABLES, tableRef } from '../../tables/catalogue.ts';
import { dateTime } from '../../tables/history.ts';

const config = loadConfig();
const database = `test_quality_${randomUUID().slice(0, 8)}`;
const HOUR = 3_600_000;
const MODEL = 'quality_sql';
let client: ClickHouseClient;

beforeAll(async () => {
  client = createClickHouse(config);
  await client.command({ query: `CREATE DATABASE ${ident(database).text}` });
  await ensureMonitoringTables(client, database);
});

afterAll(async () => {
  await client.command({ query: `DROP DATABASE IF EXISTS ${ident(database).text}` });
  await client.close();
});

/** One window per case; `labelled: false` writes the predictions without outcomes. */
const CASES: ReadonlyArray<{ name: string; pairs: Scored[]; labelled?: false }> = [
  { name: 'ties between classes', pairs: scored([0.5, 0.5, 0.2, 0.9, 0.2], [1, 0, 0, 1, 1]) },
  { name: 'every score tied', pairs: scored([0.4, 0.4, 0.4, 0.4], [1, 0, 0, 1]) },
  { name: 'positives only', pairs: scored([0.3, 0.8, 0.8], [1, 1, 1]) },
  { name: 'negatives only', pairs: scored([0.3, 0.6], [0, 0]) },
  { name: 'perfect', pairs: scored([0.1, 0.2, 0.8, 0.9], [0, 0, 1, 1]) },
  { name: 'inverted', pairs: scored([0.9, 0.8, 0.2, 0.1], [0, 0, 1, 1]) },
  { name: 'certain and wrong (log loss floored)', pairs: scored([1, 0, 0.7], [0, 1, 1]) },
  { name: 'regression', pairs: scored([2, 4, 9], [3, 4, 5]) },
  { name: 'no labels', pairs: scored([0.2, 0.7], [0, 1]), labelled: false },
];

function scored(scores: number[], labels: number[]): Scored[] {
  return scores.map((score, i) => ({ score, label: labels[i] as number }));
}

describe('quality SQL against kernel/quality.ts', () => {
  it('agrees on every window, null where the module says null', async () => {
    const origin = Math.floor(Date.now() / HOUR) * HOUR - CASES.length * HOUR;
    const predictions: Array<InsertRow<typeof TABLES.predictions>> = [];
    const outcomes: Array<InsertRow<typeof TABLES.prediction_outcomes>> = [];
    CASES.forEach((c, w) => {
      c.pairs.forEach((pair, i) => {
        const at = origin + w * HOUR + i * 1000;
        const id = `${w}-${i}`;
        predictions.push({
          event_id: id,
          event_time: dateTime(at),
          event_time_ms: at,
          prediction_id: id,
          request_id: null,
          entity_id: `card-${id}`,
          model_name: MODEL,
          model_version: '1.0.0',
          variant: 'PRODUCTION',
          source: 'ONLINE',
          inputs: '{}',
          outputs: '{}',
          score: pair.score,
          predicted_label: null,
          latency_ms: 1,
          inference_ms: null,
          request_time: dateTime(at),
          request_time_ms: at,
        });
        if (c.labelled === false) return;
        outcomes.push({
          prediction_event_id: id,
          prediction_id: id,
          entity_id: `card-${id}`,
          model_name: MODEL,
          model_version: '1.0.0',
          variant: 'PRODUCTION',
          source: 'ONLINE',
          prediction_time: dateTime(at),
          prediction_time_ms: at,
          request_time_ms: at,
          score: pair.score,
          predicted_label: null,
          label: pair.label,
          label_event_id: `label-${id}`,
          label_source: null,
          observed_time: dateTime(at + HOUR),
          observed_time_ms: at + HOUR,
          label_delay_ms: HOUR,
          join_kind: 'id',
          version: at + HOUR,
        });
      });
    });
    await client.insert({ table: tableRef(database, TABLES.predictions).text, values: predictions, format: 'JSONEachRow' });
    await client.insert({
      table: tableRef(database, TABLES.prediction_outcomes).text,
      values: outcomes,
      format: 'JSONEachRow',
    });

    const rows = await readQuality(client, { database, windowMs: HOUR, model: MODEL, origin });
    expect(rows).toHaveLength(CASES.length);
    CASES.forEach((c, w) => {
      const row = rows.find((r) => r.window_start_ms === origin + w * HOUR);
      const expected = qualityOf(c.labelled === false ? [] : c.pairs);
      expect(row, c.name).toMatchObject({
        predictions: c.pairs.length,
        labeled: expected.labeled,
        positives: expected.positives,
      });
      expect(row?.task, c.name).toBe(c.labelled === false ? '' : expected.task);
      for (const metric of ['accuracy', 'auc', 'log_loss', 'mae', 'rmse'] as const) {
        const want = expected[metric];
        const got = row?.[metric];
        if (want === null) expect(got, `${c.name}: ${metric}`).toBeNull();
        else expect(got, `${c.name}: ${metric}`).toBeCloseTo(want, 9);
      }
    });
    // By hand, so a change on both sides at once shows too: in the first window the positives 0.5, 0.9,
    // 0.2 against the negatives 0.5, 0.2 win 0.5 + 1 + 1 + 1 + 0 + 0.5 of 6 pairs.
    const byHand = [4 / 6, 0.5, null, null, 1, 0, 0, null, null];
    rows.forEach((row, w) => {
      const want = byHand[w];
      if (want === null || want === undefined) expect(row.auc).toBeNull();
      else expect(row.auc).toBeCloseTo(want, 12);
    });
  });
});
