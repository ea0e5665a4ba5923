/**
 * Event-time windows (pure). Windows are aligned to the epoch: a tumbling window of size S holds
 * [k·S, (k+1)·S); sliding windows of size S every H (S a multiple of H) hold [k·H, k·H + S), so an
 * event belongs to S/H of them. Time advances per partition with the largest event time seen (maxT);
 * a window is closed once maxT ≥ end + allowed lateness. An event for a closed window is late: it is
 * counted as such (in the newest window), never in the closed window's bins. All of this depends only
 * on the records and their order in the partition, never on the wall clock, so a replay gives the same
 * windows with the same contents.
 */

export interface WindowSpec {
  sizeMs: number;
  /** Equal to `sizeMs` for tumbling windows. */
  slideMs: number;
  /** How long after its end a window still accepts events. */
  latenessMs: number;
}

export function validateWindowSpec(spec: WindowSpec): WindowSpec {
  const { sizeMs, slideMs, latenessMs } = spec;
  if (!Number.isInteger(sizeMs) || sizeMs <= 0) throw new Error('window size must be a positive whole number of ms');
  if (!Number.isInteger(slideMs) || slideMs <= 0 || slideMs > sizeMs || sizeMs % slideMs !== 0)
    throw new Error('window slide must divide the window size');
  if (!Number.isInteger(latenessMs) || latenessMs < 0) throw new Error('allowed lateness must be a whole number of ms ≥ 0');
  return spec;
}

/** Start of the slot (slide-sized step) holding `t`. */
export function slotStart(t: number, slideMs: number): number {
  return Math.floor(t / slideMs) * slideMs;
}

/** Starts of every window holding `t`, oldest first (one for tumbling windows). */
export function windowStarts(t: number, spec: WindowSpec): number[] {
  const newest = slotStart(t, spec.slideMs);
  const starts: number[] = [];
  for (let start = newest - spec.sizeMs + spec.slideMs; start <= newest; start += spec.slideMs) starts.push(start);
  return starts;
}

/** Whether a window ending at `end` is closed once time (the largest event time seen) is `maxT`. */
export function isClosed(end: number, maxT: number | null, latenessMs: number): boolean {
  return maxT !== null && end + latenessMs <= maxT;
}

/** The newest window holding `t` — where late events are counted. */
export function newestWindowStart(t: number, spec: WindowSpec): number {
  return slotStart(t, spec.slideMs);
}
