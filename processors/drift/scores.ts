/**
 * Drift scores of one window against a baseline (pure).
 *
 *   a_i = live count_i / n,  e_i = baseline proportion_i,  either raised to ε when it is 0
 *   PSI = Σ (a_i − e_i) · ln(a_i / e_i)            (symmetric; 0.1 warn and 0.25 alert are the customary bands)
 *   KL(live ‖ baseline) = Σ a_i · ln(a_i / e_i)     (0 · ln 0 never happens: an empty bin counts as ε)
 *
 * ε (default 1e-4) keeps the logarithms finite for empty bins. Raised bins are not renormalised, so a
 * window that empties one bin of expected share e scores exactly (ε − e)·ln(ε/e) for it — hand-checkable,
 * and recorded in every report as `epsilon`. A window with fewer than the minimum sample of non-null
 * values is INSUFFICIENT: no scores, never drift.
 */
import type { DriftStatus } from '../../schemas/index.ts';

export const DEFAULT_EPSILON = 1e-4;

export interface Thresholds {
  /** PSI from which a window is WARN. */
  warn: number;
  /** PSI from which a window is ALERT. */
  alert: number;
}

export const DEFAULT_THRESHOLDS: Thresholds = { warn: 0.1, alert: 0.25 };

/** Live shares per bin, an empty bin (or an empty window) raised to ε. */
export function liveShares(counts: readonly number[], epsilon = DEFAULT_EPSILON): number[] {
  let n = 0;
  for (const c of counts) n += c;
  return counts.map((c) => (n > 0 && c > 0 ? c / n : epsilon));
}

function floor(share: number, epsilon: number): number {
  return share > 0 ? share : epsilon;
}

function check(expected: readonly number[], counts: readonly number[]): void {
  if (expected.length !== counts.length) throw new Error(`${counts.length} live bins against ${expected.length} baseline bins`);
}

export function psi(expected: readonly number[], counts: readonly number[], epsilon = DEFAULT_EPSILON): number {
  check(expected, counts);
  const a = liveShares(counts, epsilon);
  let sum = 0;
  for (let i = 0; i < a.length; i++) {
    const ai = a[i] as number;
    const ei = floor(expected[i] as number, epsilon);
    sum += (ai - ei) * Math.log(ai / ei);
  }
  return sum;
}

export function kl(expected: readonly number[], counts: readonly number[], epsilon = DEFAULT_EPSILON): number {
  check(expected, counts);
  const a = liveShares(counts, epsilon);
  let sum = 0;
  for (let i = 0; i < a.length; i++) {
    const ai = a[i] as number;
    sum += ai * Math.log(ai / floor(expected[i] as number, epsilon));
  }
  return sum;
}

/** The verdict on a window: INSUFFICIENT below the minimum sample, else by the PSI bands. */
export function driftStatus(score: number | null, thresholds: Thresholds): Exclude<DriftStatus, 'UNKNOWN'> {
  if (score === null) return 'INSUFFICIENT';
  if (score >= thresholds.alert) return 'ALERT';
  if (score >= thresholds.warn) return 'WARN';
  return 'OK';
}
