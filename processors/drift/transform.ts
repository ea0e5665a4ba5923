/**
 * Drift processor transform (pure): one partition's records folded into that partition's window
 * state. Per (model, version, window) the state holds bin counts only — per feature, and for the
 * score — so memory is O(open windows × versions × features × bins), whatever the traffic.
 *
 * Time is the partition's largest event time seen (maxT); a window closes when maxT passes its end
 * plus the allowed lateness (windows.ts). A closed window's counts leave the partition state as a
 * sealed fragment; the sink stores it, and once every partition has closed the window the fragments
 * are merged into DriftReports (report.ts). Records already applied (offset below the state's `next`)
 * are skipped, so a redelivered chunk never counts twice. Undecodable records are refused (the runner
 * dead-letters them) and counted per slot for the reports' `dlq_count`.
 */

import type { Rejection, SourceRecord } from '../../runtime/types.ts';
import type { Prediction } from '../../schemas/index.ts';
import type { Binner } from './binning.ts';
import { isClosed, newestWindowStart, slotStart, type WindowSpec, windowStarts } from './windows.ts';

/** A decoded `predictions` record, or why it could not be decoded (the decoder never throws). */
export type DriftInput = { ok: true; prediction: Prediction } | { ok: false; reason: string };

/** A version's baseline, compiled: one binner per baselined input feature, and one for the score. */
export interface CompiledBaseline {
  readonly model: string;
  readonly version: string;
  readonly features: readonly Binner[];
  /** Bins the score (the output named by the baseline, else the Prediction's `score`); null when none. */
  readonly prediction: Binner | null;
}

/** Compiled baseline of a version; undefined when unknown or without a usable baseline. */
export type BaselineLookup = (model: string, version: string) => CompiledBaseline | undefined;

/** Counts of one feature in one window: per bin (`c`), nulls (`n`) and out-of-range values (`o`). */
export interface Counts {
  c: number[];
  n: number;
  o: number;
}

/** One partition's share of one (model, version, window). */
export interface Fragment {
  model: string;
  version: string;
  start: number;
  end: number;
  /** Records counted in the window. */
  records: number;
  /** Records that arrived while this was the newest window, too late for their own. */
  late: number;
  features: Record<string, Counts>;
  prediction: Counts | null;
}

export interface PartitionState {
  /** Offset of the next record to apply (as a decimal string); null before the first. */
  next: string | null;
  /** Largest event time seen on the partition; null before the first. */
  maxT: number | null;
  /** Open fragments by `fragmentKey`. */
  open: Record<string, Fragment>;
  /** Undecodable records per open slot (slot start → count). */
  dlq: Record<string, number>;
}

/** What one chunk changes, for the sink to store atomically (compare-and-set on `base`). */
export interface PartitionWrite {
  topic: string;
  partition: number;
  /** The state's `next` before this chunk: the write applies only on top of exactly that state. */
  base: string | null;
  state: PartitionState;
  /** Fragments of windows this chunk closed. */
  sealed: Fragment[];
  /** Undecodable-record counts of slots this chunk closed. */
  sealedDlq: Array<{ slot: number; count: number }>;
  /**
   * Whether this chunk moved the partition's closing horizon (maxT − lateness) past a slot boundary,
   * i.e. may have completed windows (with the other partitions): only then is reporting worth a look.
   */
  crossed: boolean;
}

export interface StepStats {
  applied: number;
  /** Already applied before (redelivered). */
  skipped: number;
  late: number;
  /** Records of versions without a baseline: time advances, nothing is counted. */
  unbaselined: number;
  undecodable: number;
}

export interface StepOutcome {
  write: PartitionWrite | null;
  rejected: Rejection[];
  stats: StepStats;
}

export function emptyState(): PartitionState {
  return { next: null, maxT: null, open: {}, dlq: {} };
}

export function fragmentKey(model: string, version: string, start: number): string {
  return `${encodeURIComponent(model)}|${encodeURIComponent(version)}|${start}`;
}

function newFragment(baseline: CompiledBaseline, start: number, spec: WindowSpec): Fragment {
  const features: Record<string, Counts> = {};
  for (const binner of baseline.features) features[binner.feature] = { c: new Array(binner.bins).fill(0), n: 0, o: 0 };
  return {
    model: baseline.model,
    version: baseline.version,
    start,
    end: start + spec.sizeMs,
    records: 0,
    late: 0,
    features,
    prediction: baseline.prediction ? { c: new Array(baseline.prediction.bins).fill(0), n: 0, o: 0 } : null,
  };
}

function count(counts: Counts, binner: Binner, value: unknown): void {
  const i = binner.index(value);
  if (i < 0) counts.n++;
  else if (i < binner.bins) counts.c[i] = (counts.c[i] as number) + 1;
  else {
    counts.c[i - binner.bins] = (counts.c[i - binner.bins] as number) + 1;
    counts.o++;
  }
}

function scoreOf(prediction: Prediction, binner: Binner): unknown {
  const named = prediction.outputs[binner.feature];
  return named !== undefined ? named : prediction.score;
}

