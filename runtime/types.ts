/**
 * What a processor is, to the runner: how to decode its input, a transform from records to writes,
 * and a sink that acknowledges writes. The runner alone owns polling, offsets, pause, retries and
 * dead letters; a processor never sees Kafka.
 */
import type { ErrorCode } from '../kernel/errors.ts';
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

/** A decoded record handed to the transform. Immutable. */
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

export interface TransformResult<W> {
  writes: W[];
  rejected: Rejection[];
}

/** A destination that acknowledges: `write` resolves only once the writes are durable. */
export interface Sink<W> {
  readonly name: string;
  write(writes: readonly W[], signal: AbortSignal): Promise<void>;
  close?(): Promise<void>;
}

/** What happens to a record that cannot be decoded or is refused by the transform. */
export type FailurePolicy = 'dead-letter' | 'fail' | 'continue';

export interface ProcessorSpec<V, W> {
  /** Stable name: the consumer group is `rheo.<name>` unless the runner is told otherwise. */
  name: string;
  inputs: readonly TopicEntry[];
  /** Bytes to value. Throwing marks the record as poison (SCHEMA_DECODE_FAILED unless a RheoError says otherwise). */
  decode(record: RawRecord): Promise<V> | V;
  /** Pure: records in, writes out (and the records it refuses, with why). Order of writes follows input order. */
  transform(records: ReadonlyArray<SourceRecord<V>>): Promise<TransformResult<W>> | TransformResult<W>;
  sink: Sink<W>;
  failurePolicy?: FailurePolicy;
}

/** A record bound for a dead-letter topic: the original bytes and the reason. */
export interface DeadLetter {
  readonly source: RawRecord;
  readonly dlqTopic: string;
  readonly code: ErrorCode;
  readonly reason: string;
  readonly processor: string;
}
