/**
 * State stores for processors' per-partition state (see `StateStore` in types.ts). The in-memory
 * store is for tests and the broker-free driver; processors with durable state bring their own
 * (drift keeps its windows in Redis, `processors/drift/store.ts`).
 */
import type { StateStore } from './types.ts';

/** Keeps each partition's state in a Map; `apply` says what an update does to a state. */
export class MemoryStateStore<S, U> implements StateStore<S, U> {
  readonly name = 'memory';
  readonly states = new Map<number, S>();
  readonly #apply: (state: S | undefined, update: U) => S;
  /** Flushes to fail before succeeding again (tests of the retry path). */
  failNext = 0;

  constructor(apply: (state: S | undefined, update: U) => S) {
    this.#apply = apply;
  }

  async load(partition: number): Promise<S | undefined> {
    return this.states.get(partition);
  }

  async flush(partition: number, update: U): Promise<S> {
    if (this.failNext > 0) {
      this.failNext--;
      throw Object.assign(new Error('memory state store told to fail'), { retriable: true });
    }
    const next = this.#apply(this.states.get(partition), update);
    this.states.set(partition, next);
    return next;
  }
}
