/**
 * The joiner's enrich stage: each label with the predictions it may join to, looked up in ClickHouse
 * `rheo.predictions` (the archiver's copy of the `predictions` topic, where hours of predictions
 * already are), one query per chunk.
 *
 * A label whose prediction has not landed yet (the archiver is behind, or the label raced it) is
 * looked up again every `pollMs` for up to `waitMs` since this partition first saw it; meanwhile the
 * partition waits (back-pressure, nothing is skipped). After that the label goes on with no candidates
 * and the time it was given up, and the transform records it as unmatched. A failing lookup throws a
 * retriable error: the runner pauses the partition and runs the chunk again.
 */
import type { ClickHouseClient } from '../../kernel/clients.ts';
import { errorMessage, RheoError } from '../../kernel/errors.ts';
import { sleep } from '../../kernel/retry.ts';
import { ident, join, list, sql } from '../../kernel/sql.ts';
import type { EnrichResult, Rejection, SourceRecord } from '../../runtime/types.ts';
import type { Feedback } from '../../schemas/index.ts';
import { type ReadRow, TABLES, tableRef } from '../../tables/catalogue.ts';
import {
  type JoinSettings,
  type LabelEvent,
  matchLabel,
  PREDICTION_JOIN_COLUMNS,
  type PredictionRow,
  referenceTime,
} from './join.ts';
import { type LabelWithCandidates, toLabelEvent } from './transform.ts';

export interface JoinerSettings extends JoinSettings {
  /** How long a label waits for its prediction to land in ClickHouse. */
  waitMs: number;
  pollMs: number;
  /** How far before a label's observed time its prediction may be (bounds the lookup). */
  lookbackMs: number;
  /** Window of the live quality gauges. */
  qualityWindowMs: number;
}

export const DEFAULT_JOINER_SETTINGS: JoinerSettings = {
  entityWindowMs: 24 * 3_600_000,
  waitMs: 30_000,
  pollMs: 500,
  lookbackMs: 30 * 24 * 3_600_000,
  qualityWindowMs: 3_600_000,
};

type PredictionJson = Pick<ReadRow<typeof TABLES.predictions>, (typeof PREDICTION_JOIN_COLUMNS)[number]>;

/** Every prediction any of the labels could join to (by id, or by entity within its window). */
export async function lookupPredictions(
  client: ClickHouseClient,
  database: string,
  labels: readonly LabelEvent[],
  settings: JoinerSettings,
  signal?: AbortSignal,
): Promise<PredictionRow[]> {
  const ids = [...new Set(labels.flatMap((l) => (l.prediction_id === null ? [] : [l.prediction_id])))];
  const byEntity = labels.filter((l) => l.prediction_id === null && l.entity_id !== null);
  const entities = [...new Set(byEntity.map((l) => l.entity_id as string))];
  const refs = byEntity.map(referenceTime);
  const lowest = Math.min(
    ...labels.map((l) => l.observed_time - settings.lookbackMs),
    ...refs.map((r) => r - settings.entityWindowMs),
  );
  const entityClause =
    entities.length > 0
      ? sql`(entity_id IN ${list(entities)} AND request_time_ms >= ${Math.min(...refs) - settings.entityWindowMs} AND request_time_ms <= ${Math.max(...refs)})`
      : sql`0`;
  const query = sql`SELECT ${join(PREDICTION_JOIN_COLUMNS.map((c) => ident(c)))}
FROM ${tableRef(database, TABLES.predictions)}
WHERE event_time >= ${new Date(Math.max(0, lowest))} AND (prediction_id IN ${list(ids)} OR ${entityClause})`;
  const result = await client.query({ query: query.text, format: 'JSONEachRow', ...(signal ? { abort_signal: signal } : {}) });
  return ((await result.json()) as PredictionJson[]).map((r) => ({
    ...r,
    event_time_ms: Number(r.event_time_ms),
    request_time_ms: Number(r.request_time_ms),
  }));
}

export interface LabelLookupOptions {
  client: ClickHouseClient;
  database: string;
  settings: JoinerSettings;
  now?: () => number;
}

/** The enrich stage of one partition: it remembers when it first saw each label still waiting. */
export function labelLookup(options: LabelLookupOptions) {
  const { client, database, settings } = options;
  const now = options.now ?? Date.now;
  const firstSeen = new Map<string, number>();
  return async (
    records: ReadonlyArray<SourceRecord<Feedback>>,
    signal: AbortSignal,
  ): Promise<EnrichResult<LabelWithCandidates>> => {
    const started = now();
    // Labels of chunks abandoned in a rebalance never come back here: forget them after a while.
    for (const [id, at] of firstSeen) if (started - at > Math.max(10 * settings.waitMs, 600_000)) firstSeen.delete(id);
    const rejected: Rejection[] = [];
    const labels: Array<{ record: SourceRecord<Feedback>; label: LabelEvent }> = [];
    for (const record of records) {
      const label = toLabelEvent(record.value);
      if ('refused' in label) rejected.push({ record, code: 'PROCESSING_FAILED', reason: label.refused });
      else {
        labels.push({ record, label });
        if (!firstSeen.has(label.event_id)) firstSeen.set(label.event_id, started);
      }
    }
    const candidates = new Map<string, PredictionRow[]>();
    let waiting = labels.map((l) => l.label);
    try {
      while (waiting.length > 0) {
        const found = await lookupPredictions(client, database, waiting, settings, signal);
        for (const label of waiting) {
          const matches = matchLabel(label, found, settings);
          if (matches.length > 0) candidates.set(label.event_id, matches);
        }
        waiting = waiting.filter((l) => !candidates.has(l.event_id));
        const patient = waiting.filter((l) => now() - (firstSeen.get(l.event_id) ?? started) < settings.waitMs);
        if (patient.length === 0 || signal.aborted) break;
        await sleep(settings.pollMs, signal);
      }
    } catch (error) {
      if (signal.aborted) throw new RheoError('SHUTTING_DOWN', 'label join abandoned', { cause: error });
      throw new RheoError('SINK_UNAVAILABLE', `looking up predictions in ClickHouse failed: ${errorMessage(error)}`, {
        cause: error,
      });
    }
    if (signal.aborted) throw new RheoError('SHUTTING_DOWN', 'label join abandoned');
    const gaveUpAt = now();
    for (const { label } of labels) firstSeen.delete(label.event_id);
    return {
      records: labels.map(({ record, label }) => {
        const matched = candidates.get(label.event_id);
        return { ...record, value: { label, candidates: matched ?? [], gaveUpAt: matched ? null : gaveUpAt } };
      }),
      rejected,
    };
  };
}
