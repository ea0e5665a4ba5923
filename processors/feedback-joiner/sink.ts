/**
 * The joiner's sink: the join itself happens here, against ClickHouse `rheo.predictions` (the
 * archiver's copy of the `predictions` topic), because that is where hours of predictions already are.
 *
 * A label whose prediction has not landed yet (the archiver is behind, or the label raced it) is looked
 * up again every `pollMs` for up to `waitMs` since this process first saw it; meanwhile the partition
 * waits (back-pressure, nothing is skipped). After that it is recorded in `feedback_unmatched`. Outcome
 * rows are keyed by the prediction's event id in a ReplacingMergeTree, so a label delivered twice, or a
 * chunk replayed after a crash, leaves one row: quality figures (read with FINAL) never double count.
 * After each write the quality gauges of the touched models are recomputed from ClickHouse.
 */
import type { ClickHouseClient } from '../../kernel/clients.ts';
import { errorMessage, RheoError } from '../../kernel/errors.ts';
import type { Logger } from '../../kernel/log.ts';
import { sleep } from '../../kernel/retry.ts';
import { ident, list, sql } from '../../kernel/sql.ts';
import type { Sink } from '../../runtime/types.ts';
import {
  clickHouseTime,
  type JoinSettings,
  joinLabels,
  type LabelEvent,
  type OutcomeRow,
  type PredictionRow,
  referenceTime,
} from './join.ts';
import type { JoinerMetrics } from './metrics.ts';
import { qualitySql } from './quality.ts';
import { OUTCOMES_TABLE, UNMATCHED_TABLE } from './tables.ts';

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

interface PredictionJson {
  event_id: string;
  prediction_id: string;
  entity_id: string;
  model_name: string;
  model_version: string;
  variant: string;
  source: string;
  score: number | null;
  predicted_label: string | null;
  event_time_ms: string | number;
  request_time_ms: string | number;
}

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
  const query = sql`SELECT event_id, prediction_id, entity_id, model_name, model_version, variant, source, score, predicted_label, event_time_ms, request_time_ms
FROM ${ident(`${database}.predictions`)}
WHERE event_time >= ${new Date(Math.max(0, lowest))} AND (prediction_id IN ${list(ids)} OR ${entityClause})`;
  const result = await client.query({ query: query.text, format: 'JSONEachRow', ...(signal ? { abort_signal: signal } : {}) });
  return ((await result.json()) as PredictionJson[]).map((r) => ({
    ...r,
    event_time_ms: Number(r.event_time_ms),
    request_time_ms: Number(r.request_time_ms),
  }));
}

export interface JoinerSinkOptions {
  client: ClickHouseClient;
  database: string;
  settings: JoinerSettings;
  logger: Logger;
  metrics?: JoinerMetrics;
  now?: () => number;
  close?: () => Promise<void>;
}

