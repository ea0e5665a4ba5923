/**
 * One assigned partition as the runtime holds it: the partition processor the spec supplied, its
 * context, its state (loaded from the store when the chunk does not follow on from the last one this
 * member committed), and its punctuations. Shared by the runner and the test driver; the driver
 * passes a manual scheduler so punctuations run when a test says.
 */
import { errorMessage } from '../kernel/errors.ts';
import type { Logger } from '../kernel/log.ts';
import type { TopicEntry } from '../topics/catalogue.ts';
import type { ForwardMessage, PartitionProcessor, ProcessorContext, ProcessorSpec, Punctuation } from './types.ts';

/** Calls `tick` every `intervalMs` until the returned function is called. */
export type Scheduler = (intervalMs: number, tick: () => void) => () => void;

export const timerScheduler: Scheduler = (intervalMs, tick) => {
  const timer = setInterval(tick, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
};

export interface PartitionSlotDeps {
  logger: Logger;
  forward(topic: TopicEntry, messages: readonly ForwardMessage[]): Promise<void>;
  scheduler: Scheduler;
  onPunctuationError?(error: unknown): void;
}

class ScheduledPunctuation implements Punctuation {
  #running: Promise<void> | undefined;
  #again = false;
  #cancel: () => void;
  readonly #punctuate: (signal: AbortSignal) => Promise<void>;
  readonly #signal: AbortSignal;
  readonly #onError: (error: unknown) => void;

  constructor(
    intervalMs: number,
    punctuate: (signal: AbortSignal) => Promise<void>,
    signal: AbortSignal,
    scheduler: Scheduler,
    onError: (error: unknown) => void,
  ) {
    this.#punctuate = punctuate;
    this.#signal = signal;
    this.#onError = onError;
    this.#cancel = scheduler(intervalMs, () => this.trigger());
  }

  trigger(): void {
    if (this.#signal.aborted) return;
    if (this.#running) {
      this.#again = true;
      return;
    }
    this.#running = this.#punctuate(this.#signal)
      .catch((error: unknown) => this.#onError(error))
      .finally(() => {
        this.#running = undefined;
        if (this.#again) {
          this.#again = false;
          this.trigger();
        }
      });
  }

  /** Resolves when the punctuation in flight, if any, has finished. */
  async settled(): Promise<void> {
    while (this.#running) await this.#running;
  }

  cancel(): void {
    this.#cancel();
    this.#cancel = () => undefined;
  }
}

export class PartitionSlot<V, W, E, S, U> {
  readonly topic: string;
  readonly partition: number;
  readonly processor: PartitionProcessor<V, W, E, S, U>;
  readonly #spec: ProcessorSpec<V, W, E, S, U>;
  readonly #lifetime = new AbortController();
  readonly #punctuations = new Set<ScheduledPunctuation>();
  /** The state after the last chunk this member flushed, and the offset that chunk ended before. */
  #state: S | undefined;
  #nextOffset: string | undefined;
  #closed = false;

  constructor(spec: ProcessorSpec<V, W, E, S, U>, topic: string, partition: number, deps: PartitionSlotDeps) {
    this.#spec = spec;
    this.topic = topic;
    this.partition = partition;
    const logger = deps.logger.child({ topic, partition });
    const signal = this.#lifetime.signal;
    const punctuations = this.#punctuations;
    const onError = (error: unknown) => {
      deps.onPunctuationError?.(error);
      logger.warn({ err: errorMessage(error) }, 'punctuation failed; the next tick tries again');
    };
    const context: ProcessorContext = {
      processor: spec.name,
      topic,
      partition,
      logger,
      signal,
      schedule(intervalMs, punctuate) {
        const punctuation = new ScheduledPunctuation(intervalMs, punctuate, signal, deps.scheduler, onError);
        punctuations.add(punctuation);
        return punctuation;
      },
      forward: (target, messages) => deps.forward(target, messages),
    };
    this.processor = spec.supply(context);
  }

  /** The state a chunk starting at `firstOffset` builds on: ours when it follows on, else the store's. */
  async stateFor(firstOffset: string, signal: AbortSignal): Promise<S> {
    const state = this.#spec.state;
    if (!state) return undefined as S;
    if (this.#state === undefined || this.#nextOffset !== firstOffset) {
      this.#state = (await state.store.load(this.partition, signal)) ?? state.initial();
      this.#nextOffset = firstOffset;
    }
    return this.#state;
  }

  /** Makes the chunk's state update durable; on failure our copy is dropped, so the next chunk reloads. */
  async flush(update: U | undefined, signal: AbortSignal): Promise<void> {
    const state = this.#spec.state;
    if (!state || update === undefined) return;
    this.#state = undefined;
    this.#state = await state.store.flush(this.partition, update, signal);
  }

  /** The chunk ending at `lastOffset` was committed. */
  committed(lastOffset: string, result: { writes: readonly W[]; update: U | undefined }): void {
    this.#nextOffset = String(BigInt(lastOffset) + 1n);
    this.processor.committed?.(result);
  }

  /** Forgets the state copy: the next chunk reads the store (after an abandoned chunk). */
  forget(): void {
    this.#state = undefined;
    this.#nextOffset = undefined;
  }

  /** Runs every punctuation now and waits for them (the test driver's clock). */
  async punctuate(): Promise<void> {
    for (const p of this.#punctuations) p.trigger();
    for (const p of this.#punctuations) await p.settled();
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#lifetime.abort(new Error(`partition ${this.topic}/${this.partition} closed`));
    for (const p of this.#punctuations) p.cancel();
    await Promise.allSettled([...this.#punctuations].map((p) => p.settled()));
    await this.processor.close?.();
  }
}
