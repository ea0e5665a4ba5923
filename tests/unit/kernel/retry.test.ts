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
  });

  it('lets the task bail out with its own error', async () => {
    const original = new Error('bail reason');
    await expect(retry(async (bail) => bail(original), { attempts: 5, ...fast })).rejects.toBe(original);
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
});
