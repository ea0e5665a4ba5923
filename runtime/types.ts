/**
 * What a processor is, to the runner (after Kafka Streams' Processor API):
 *
 *   decode → enrich (async I/O, batched per chunk) → transform (pure) → sink → state flush → commit
 *
 * A `ProcessorSpec` names the inputs, decodes bytes, and supplies one `PartitionProcessor` per
 * assigned partition (never a singleton), each with a `ProcessorContext`: its partition, punctuations
 * (`schedule`), `forward` to other topics, and the abort signal of its lifetime. A processor with
 * state declares a `StateStore`: the transform gets the partition's state and returns an update, which
 * the runner flushes after the sink acknowledged and before it commits offsets. The runner alone owns
 * polling, offsets, pause, retries and dead letters; a processor never sees Kafka.
 */
import type { ErrorCode } from '../kernel/errors.ts';
import type { Logger } from '../kernel/log.ts';
import type { TopicEntry } from '../topics/catalogue.ts';

/** A record as it came off the topic, before decoding. Immutable. */
export interface RawRecord {
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  /** Broker or producer timestamp, epoch ms. */
  readonly timestamp: number;
  readonly headers: Readonly<Record<string, string>>;
}

/** A decoded (or enriched) record handed to the next stage. Immutable. */
export interface SourceRecord<V> {
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
  readonly key: string | null;
  readonly value: V;
  readonly timestamp: number;
  readonly headers: Readonly<Record<string, string>>;
}

export interface Rejection {
  /** Which input record (by topic/partition/offset) was refused. */
  readonly record: Pick<RawRecord, 'topic' | 'partition' | 'offset'>;
  readonly code: ErrorCode;
  readonly reason: string;
}

/** What `enrich` hands on: the records it could enrich (input order kept) and those it refused. */
export interface EnrichResult<E> {
  records: Array<SourceRecord<E>>;
  rejected: Rejection[];
}

/** What the pure transform returns: sink writes, refused records, and the state update to flush, if any. */
export interface TransformResult<W, U = never> {
  writes: W[];
  rejected: Rejection[];
  update?: U;
}

/** A destination that acknowledges: `write` resolves only once the writes are durable. */
export interface Sink<W> {
  readonly name: string;
  write(writes: readonly W[], signal: AbortSignal): Promise<void>;
  close?(): Promise<void>;
}

/**
 * A partition's durable state. `load` returns what the last flushed update left; `flush` makes an
 * update durable and returns the state after it. The runner flushes after the sink acknowledged and
 * before it commits, so state and offsets never disagree by more than a redelivered chunk, which the
 * transform recognises (state records how far it got). `flush` throws a retriable error when another
 * member changed the state meanwhile (the runner then abandons the chunk and reloads).
 */
export interface StateStore<S, U> {
  readonly name: string;
  load(partition: number, signal: AbortSignal): Promise<S | undefined>;
  flush(partition: number, update: U, signal: AbortSignal): Promise<S>;
  close?(): Promise<void>;
}

/** What happens to a record that cannot be decoded, or that enrich or transform refuses. */
export type FailurePolicy = 'dead-letter' | 'fail' | 'continue';

/** A message for `forward`: produced with acks=all through the runner's producer. */
export interface ForwardMessage {
  key: string | null;
  value: Buffer;
  headers?: Record<string, string>;
}

/** The only channel a partition processor has to the runtime. */
export interface ProcessorContext {
  readonly processor: string;
  readonly topic: string;
  readonly partition: number;
  readonly logger: Logger;
  /** Aborted when this partition is revoked from the member or the runner stops. */
  readonly signal: AbortSignal;
  /**
   * A punctuation: `punctuate` runs every `intervalMs` while the partition is assigned (never two at
   * once; failures are logged and counted, and the next tick tries again). Returns a handle to run it
   * now, e.g. after a commit that may have made work due.
   */
  schedule(intervalMs: number, punctuate: (signal: AbortSignal) => Promise<void>): Punctuation;
  /** Produces to a catalogue topic with acks=all; resolves once acknowledged. */
  forward(topic: TopicEntry, messages: readonly ForwardMessage[]): Promise<void>;
}

export interface Punctuation {
  /** Runs the punctuation soon (at once unless one is already running, then once after it). */
  trigger(): void;
  cancel(): void;
}

/** One instance per assigned partition. `enrich` may do I/O; `transform` must not. */
export interface PartitionProcessor<V, W, E = V, S = undefined, U = never> {
  /** Async I/O, batched per chunk: lookups, model inference, joins. Identity when absent. */
  enrich?(records: ReadonlyArray<SourceRecord<V>>, signal: AbortSignal): Promise<EnrichResult<E>>;
  /** Pure: records (and the partition's state) in; writes, refusals and a state update out. Input order is kept. */
  transform(records: ReadonlyArray<SourceRecord<E>>, state: S): TransformResult<W, U>;
  /** After the chunk's offsets were committed (e.g. trigger a punctuation that reads flushed state). */
  committed?(result: { writes: readonly W[]; update: U | undefined }): void;
  /** The partition was revoked or the runner stops. */
  close?(): Promise<void>;
}

export interface ProcessorSpec<V, W, E = V, S = undefined, U = never> {
  /** Stable name: the consumer group is `rheo.<name>` unless the runner is told otherwise. */
  name: string;
  inputs: readonly TopicEntry[];
  /** Bytes to value. Throwing marks the record as poison (SCHEMA_DECODE_FAILED unless a RheoError says otherwise). */
  decode(record: RawRecord): Promise<V> | V;
  /** Makes the processor of one assigned partition. */
  supply(context: ProcessorContext): PartitionProcessor<V, W, E, S, U>;
  /** Where writes go; absent for a processor whose output is its state and what it forwards (drift). */
  sink?: Sink<W>;
  /** Per-partition state; without it the transform's state is `undefined`. */
  state?: { store: StateStore<S, U>; initial(): S };
  /** Policies for decode failures and for records enrich or transform refuses; default dead-letter for both. */
  policies?: { decode?: FailurePolicy; process?: FailurePolicy };
  /**
   * A long-task processor (`runtime/task.ts`): one record per chunk, its enrich stage is the task,
   * aborted at once on shutdown or revocation rather than awaited.
   */
  longTask?: boolean;
  /** Releases what the processor holds beyond the sink (clients, followers), after the consumer left. */
  close?(): Promise<void>;
}

/** A record bound for a dead-letter topic: the original bytes and the reason. */
export interface DeadLetter {
  readonly source: RawRecord;
  readonly dlqTopic: string;
  readonly code: ErrorCode;
  readonly reason: string;
  readonly processor: string;
  readonly stage: 'decode' | 'process';
}

/** A processor whose partitions need nothing of their own: the same pure transform everywhere. */
export function statelessProcessor<V, W>(
  transform: (records: ReadonlyArray<SourceRecord<V>>) => TransformResult<W>,
): (context: ProcessorContext) => PartitionProcessor<V, W> {
  return () => ({ transform: (records) => transform(records) });
}
