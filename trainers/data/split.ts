/**
 * The time-based split: rows in time order, the oldest share for training, the next for validation
 * (early stopping and model selection), the newest for the test (the gate and the reported
 * metrics). Rows with the same timestamp stay on the same side of a boundary, so no test row is
 * older than any training row — the model is judged on the future of what it learned from.
 */
import { RheoError } from '../../kernel/errors.ts';

export interface TimeSplit {
  train: Int32Array;
  validation: Int32Array;
  test: Int32Array;
  /** First reference time of the validation and test splits. */
  validationFrom: number;
  testFrom: number;
}

/** `times` must be ascending. */
export function timeSplit(times: ArrayLike<number>, fractions: { train: number; validation: number }): TimeSplit {
  const n = times.length;
  if (!(fractions.train > 0 && fractions.validation > 0 && fractions.train + fractions.validation < 1))
    throw new RheoError('BAD_REQUEST', `split shares must be positive and leave a test split: ${JSON.stringify(fractions)}`);
  for (let i = 1; i < n; i++)
    if ((times[i] as number) < (times[i - 1] as number)) throw new Error('timeSplit needs rows in ascending time order');
  // A boundary moves forward past rows sharing its timestamp.
  const boundary = (share: number, from: number) => {
    let i = Math.max(from, Math.floor(n * share));
    while (i > 0 && i < n && times[i] === times[i - 1]) i++;
    return i;
  };
  const v = boundary(fractions.train, 1);
  const t = boundary(fractions.train + fractions.validation, v + 1);
  const range = (a: number, b: number) => Int32Array.from({ length: Math.max(0, b - a) }, (_, k) => a + k);
  const split = {
    train: range(0, v),
    validation: range(v, t),
    test: range(t, n),
    validationFrom: (times[v] as number) ?? Number.NaN,
    testFrom: (times[t] as number) ?? Number.NaN,
  };
  const empty = (['train', 'validation', 'test'] as const).filter((k) => split[k].length === 0);
  if (empty.length > 0)
    throw new RheoError('TRAINING_DATA_INSUFFICIENT', `${n} rows leave the ${empty.join(' and ')} split empty`, {
      details: { rows: n, empty },
    });
  return split;
}
