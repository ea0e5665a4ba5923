/**
 * The one retrier: exponential backoff with full jitter, retrying only what `isRetriable` allows
 * (or what the caller's `shouldRetry` says), until the attempt budget is spent, the attempt bails,
 * or the signal aborts. Every retry loop in Rheo goes through it, so backoff, jitter, abort and the
 * retry hook behave the same everywhere. Sleeping honours the AbortSignal so shutdown is prompt.
 */
import { isRetriable } from './errors.ts';

export interface RetryOptions {
  /** Attempts in total, the first included. Infinity retries until the signal aborts or the attempt bails. */
  attempts: number;
  initialDelayMs: number;
  maxDelayMs: number;
  factor?: number;
  /** Aborting stops the retrier: no further attempt, a pending sleep ends, the last error is thrown. */
  signal?: AbortSignal;
  /** Random source in [0, 1), injectable for deterministic tests. */
  random?: () => number;
  /** Which errors are worth another attempt; default `isRetriable` (the catalogue's flag, network codes). */
  shouldRetry?: (error: unknown) => boolean;
  /** Called before each sleep (awaited): log, count, pause input. `attempt` is the one that just failed. */
  onRetry?: (error: unknown, attempt: number, delayMs: number) => void | Promise<void>;
}

/** What an attempt gets: its number, a way to stop retrying, and the retrier's signal. */
export interface RetryAttempt {
  /** 1-based. */
  number: number;
  /** Stops retrying at once: the retrier rethrows `error` itself. */
  bail: (error: unknown) => never;
  /** The options' signal (never aborted when none was given): long attempts should give up on it. */
  signal: AbortSignal;
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

export async function retry<T>(task: (attempt: RetryAttempt) => Promise<T>, options: RetryOptions): Promise<T> {
  const shouldRetry = options.shouldRetry ?? isRetriable;
  const signal = options.signal ?? new AbortController().signal;
  const bail = (error: unknown): never => {
    throw new BailError('bailed', { cause: error });
  };
  for (let number = 1; ; number++) {
    try {
      return await task({ number, bail, signal });
    } catch (error) {
      if (error instanceof BailError) throw error.cause;
      if (number >= options.attempts || !shouldRetry(error) || signal.aborted) throw error;
      const delay = backoffDelay(number, options);
      await options.onRetry?.(error, number, delay);
      await sleep(delay, signal);
      if (signal.aborted) throw error;
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
