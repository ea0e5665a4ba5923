import { describe, expect, it } from 'vitest';
import { RheoError } from '../../../../kernel/errors.ts';
import { timeSplit } from '../../../../trainers/data/split.ts';

describe('time-based split', () => {
  it('puts the oldest rows in train, the next in validation, the newest in test', () => {
    const times = Array.from({ length: 100 }, (_, i) => 1000 + i * 10);
    const s = timeSplit(times, { train: 0.7, validation: 0.15 });
    expect([s.train.length, s.validation.length, s.test.length]).toEqual([70, 15, 15]);
    expect(Math.max(...Array.from(s.train, (i) => times[i] as number))).toBeLessThan(s.validationFrom);
    expect(Math.max(...Array.from(s.validation, (i) => times[i] as number))).toBeLessThan(s.testFrom);
    expect(s.validationFrom).toBe(1700);
    expect(s.testFrom).toBe(1850);
    // Every row in exactly one split.
    expect(new Set([...s.train, ...s.validation, ...s.test]).size).toBe(100);
  });

  it('keeps rows with the same timestamp on the same side of a boundary', () => {
    // 12 rows; rows 6..8 share a timestamp across the 70% boundary (row 8): the boundary moves past them.
    const times = [1, 2, 3, 4, 5, 6, 7, 7, 7, 8, 9, 10];
    const s = timeSplit(times, { train: 0.7, validation: 0.1 });
    expect(Array.from(s.train)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
    expect(Array.from(s.validation)).toEqual([9]);
    expect(Array.from(s.test)).toEqual([10, 11]);
  });

  it('refuses data that leaves a split empty, and unsorted input', () => {
    const error = (() => {
      try {
        timeSplit([5, 5, 5, 5], { train: 0.5, validation: 0.25 });
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(RheoError);
    expect((error as RheoError).code).toBe('TRAINING_DATA_INSUFFICIENT');
    expect(() => timeSplit([3, 2, 1, 4], { train: 0.5, validation: 0.25 })).toThrow(/ascending/);
    expect(() => timeSplit([1, 2, 3], { train: 0.9, validation: 0.2 })).toThrow(/shares/);
  });
});
