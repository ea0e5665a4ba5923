/**
 * When the supervisor starts a member again after it exited on its own (pure). The delay doubles from
 * `initialMs` up to `maxMs` with each crash in a row; a run of `resetAfterMs` or longer starts the
 * doubling over. `crashloopThreshold` crashes within `crashloopWindowMs` mark the member crashlooping:
 * it is still started again, always after `maxMs`, and `rheo ps` shows it. A stop or restart the user
 * asked for is not a crash and never reaches this policy.
 */

export interface BackoffPolicy {
  initialMs: number;
  maxMs: number;
  /** A run at least this long counts as healthy: the next crash waits `initialMs` again. */
  resetAfterMs: number;
  crashloopThreshold: number;
  crashloopWindowMs: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = Object.freeze({
  initialMs: 1_000,
  maxMs: 30_000,
  resetAfterMs: 60_000,
  crashloopThreshold: 5,
  crashloopWindowMs: 5 * 60_000,
});

/** What the policy remembers of a member's crashes. */
export interface CrashRecord {
  /** Crashes since the last healthy run (1 after the first). */
  readonly consecutive: number;
  /** When each crash inside the window happened (ms since the epoch), oldest first. */
  readonly crashesAtMs: readonly number[];
}

export const NO_CRASHES: CrashRecord = Object.freeze({ consecutive: 0, crashesAtMs: Object.freeze([]) });

export interface RestartDecision {
  record: CrashRecord;
  /** How long to wait before starting the member again. */
  delayMs: number;
  crashlooping: boolean;
}

/** The decision after a member that ran from `startedAtMs` crashed at `exitedAtMs`. */
export function afterCrash(
  record: CrashRecord,
  run: { startedAtMs: number; exitedAtMs: number },
  policy: BackoffPolicy = DEFAULT_BACKOFF,
): RestartDecision {
  const healthy = run.exitedAtMs - run.startedAtMs >= policy.resetAfterMs;
  const consecutive = (healthy ? 0 : record.consecutive) + 1;
  const crashesAtMs = [...inWindow(record.crashesAtMs, run.exitedAtMs, policy), run.exitedAtMs];
  const next: CrashRecord = { consecutive, crashesAtMs };
  const crashlooping = crashesAtMs.length >= policy.crashloopThreshold;
  const delayMs = crashlooping ? policy.maxMs : Math.min(policy.maxMs, policy.initialMs * 2 ** (consecutive - 1));
  return { record: next, delayMs, crashlooping };
}

/** Whether the crashes still inside the window at `nowMs` make the member crashlooping. */
export function isCrashlooping(record: CrashRecord, nowMs: number, policy: BackoffPolicy = DEFAULT_BACKOFF): boolean {
  return inWindow(record.crashesAtMs, nowMs, policy).length >= policy.crashloopThreshold;
}

function inWindow(crashesAtMs: readonly number[], nowMs: number, policy: BackoffPolicy): number[] {
  return crashesAtMs.filter((at) => nowMs - at < policy.crashloopWindowMs);
}
