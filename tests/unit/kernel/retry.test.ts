import { describe, expect, it } from 'vitest';
import { RheoError } from '../../../kernel/errors.ts';
import { backoffDelay, retry } from '../../../kernel/retry.ts';

describe('backoffDelay', () => {
  it('grows exponentially up to the cap, scaled by jitter', () => {
    const opts = { initialDelayMs: 100, maxDelayMs: 1000, random: () => 1 - Number.EPSILON };
    expect([1, 2, 3, 4, 5].map((n) => backoffDelay(n, opts))).toEqual([100, 200, 400, 800, 1000]);
    expect(backoffDelay(3, { ...opts, random: () => 0.5 })).toBe(200);
    expect(backoffDelay(3, { ...opts, random: () => 0 })).toBe(0);
  });

  it('stays within [0, ceiling] for any random draw, and honours the factor', () => {
    const draws = [0, 0.1, 0.37, 0.5, 0.99, 1 - Number.EPSILON];
    for (const attempt of [1, 2, 3, 6, 40, 2_000]) {
      const ceiling = Math.min(3_000, 50 * 3 ** (attempt - 1));
      for (const draw of draws) {
        const delay = backoffDelay(attempt, { initialDelayMs: 50, maxDelayMs: 3_000, factor: 3, random: () => draw });
        expect(delay).toBeGreaterThanOrEqual(0);
        expect(delay).toBeLessThanOrEqual(ceiling);
        expect(delay).toBe(Math.round(ceiling * draw));
      }
    }
  });
});

describe('retry', () => {
  const fast = { initialDelayMs: 1, maxDelayMs: 2, random: () => 0 };

  it('retries retriable errors until success', async () => {
    let calls = 0;
    const result = await retry(
      async () => {
        calls++;
        if (calls < 3) throw new RheoError('SINK_UNAVAILABLE', 'down');
        return 'ok';
      },
      { attempts: 5, ...fast },
    );
    expect(result).toBe('ok');
    expect(calls).toBe(3);
  });

  it('does not retry what is not retriable', async () => {
    let calls = 0;
    await expect(
      retry(
        async () => {
          calls++;
          throw new RheoError('SCHEMA_INCOMPATIBLE', 'no');
        },
        { attempts: 5, ...fast },
      ),
    ).rejects.toThrow('no');
    expect(calls).toBe(1);
  });

  it('stops at the attempt budget and rethrows the last error', async () => {
    let calls = 0;
    await expect(
      retry(
        async () => {
          calls++;
          throw Object.assign(new Error(`fail ${calls}`), { code: 'ECONNREFUSED' });
        },
        { attempts: 3, ...fast },
      ),
    ).rejects.toThrow('fail 3');
    expect(calls).toBe(3);
  });

  it('lets the task bail out with its own error', async () => {
    const original = new Error('bail reason');
    let calls = 0;
    const retriable = new RheoError('SINK_UNAVAILABLE', 'down');
    await expect(
      retry(
        async ({ bail, number }) => {
          calls++;
          if (number === 2) bail(original);
          throw retriable;
        },
        { attempts: 5, ...fast },
      ),
    ).rejects.toBe(original);
    expect(calls).toBe(2);
  });

  it('tells onRetry the failed attempt and the delay it will wait, and numbers attempts from 1', async () => {
    const retries: Array<[unknown, number, number]> = [];
    const numbers: number[] = [];
    const error = new RheoError('KAFKA_UNAVAILABLE', 'down');
    const result = await retry(
      async ({ number }) => {
        numbers.push(number);
        if (number < 3) throw error;
        return number;
      },
      {
        attempts: Number.POSITIVE_INFINITY,
        initialDelayMs: 4,
        maxDelayMs: 6,
        random: () => 0.5,
        onRetry: async (e, attempt, delayMs) => void retries.push([e, attempt, delayMs]),
      },
    );
    expect(result).toBe(3);
    expect(numbers).toEqual([1, 2, 3]);
    expect(retries).toEqual([
      [error, 1, 2],
      [error, 2, 3],
    ]);
  });

  it('retries what shouldRetry allows, even when the catalogue says it is not retriable', async () => {
    let calls = 0;
    const result = await retry(
      async () => {
        calls++;
        if (calls < 3) throw new RheoError('SCHEMA_INCOMPATIBLE', 'no');
        return 'ok';
      },
      { attempts: 5, ...fast, shouldRetry: () => true },
    );
    expect(result).toBe('ok');
  });

  it('stops waiting when the signal aborts', async () => {
    const controller = new AbortController();
    const started = Date.now();
    const pending = retry(
      async () => {
        throw new RheoError('KAFKA_UNAVAILABLE', 'down');
      },
      {
        attempts: Number.POSITIVE_INFINITY,
        initialDelayMs: 10_000,
        maxDelayMs: 10_000,
        random: () => 1,
        signal: controller.signal,
      },
    );
    setTimeout(() => controller.abort(), 20);
    await expect(pending).rejects.toThrow('down');
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('hands the attempt its signal, so a long attempt can give up when the retrier is aborted', async () => {
    const controller = new AbortController();
    let attempts = 0;
    const pending = retry(
      ({ signal }) => {
        attempts++;
        return new Promise<never>((_, reject) => {
          signal.addEventListener('abort', () => reject(new RheoError('KAFKA_UNAVAILABLE', 'aborted attempt')), { once: true });
        });
      },
      { attempts: Number.POSITIVE_INFINITY, ...fast, signal: controller.signal },
    );
    setTimeout(() => controller.abort(), 10);
    await expect(pending).rejects.toThrow('aborted attempt');
    expect(attempts).toBe(1);
  });

  it('gives an attempt a signal that never aborts when no signal was given', async () => {
    const aborted = await retry(async ({ signal }) => signal.aborted, { attempts: 1, ...fast });
    expect(aborted).toBe(false);
  });
});