/** A fragment with its feature counters lined up with the baseline's binners (no lookups per value). */
interface Slot {
  fragment: Fragment;
  counters: Counts[];
}

/** Folds one partition's chunk (in offset order) into a copy of `state`; `state` itself is not touched. */
export function step(
  state: PartitionState,
  records: ReadonlyArray<SourceRecord<DriftInput>>,
  baselines: BaselineLookup,
  spec: WindowSpec,
): StepOutcome {
  const stats: StepStats = { applied: 0, skipped: 0, late: 0, unbaselined: 0, undecodable: 0 };
  const rejected: Rejection[] = [];
  const first = records[0];
  if (!first) return { write: null, rejected, stats };
  const next: PartitionState = structuredClone(state);
  // Offsets rise within a chunk: only a chunk starting below `next` holds records applied before.
  const applied = next.next === null ? null : BigInt(next.next);
  const mayRepeat = applied !== null && BigInt(first.offset) < applied;
  const windowsPerEvent = spec.sizeMs / spec.slideMs;
  const slots = new Map<string, Slot>();
  const slotOf = (baseline: CompiledBaseline, start: number): Slot => {
    const key = fragmentKey(baseline.model, baseline.version, start);
    let slot = slots.get(key);
    if (!slot) {
      next.open[key] ??= newFragment(baseline, start, spec);
      const fragment = next.open[key] as Fragment;
      slot = { fragment, counters: baseline.features.map((b) => fragment.features[b.feature] as Counts) };
      slots.set(key, slot);
    }
    return slot;
  };
  // Consecutive records mostly share model, version and window: remember the last slot.
  let lastBaseline: CompiledBaseline | undefined;
  let lastStart = Number.NaN;
  let lastSlot: Slot | undefined;
  let lastOffset: string | undefined;
  for (const record of records) {
    if (mayRepeat && BigInt(record.offset) < (applied as bigint)) {
      stats.skipped++;
      continue;
    }
    stats.applied++;
    lastOffset = record.offset;
    const input = record.value;
    if (!input.ok) {
      stats.undecodable++;
      rejected.push({ record, code: 'SCHEMA_DECODE_FAILED', reason: input.reason });
      const slot = String(slotStart(next.maxT ?? record.timestamp, spec.slideMs));
      next.dlq[slot] = (next.dlq[slot] ?? 0) + 1;
      continue;
    }
    const p = input.prediction;
    const t = p.event_time;
    const baseline = baselines(p.model_name, p.model_version);
    if (!baseline) stats.unbaselined++;
    else {
      const starts = windowStarts(t, spec);
      let open = 0;
      for (const start of starts) {
        if (isClosed(start + spec.sizeMs, next.maxT, spec.latenessMs)) continue;
        open++;
        const slot = baseline === lastBaseline && start === lastStart && lastSlot ? lastSlot : slotOf(baseline, start);
        lastBaseline = baseline;
        lastStart = start;
        lastSlot = slot;
        slot.fragment.records++;
        const { features } = baseline;
        for (let f = 0; f < features.length; f++) {
          const binner = features[f] as Binner;
          count(slot.counters[f] as Counts, binner, p.inputs[binner.feature]);
        }
        if (baseline.prediction && slot.fragment.prediction)
          count(slot.fragment.prediction, baseline.prediction, scoreOf(p, baseline.prediction));
      }
      if (open < windowsPerEvent) {
        // Too late for (at least one of) its windows: counted in the newest window, not in the bins.
        stats.late++;
        slotOf(baseline, newestWindowStart(next.maxT as number, spec)).fragment.late++;
      }
    }
    if (next.maxT === null || t > next.maxT) next.maxT = t;
  }
  if (lastOffset !== undefined) next.next = String(BigInt(lastOffset) + 1n);
  if (stats.applied === 0) return { write: null, rejected, stats };

  const sealed: Fragment[] = [];
  for (const key of Object.keys(next.open).sort()) {
    const fragment = next.open[key] as Fragment;
    if (isClosed(fragment.end, next.maxT, spec.latenessMs)) {
      sealed.push(fragment);
      delete next.open[key];
    }
  }
  const sealedDlq: Array<{ slot: number; count: number }> = [];
  for (const slot of Object.keys(next.dlq).sort()) {
    if (isClosed(Number(slot) + spec.slideMs, next.maxT, spec.latenessMs)) {
      sealedDlq.push({ slot: Number(slot), count: next.dlq[slot] as number });
      delete next.dlq[slot];
    }
  }
  const horizon = (maxT: number | null) => (maxT === null ? Number.NaN : slotStart(maxT - spec.latenessMs, spec.slideMs));
  const crossed = sealed.length > 0 || horizon(next.maxT) !== horizon(state.maxT);
  return {
    write: { topic: first.topic, partition: first.partition, base: state.next, state: next, sealed, sealedDlq, crossed },
    rejected,
    stats,
  };
}
