/**
 * From the fragments of a closed window to its DriftReports (pure): the partitions' counts are summed,
 * then every baselined feature (and the score) gets one report with PSI, KL, status and data quality.
 * Ids and times are derived from the window, never from the clock, so a replay yields byte-identical
 * reports with the same `event_id`s, which every sink deduplicates on.
 */

import type { DriftReportInput, DriftTarget } from '../../schemas/index.ts';
import { deterministicUuid } from '../../serving/scoring.ts';
import type { Binner } from './binning.ts';
import { driftStatus, kl, psi, type Thresholds } from './scores.ts';
import type { CompiledBaseline, Counts, Fragment } from './transform.ts';

export interface ReportSettings {
  epsilon: number;
  /** Fewer non-null values than this make a window INSUFFICIENT. */
  minSamples: number;
  thresholds: Thresholds;
  latenessMs: number;
}

function addCounts(into: Counts, from: Counts): void {
  if (into.c.length !== from.c.length) throw new Error(`fragments disagree on bins (${into.c.length} vs ${from.c.length})`);
  for (let i = 0; i < into.c.length; i++) into.c[i] = (into.c[i] as number) + (from.c[i] as number);
  into.n += from.n;
  into.o += from.o;
}

/** The partitions' fragments of one (model, version, window), summed. */
export function mergeFragments(fragments: readonly Fragment[]): Fragment {
  const [head, ...rest] = fragments;
  if (!head) throw new Error('no fragments to merge');
  const merged: Fragment = structuredClone(head);
  for (const f of rest) {
    if (f.model !== head.model || f.version !== head.version || f.start !== head.start || f.end !== head.end)
      throw new Error('fragments of different windows cannot be merged');
    merged.records += f.records;
    merged.late += f.late;
    for (const [feature, counts] of Object.entries(f.features)) {
      const into = merged.features[feature];
      if (into) addCounts(into, counts);
      else merged.features[feature] = structuredClone(counts);
    }
    if (f.prediction) {
      if (merged.prediction) addCounts(merged.prediction, f.prediction);
      else merged.prediction = structuredClone(f.prediction);
    }
  }
  return merged;
}

export function reportId(
  model: string,
  version: string,
  target: DriftTarget,
  feature: string,
  start: number,
  end: number,
): string {
  return deterministicUuid('rheo.drift-report', model, version, target, feature, String(start), String(end));
}

function oneReport(
  window: Fragment,
  binner: Binner,
  target: 'FEATURE' | 'PREDICTION',
  counts: Counts | undefined,
  dlqCount: number,
  settings: ReportSettings,
): DriftReportInput {
  const live = counts ?? { c: new Array(binner.bins).fill(0), n: 0, o: 0 };
  if (live.c.length !== binner.bins)
    throw new Error(`${binner.feature}: ${live.c.length} counted bins, baseline has ${binner.bins}`);
  const n = live.c.reduce((a, b) => a + b, 0);
  const enough = n >= settings.minSamples && n > 0;
  const score = enough ? psi(binner.expected, live.c, settings.epsilon) : null;
  return {
    event_id: reportId(window.model, window.version, target, binner.feature, window.start, window.end),
    event_time: window.end + settings.latenessMs,
    model_name: window.model,
    model_version: window.version,
    feature: binner.feature,
    target,
    window_start: window.start,
    window_end: window.end,
    psi: score,
    kl: enough ? kl(binner.expected, live.c, settings.epsilon) : null,
    epsilon: settings.epsilon,
    status: driftStatus(score, settings.thresholds),
    warn_threshold: settings.thresholds.warn,
    alert_threshold: settings.thresholds.alert,
    bin_edges: [...binner.edges],
    categories: [...binner.categories],
    expected: [...binner.expected],
    counts: [...live.c],
    count: n,
    null_count: live.n,
    null_rate: n + live.n > 0 ? live.n / (n + live.n) : 0,
    out_of_range_count: live.o,
    out_of_range_rate: n > 0 ? live.o / n : 0,
    dlq_count: dlqCount,
    late_count: window.late,
  };
}

/** One report per baselined feature, then one for the score; in the baseline's feature order. */
export function buildReports(
  window: Fragment,
  baseline: CompiledBaseline,
  dlqCount: number,
  settings: ReportSettings,
): DriftReportInput[] {
  const reports = baseline.features.map((binner) =>
    oneReport(window, binner, 'FEATURE', window.features[binner.feature], dlqCount, settings),
  );
  if (baseline.prediction)
    reports.push(oneReport(window, baseline.prediction, 'PREDICTION', window.prediction ?? undefined, dlqCount, settings));
  return reports;
}
