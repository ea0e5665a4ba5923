import { describe, expect, it } from 'vitest';
import { qualitySql, readQuality } from '../../../monitoring/quality.ts';

/** A ClickHouse stand-in that records each query and answers with the given JSONEachRow rows. */
function recordingClient(rows: Array<Record<string, unknown>>) {
  const queries: string[] = [];
  const client = {
    query: async ({ query }: { query: string }) => {
      queries.push(query);
      return { json: async () => rows };
    },
  };
  return { client: client as unknown as Parameters<typeof readQuality>[0], queries };
}

describe('quality read model', () => {
  it('builds the windowed SQL with every value escaped', () => {
    const text = qualitySql({ database: 'rheo', windowMs: 3_600_000, model: "x' OR 1=1 --", from: 0, to: 10 }).text;
    expect(text).toContain("model_name = 'x\\' OR 1=1 --'");
    expect(text).toContain('`rheo`.`prediction_outcomes` FINAL');
    expect(text).toContain('FROM `rheo`.`predictions`');
    expect(text).toContain('intDiv(`prediction_time_ms` - 0, 3600000) * 3600000 + 0');
    expect(() => qualitySql({ database: 'rheo', windowMs: 0 })).toThrow(/window/);
  });

  it('orders rows by window and parses the 64-bit integers ClickHouse sends quoted', async () => {
    const { client, queries } = recordingClient([
      {
        model_name: 'fraud',
        model_version: '1.0.0',
        variant: 'PRODUCTION',
        window_start: '2026-01-01 00:00:00',
        window_start_ms: '1767225600000',
        window_end_ms: '1767229200000',
        predictions: '10',
        labeled: '4',
        unlabeled: '6',
        positives: '1',
        task: 'classification',
        accuracy: 0.75,
        auc: null,
      },
    ]);
    const rows = await readQuality(client, { database: 'rheo', windowMs: 3_600_000, model: 'fraud' });
    expect(queries[0]).toMatch(/\nORDER BY window_start_ms, model_version, variant$/);
    expect(rows).toEqual([
      {
        model_name: 'fraud',
        model_version: '1.0.0',
        variant: 'PRODUCTION',
        window_start_ms: 1767225600000,
        window_end_ms: 1767229200000,
        predictions: 10,
        labeled: 4,
        unlabeled: 6,
        positives: 1,
        task: 'classification',
        accuracy: 0.75,
        auc: null,
      },
    ]);
  });
});
