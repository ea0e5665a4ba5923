/**
 * The joiner's sink: outcome rows into `rheo.prediction_outcomes` and given-up labels into
 * `rheo.feedback_unmatched` (the join itself is the enrich stage, lookup.ts, and the transform).
 * Outcome rows are keyed by the prediction's event id in a ReplacingMergeTree, so a label delivered
 * twice, or a chunk replayed after a crash, leaves one row: quality figures (read with FINAL) never
 * double count. After each write the quality gauges of the touched models are recomputed from
 * ClickHouse in the background.
 */
import type { ClickHouseClient } from '../../kernel/clients.ts';
import { errorMessage, RheoError } from '../../kernel/errors.ts';
import type { Logger } from '../../kernel/log.ts';
import { ident } from '../../kernel/sql.ts';
import { qualitySql } from '../../monitoring/quality.ts';
import type { Sink } from '../../runtime/types.ts';
import { TABLES } from '../../tables/catalogue.ts';
import type { OutcomeRow } from './join.ts';
import type { JoinerSettings } from './lookup.ts';
import type { JoinerMetrics } from './metrics.ts';
import type { JoinerWrite, UnmatchedRow } from './transform.ts';

export interface JoinerSinkOptions {
  client: ClickHouseClient;
  database: string;
  settings: JoinerSettings;
  logger: Logger;
  metrics?: JoinerMetrics;
}

export function joinerSink(
  options: JoinerSinkOptions,
): Sink<JoinerWrite> & { refreshQuality(models: Iterable<string>): Promise<void> } {
  const { client, database, settings, logger, metrics } = options;
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
    async write(writes, signal) {
      const outcomes: OutcomeRow[] = [];
      const unmatched: UnmatchedRow[] = [];
      let joinedLabels = 0;
      for (const w of writes) {
        if (w.table === 'outcomes') {
          joinedLabels++;
          outcomes.push(...w.rows);
        } else unmatched.push(w.row);
      }
      try {
        await insert(TABLES.prediction_outcomes.name, outcomes, signal);
        await insert(TABLES.feedback_unmatched.name, unmatched, signal);
      } catch (error) {
        throw new RheoError('SINK_UNAVAILABLE', `writing label outcomes to ClickHouse failed: ${errorMessage(error)}`, {
          cause: error,
        });
      }
      metrics?.labels.inc({ outcome: 'joined' }, joinedLabels);
      metrics?.labels.inc({ outcome: 'unmatched' }, unmatched.length);
      metrics?.outcomes.inc(outcomes.length);
      for (const o of outcomes) {
        metrics?.labelDelay.observe(Math.max(0, o.label_delay_ms) / 1000);
        touched.set(o.model_name, Math.max(touched.get(o.model_name) ?? 0, o.prediction_time_ms));
      }
      if (unmatched.length > 0)
        logger.warn(
          { labels: unmatched.map((u) => u.label_event_id).slice(0, 10), count: unmatched.length },
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
  };
}
