/**
 * The one retrier: exponential backoff with full jitter, retrying only what `isRetriable` allows
 * (or what the caller's `bail` does not stop). Sleeping honours an AbortSignal so shutdown is prompt.
 */
import { isRetriable } from './errors.ts';

export interface RetryOptions {
  /** Attempts in total, the first included. Infinity retries until the signal aborts. */
  attempts: number;
  initialDelayMs: number;
  maxDelayMs: number;
  factor?: number;
  signal?: AbortSignal;
  /** Random source in [0, 1), injectable for deterministic tests. */
  random?: () => number;
  shouldRetry?: (error: unknown) => boolean;
  onRetry?: (error: unknown, attempt: number, delayMs: number) => void;
}

export class BailError extends Error {
  override name = 'BailError';
}

/** Delay before retry number `attempt` (1-based): uniform in [0, min(max, initial·factor^(attempt-1))]. */
export function backoffDelay(
  attempt: number,
  options: Pick<RetryOptions, 'initialDelayMs' | 'maxDelayMs' | 'factor' | 'random'>,
): number {
  const ceiling = Math.min(options.maxDelayMs, options.initialDelayMs * (options.factor ?? 2) ** (attempt - 1));
  return Math.round(ceiling * (options.random ?? Math.random)());
}

export async function retry<T>(
  task: (bail: (error: unknown) => never, attempt: number) => Promise<T>,
  options: RetryOptions,
): Promise<T> {
  const shouldRetry = options.shouldRetry ?? isRetriable;
  const bail = (error: unknown): never => {
    throw new BailError('bailed', { cause: error });
  };
  for (let attempt = 1; ; attempt++) {
    try {
      return await task(bail, attempt);
    } catch (error) {
      if (error instanceof BailError) throw error.cause;
      if (attempt >= options.attempts || !shouldRetry(error) || options.signal?.aborted) throw error;
      const delay = backoffDelay(attempt, options);
      options.onRetry?.(error, attempt, delay);
      await sleep(delay, options.signal);
      if (options.signal?.aborted) throw error;
    }
  }
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
