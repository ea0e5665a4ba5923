import { describe, expect, it } from 'vitest';
import {
  afterCrash,
  type CrashRecord,
  DEFAULT_BACKOFF,
  isCrashlooping,
  NO_CRASHES,
} from '../../../../../deploy/local/services/backoff.ts';

/** Crashes `runMs` after each start, the next start `delayMs` after each crash; returns the delays and flags. */
function crashRepeatedly(times: number, runMs: number, from: CrashRecord = NO_CRASHES, startAt = 0) {
  let record = from;
  let now = startAt;
  const delays: number[] = [];
  const looping: boolean[] = [];
  for (let i = 0; i < times; i++) {
    const decision = afterCrash(record, { startedAtMs: now, exitedAtMs: now + runMs });
    record = decision.record;
    delays.push(decision.delayMs);
    looping.push(decision.crashlooping);
    now += runMs + decision.delayMs;
  }
  return { record, delays, looping, now };
}

describe('restart backoff', () => {
  it('doubles from 1 s and marks the 5th quick crash crashlooping, retried at the 30 s maximum', () => {
    const { delays, looping } = crashRepeatedly(7, 500);
    expect(delays).toEqual([1000, 2000, 4000, 8000, 30_000, 30_000, 30_000]);
    expect(looping).toEqual([false, false, false, false, true, true, true]);
  });

  it('caps the delay at 30 s when crashes are spread out beyond the crashloop window', () => {
    const policy = { ...DEFAULT_BACKOFF, crashloopWindowMs: 1 };
    let record = NO_CRASHES;
    const delays: number[] = [];
    for (let i = 0; i < 7; i++) {
      const d = afterCrash(record, { startedAtMs: i * 100_000, exitedAtMs: i * 100_000 + 10 }, policy);
      record = d.record;
      delays.push(d.delayMs);
      expect(d.crashlooping).toBe(false);
    }
    expect(delays).toEqual([1000, 2000, 4000, 8000, 16_000, 30_000, 30_000]);
  });

  it('starts over at 1 s after a run of 60 s', () => {
    const quick = crashRepeatedly(3, 500);
    expect(quick.delays.at(-1)).toBe(4000);
    const healthy = afterCrash(quick.record, { startedAtMs: quick.now, exitedAtMs: quick.now + 60_000 });
    expect(healthy.delayMs).toBe(1000);
    expect(healthy.record.consecutive).toBe(1);
    const just = afterCrash(quick.record, { startedAtMs: quick.now, exitedAtMs: quick.now + 59_999 });
    expect(just.delayMs).toBe(8000);
  });

  it('counts crashes inside the 5-minute window only; crashlooping ends as they age out', () => {
    const { record, looping, now } = crashRepeatedly(5, 500);
    expect(looping.at(-1)).toBe(true);
    expect(isCrashlooping(record, now)).toBe(true);
    expect(isCrashlooping(record, (record.crashesAtMs[0] ?? 0) + DEFAULT_BACKOFF.crashloopWindowMs)).toBe(false);
    // A crash long after: the old ones are forgotten, the new one alone is not a loop.
    const later = afterCrash(record, { startedAtMs: now + 3_600_000, exitedAtMs: now + 3_600_500 });
    expect(later.record.crashesAtMs).toHaveLength(1);
    expect(later.crashlooping).toBe(false);
  });

  it('is pure: the record given is left as it was', () => {
    const record: CrashRecord = { consecutive: 2, crashesAtMs: [1, 2] };
    afterCrash(record, { startedAtMs: 3, exitedAtMs: 4 });
    expect(record).toEqual({ consecutive: 2, crashesAtMs: [1, 2] });
  });
});
