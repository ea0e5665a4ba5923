import { describe, expect, it } from 'vitest';
import { isClosed, validateWindowSpec, windowStarts } from '../../../../processors/drift/windows.ts';

const MIN = 60_000;

describe('window assignment', () => {
  const tumbling = { sizeMs: MIN, slideMs: MIN, latenessMs: 0 };

  it('puts a tumbling window boundary in the later window (start inclusive, end exclusive)', () => {
    expect(windowStarts(0, tumbling)).toEqual([0]);
    expect(windowStarts(MIN - 1, tumbling)).toEqual([0]);
    expect(windowStarts(MIN, tumbling)).toEqual([MIN]);
    expect(windowStarts(5 * MIN + 1, tumbling)).toEqual([5 * MIN]);
  });

  it('gives sliding windows size/slide windows per event, oldest first', () => {
    const sliding = { sizeMs: 3 * MIN, slideMs: MIN, latenessMs: 0 };
    expect(windowStarts(3 * MIN, sliding)).toEqual([MIN, 2 * MIN, 3 * MIN]);
    expect(windowStarts(3 * MIN - 1, sliding)).toEqual([0, MIN, 2 * MIN]);
  });

  it('closes a window once event time reaches its end plus the allowed lateness', () => {
    expect(isClosed(MIN, null, 0)).toBe(false);
    expect(isClosed(MIN, MIN - 1, 0)).toBe(false);
    expect(isClosed(MIN, MIN, 0)).toBe(true);
    expect(isClosed(MIN, MIN + 9_999, 10_000)).toBe(false);
    expect(isClosed(MIN, MIN + 10_000, 10_000)).toBe(true);
  });

  it('refuses a slide that does not divide the size', () => {
    expect(() => validateWindowSpec({ sizeMs: MIN, slideMs: 7_000, latenessMs: 0 })).toThrow(/divide/);
    expect(() => validateWindowSpec({ sizeMs: 0, slideMs: 0, latenessMs: 0 })).toThrow();
  });
});
