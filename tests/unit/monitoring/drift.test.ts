import { describe, expect, it } from 'vitest';
import { driftWindowsSql, readDriftReports, readRetrainRequests } from '../../../monitoring/drift.ts';

/** A ClickHouse stand-in that records each query and answers with the given JSONEachRow rows. */
function recordingClient(rows: Array<Record<string, unknown>>) {
  const queries: string[] = [];
  const client = {
    query: async ({ query }: { query: string }) => {
      queries.push(query);
      return { json: async () => rows };
    },
  };
  return { client: client as unknown as Parameters<typeof readDriftReports>[0], queries };
}

describe('drift read model', () => {
  it('selects a model’s windows with every filter escaped, and parses the row', async () => {
    const { client, queries } = recordingClient([
      {
        model_version: '1.0.0',
        feature: 'amount',
        target: 'FEATURE',
        window_start_ms: '3600000',
        window_end_ms: '7200000',
        status: 'ALERT',
        psi: 0.31,
        kl: null,
        count: '500',
        null_rate: 0,
        out_of_range_rate: 0.01,
        dlq_count: '0',
        late_count: '2',
        warn_threshold: 0.1,
        alert_threshold: 0.25,
        event_id: 'r1',
      },
    ]);
    const rows = await readDriftReports(client, { database: 'rheo', model: "f'x", from: 0, to: 7_200_000, feature: 'amount' });
    expect(queries[0]).toContain("model_name = 'f\\'x'");
    expect(queries[0]).toContain('window_start >= toDateTime(0) AND window_start < toDateTime(7200)');
    expect(queries[0]).toContain("feature = 'amount'");
    expect(queries[0]).toContain('FROM `rheo`.`drift_reports` FINAL');
    expect(rows).toEqual([
      {
        model_version: '1.0.0',
        feature: 'amount',
        target: 'FEATURE',
        window_start: 3_600_000,
        window_end: 7_200_000,
        status: 'ALERT',
        psi: 0.31,
        kl: null,
        count: 500,
        null_rate: 0,
        out_of_range_rate: 0.01,
        dlq_count: 0,
        late_count: 2,
        warn_threshold: 0.1,
        alert_threshold: 0.25,
        event_id: 'r1',
      },
    ]);
  });

  it('reads retraining requests of a model by event time', async () => {
    const { client, queries } = recordingClient([
      {
        event_id: 'rr1',
        event_time_ms: '5',
        reason: 'DRIFT',
        requested_by: 'service:drift',
        base_version: null,
        summary: 'PSI',
      },
    ]);
    const rows = await readRetrainRequests(client, { database: 'rheo', model: 'fraud', from: 0, to: 10 });
    expect(queries[0]).toContain('FROM `rheo`.`retrain_requests` FINAL');
    expect(queries[0]).toContain('event_time_ms >= 0 AND event_time_ms < 10');
    expect(rows).toEqual([
      { event_id: 'rr1', event_time: 5, reason: 'DRIFT', requested_by: 'service:drift', base_version: null, summary: 'PSI' },
    ]);
  });

  it('defines the drift_windows view over the deduplicated reports', () => {
    expect(driftWindowsSql('rheo').text).toMatch(/late_count, event_id\nFROM `rheo`.`drift_reports` FINAL$/);
  });
});