export function joinerSink(
  options: JoinerSinkOptions,
): Sink<LabelEvent> & { refreshQuality(models: Iterable<string>): Promise<void> } {
  const { client, database, settings, logger, metrics } = options;
  const now = options.now ?? Date.now;
  /** When this process first tried each label still waiting for its prediction. */
  const firstSeen = new Map<string, number>();
  /** Newest labelled prediction time per model, for the quality gauges. */
  const touched = new Map<string, number>();
  /** Models whose gauges are behind, and the refresh pass running, if any. */
  const stale = new Set<string>();
  let refreshing: Promise<void> | undefined;

  async function refreshQuality(models: Iterable<string>): Promise<void> {
    if (!metrics) return;
    for (const model of models) {
      const newest = touched.get(model);
      if (newest === undefined) continue;
      const from = Math.floor(newest / settings.qualityWindowMs) * settings.qualityWindowMs;
      const result = await client.query({
        query: qualitySql({ database, windowMs: settings.qualityWindowMs, model, from, to: from + settings.qualityWindowMs })
          .text,
        format: 'JSONEachRow',
      });
      for (const row of (await result.json()) as Array<Record<string, string | number | null>>) {
        const labels = { model, version: String(row.model_version), variant: String(row.variant) };
        for (const metric of ['accuracy', 'auc', 'log_loss', 'mae', 'rmse', 'predictions', 'labeled', 'unlabeled']) {
          const value = row[metric];
          if (value === null || value === undefined) metrics.quality.remove({ ...labels, metric });
          else metrics.quality.set({ ...labels, metric }, Number(value));
        }
        metrics.qualityWindow.set(labels, from / 1000);
      }
    }
  }

  async function insert(table: string, values: readonly object[], signal: AbortSignal): Promise<void> {
    if (values.length === 0) return;
    await client.insert({
      table: ident(`${database}.${table}`).text,
      values: [...values],
      format: 'JSONEachRow',
      abort_signal: signal,
    });
  }

  return {
    name: 'clickhouse-join',
    refreshQuality,
    async write(labels, signal) {
      const started = now();
      // Labels of chunks abandoned in a rebalance are never written here: forget them after a while.
      for (const [id, at] of firstSeen) if (started - at > Math.max(10 * settings.waitMs, 600_000)) firstSeen.delete(id);
      for (const l of labels) if (!firstSeen.has(l.event_id)) firstSeen.set(l.event_id, started);
      const outcomes: OutcomeRow[] = [];
      let waiting = [...labels];
      try {
        for (;;) {
          const joined = joinLabels(waiting, await lookupPredictions(client, database, waiting, settings, signal), settings);
          outcomes.push(...joined.outcomes);
          waiting = joined.unmatched;
          const patient = waiting.filter((l) => now() - (firstSeen.get(l.event_id) ?? started) < settings.waitMs);
          if (patient.length === 0 || signal.aborted) break;
          await sleep(settings.pollMs, signal);
        }
        if (signal.aborted) throw new RheoError('SHUTTING_DOWN', 'label join abandoned by shutdown');
        await insert(OUTCOMES_TABLE, outcomes, signal);
        await insert(
          UNMATCHED_TABLE,
          waiting.map((l) => ({
            label_event_id: l.event_id,
            event_time: clickHouseTime(l.event_time),
            prediction_id: l.prediction_id,
            entity_id: l.entity_id,
            reference_time_ms: l.reference_time,
            model_name: l.model_name,
            label: l.label,
            observed_time_ms: l.observed_time,
            reason: `no prediction in ClickHouse after ${settings.waitMs} ms (${l.prediction_id === null ? `entity ${l.entity_id}` : `prediction ${l.prediction_id}`})`,
            given_up_at: clickHouseTime(now()),
          })),
          signal,
        );
      } catch (error) {
        if (error instanceof RheoError) throw error;
        throw new RheoError('SINK_UNAVAILABLE', `feedback join against ClickHouse failed: ${errorMessage(error)}`, {
          cause: error,
        });
      }
      for (const l of labels) firstSeen.delete(l.event_id);
      metrics?.labels.inc({ outcome: 'joined' }, labels.length - waiting.length);
      metrics?.labels.inc({ outcome: 'unmatched' }, waiting.length);
      metrics?.outcomes.inc(outcomes.length);
      for (const o of outcomes) {
        metrics?.labelDelay.observe(Math.max(0, o.label_delay_ms) / 1000);
        touched.set(o.model_name, Math.max(touched.get(o.model_name) ?? 0, o.prediction_time_ms));
      }
      if (waiting.length > 0)
        logger.warn(
          { labels: waiting.map((l) => l.event_id).slice(0, 10), count: waiting.length },
          'labels without a prediction recorded as unmatched',
        );
      // Gauges are a derived view: refreshed in the background, one pass at a time, never holding up the commit.
      for (const o of outcomes) stale.add(o.model_name);
      if (stale.size > 0 && !refreshing) {
        refreshing = (async () => {
          while (stale.size > 0) {
            const models = [...stale];
            stale.clear();
            await refreshQuality(models).catch((error: unknown) =>
              logger.warn({ err: errorMessage(error) }, 'quality gauges not refreshed'),
            );
          }
        })().finally(() => {
          refreshing = undefined;
        });
      }
    },
    ...(options.close ? { close: options.close } : {}),
  };
}
