/**
 * Follows `models.lifecycle` from the beginning and keeps the folded registry state. Every serving
 * instance runs one: it is caught up once it has applied everything up to the end offset seen at
 * start, then it applies new events as they arrive (Kafka long polling: well under a second) and tells
 * its listeners. It commits nothing: each instance reads the whole log, which is what makes the
 * state a pure function of the log.
 */
import { errorMessage } from '../kernel/errors.ts';
import type { Kafka, KafkaMessage } from '../kernel/kafka.ts';
import type { Logger } from '../kernel/log.ts';
import { type TopicChunk, TopicFollower } from '../kernel/topic-reader.ts';
import { CONTRACTS, type ModelLifecycleEvent, type SchemaCodec } from '../schemas/index.ts';
import { TOPICS } from '../topics/catalogue.ts';
import { applyEvent } from './fold.ts';
import { DEFAULT_POLICY, emptyState, type RegistryPolicy, type RegistryState } from './types.ts';

export type StateListener = (state: RegistryState, events: readonly ModelLifecycleEvent[]) => void;

export interface FollowerOptions {
  kafka: Kafka;
  codec: SchemaCodec;
  logger: Logger;
  policy?: RegistryPolicy;
  /** Consumer group id prefix of the reader's throwaway group; a unique suffix is added per instance. */
  groupPrefix?: string;
}

export class RegistryFollower {
  readonly #kafka: Kafka;
  readonly #codec: SchemaCodec;
  readonly #log: Logger;
  readonly #policy: RegistryPolicy;
  readonly #groupPrefix: string;
  readonly #listeners = new Set<StateListener>();
  #reader: TopicFollower<ModelLifecycleEvent | undefined> | undefined;
  #state: RegistryState = emptyState();
  /** Offset of the next record to read. */
  #position = 0n;
  #caughtUp = false;
  #caughtUpWaiters: Array<() => void> = [];
  #undecodable = 0;

  constructor(options: FollowerOptions) {
    this.#kafka = options.kafka;
    this.#codec = options.codec;
    this.#log = options.logger.child({ component: 'registry-follower' });
    this.#policy = options.policy ?? DEFAULT_POLICY;
    this.#groupPrefix = options.groupPrefix ?? 'rheo.registry-follower';
  }

  get state(): RegistryState {
    return this.#state;
  }

  get caughtUp(): boolean {
    return this.#caughtUp;
  }

  /** Offset of the next record to read in `models.lifecycle` (everything before it is folded, ignored or skipped). */
  get position(): bigint {
    return this.#position;
  }

  get undecodable(): number {
    return this.#undecodable;
  }

  onChange(listener: StateListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Connects and starts reading from offset 0; resolves once the consumer runs (not once caught up). */
  async start(): Promise<void> {
    const topic = TOPICS.modelsLifecycle.name;
    const reader = CONTRACTS.ModelLifecycleEvent.type;
    this.#reader = await TopicFollower.start<ModelLifecycleEvent | undefined>({
      kafka: this.#kafka,
      topic,
      groupPrefix: this.#groupPrefix,
      // A restart (the gateway retries a failed start) resumes after what is already folded.
      from: { 0: this.#position },
      decode: async (message: KafkaMessage) =>
        message.value ? (await this.#codec.decode<ModelLifecycleEvent>(message.value, { reader })).value : undefined,
      poison: {
        kind: 'skip',
        report: ({ offset, error }) => {
          this.#undecodable++;
          this.#log.error({ offset: String(offset), err: errorMessage(error) }, 'undecodable registry event skipped');
        },
      },
      onChunk: (chunk) => this.#apply(chunk),
      onCaughtUp: () => this.#markCaughtUp(),
      onFailure: (error) => this.#log.error({ err: error }, 'registry follower stopped'),
    });
  }

  #apply(chunk: TopicChunk<ModelLifecycleEvent | undefined>): void {
    const applied: ModelLifecycleEvent[] = [];
    for (const { value: event } of chunk.records) {
      if (!event) continue;
      const before = this.#state;
      this.#state = applyEvent(this.#state, event, this.#policy);
      if (this.#state.ignored.length > before.ignored.length) {
        this.#log.warn(
          { event: event.event_id, type: event.event_type, reason: this.#state.ignored.at(-1)?.reason },
          'registry event ignored by the fold',
        );
      }
      applied.push(event);
    }
    this.#position = chunk.next;
    if (applied.length > 0) this.#notify(applied);
  }

  #markCaughtUp(): void {
    this.#caughtUp = true;
    for (const resolve of this.#caughtUpWaiters.splice(0)) resolve();
    this.#log.info({ position: String(this.#position), models: this.#state.models.size }, 'registry log folded');
    this.#notify([]);
  }

  #notify(events: readonly ModelLifecycleEvent[]): void {
    for (const listener of this.#listeners) {
      try {
        listener(this.#state, events);
      } catch (error) {
        this.#log.warn({ err: error }, 'registry listener failed');
      }
    }
  }

  /** Resolves once the log present at start has been folded. */
  async waitUntilCaughtUp(timeoutMs = 60_000): Promise<RegistryState> {
    if (!this.#caughtUp) {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`registry log not folded within ${timeoutMs} ms`)), timeoutMs);
        this.#caughtUpWaiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return this.#state;
  }

  /** Resolves once every event id has been read (applied or ignored by the fold). */
  async waitForEvents(eventIds: readonly string[], timeoutMs = 15_000): Promise<RegistryState> {
    const done = () => eventIds.every((id) => this.#seen(id));
    if (done()) return this.#state;
    return new Promise<RegistryState>((resolve, reject) => {
      const timer = setTimeout(() => {
        unsubscribe();
        reject(new Error(`registry events not read back within ${timeoutMs} ms`));
      }, timeoutMs);
      const unsubscribe = this.onChange((state) => {
        if (!done()) return;
        clearTimeout(timer);
        unsubscribe();
        resolve(state);
      });
    });
  }

  #seen(eventId: string): boolean {
    for (const model of this.#state.models.values()) if (model.seen.has(eventId)) return true;
    return this.#state.ignored.some((i) => i.eventId === eventId);
  }

  async stop(): Promise<void> {
    await this.#reader?.stop();
    this.#reader = undefined;
  }
}
