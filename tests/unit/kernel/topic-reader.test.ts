/** The topic reader's end detection, without a broker: spans from watermarks, positions past markers, bounds. */
import { describe, expect, it } from 'vitest';
import { allDone, planSpans, positionAfter, withinBounds } from '../../../kernel/topic-reader.ts';

const watermarks = [
  { partition: 1, low: 4n, high: 10n },
  { partition: 0, low: 0n, high: 0n },
  { partition: 2, low: 7n, high: 7n },
];

describe('planSpans', () => {
  it('covers every partition from its low to its high watermark, in partition order', () => {
    expect(planSpans(watermarks)).toEqual([
      { partition: 0, start: 0n, end: 0n },
      { partition: 1, start: 4n, end: 10n },
      { partition: 2, start: 7n, end: 7n },
    ]);
  });

  it('keeps only the partitions a range names, with defaults for the bounds it leaves out', () => {
    expect(planSpans(watermarks, { 1: { from: 6n } })).toEqual([{ partition: 1, start: 6n, end: 10n }]);
    expect(planSpans(watermarks, { 1: { to: 8n }, 2: {} })).toEqual([
      { partition: 1, start: 4n, end: 8n },
      { partition: 2, start: 7n, end: 7n },
    ]);
  });
});

describe('allDone', () => {
  it('is done at once when every partition is empty or starts at its end', () => {
    expect(allDone(planSpans(watermarks.slice(1)), new Map())).toBe(true);
    expect(allDone([{ partition: 0, start: 5n, end: 5n }], new Map())).toBe(true);
  });

  it('waits for every partition whose position is short of its end', () => {
    const spans = planSpans(watermarks);
    expect(allDone(spans, new Map([[1, 9n]]))).toBe(false);
    expect(allDone(spans, new Map([[1, 10n]]))).toBe(true);
  });

  it('ends a partition whose last offset is a commit marker, from the batch position, with no record at end-1', () => {
    // Records at 0..2, the transaction's commit marker at 3, high watermark 4: the last record is 2.
    const spans = [{ partition: 0, start: 0n, end: 4n }];
    expect(allDone(spans, new Map([[0, positionAfter('2')]]))).toBe(false);
    // The marker-only batch reports its last offset (3): the position reaches the end.
    expect(allDone(spans, new Map([[0, positionAfter('3')]]))).toBe(true);
  });

  it('counts a position past the end (a compacted gap or later records in the same fetch) as done', () => {
    expect(allDone([{ partition: 0, start: 0n, end: 4n }], new Map([[0, 9n]]))).toBe(true);
  });
});

describe('withinBounds', () => {
  it('delivers offsets in [position, end) and drops redeliveries and records past the end', () => {
    expect([3n, 4n, 5n, 7n, 8n].filter((o) => withinBounds(o, 4n, 8n))).toEqual([4n, 5n, 7n]);
  });

  it('has no end while following', () => {
    expect(withinBounds(1_000_000n, 4n, undefined)).toBe(true);
    expect(withinBounds(3n, 4n, undefined)).toBe(false);
  });
});
