/**
 * The one topic reader: reads a topic (every partition, or the ones asked) from the beginning or
 * from given offsets to its end, or an offset range, or to its end and then keeps following. It is,
 * with the runner, the only code that consumes; the runner is for consumer-group members, this is
 * for everything that reads a topic as a log (the registry follower, the batch scorer's range
 * source, its checkpoint reader).
 *
 * - **End** is the high watermark of each partition fetched at start (or the range's `to`). A
 *   partition is done when its position (the next offset to fetch) reaches its end — not when a
 *   record with offset end-1 arrives: that offset can be a transaction marker or a compacted gap,
 *   which are never delivered. Positions advance on every fetched batch, including batches made only
 *   of markers or aborted records (kafkajs reports those through END_BATCH_PROCESS, not eachBatch).
 *   A partition that is empty, or whose start is already at its end, is done at once; when all are,
 *   nothing connects at all.
 * - **Poison** (a message `decode` throws on) has one policy: `skip` (reported through a callback,
 *   the position still advances) or `fail` (the read rejects with the decode error).
 * - **No group side effects.** kafkajs 2.2.4 has no `assign`, so the reader is the only member of a
 *   throwaway group named `<prefix>.<host>.<pid>.<random>`; it never commits, seeks every partition
 *   to its own position on each join (a rejoin resumes where it was, not at the group's offsets) and
 *   deletes the group when it stops.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { RheoError } from './errors.ts';
import { type Admin, type Consumer, createAdmin, createConsumer, type Kafka, type KafkaMessage } from './kafka.ts';

/** One partition's offsets as the broker reports them: `high` is the offset the next record will get. */
export interface PartitionWatermarks {
  partition: number;
  low: bigint;
  high: bigint;
}

/** What a read covers in one partition: [start, end). */
export interface PartitionSpan {
  partition: number;
  start: bigint;
  end: bigint;
}

/** Per partition, where to start (default: its low watermark) and where to stop (default: its high watermark at start). */
export type OffsetRanges = Readonly<Record<number, { from?: bigint; to?: bigint }>>;

export interface PoisonRecord {
  partition: number;
  offset: bigint;
  error: unknown;
}

export type PoisonPolicy = { kind: 'fail' } | { kind: 'skip'; report: (poison: PoisonRecord) => void };

export interface TopicRecord<T> {
  partition: number;
  offset: bigint;
  key: Buffer | null;
  value: T;
}

/** Consecutive messages of one partition, decoded. */
export interface TopicChunk<T> {
  partition: number;
  records: TopicRecord<T>[];
  /** Messages this chunk consumed, poison included (they count as read). */
  consumed: number;
  /** The partition's next offset to read after this chunk (never past the partition's end). */
  next: bigint;
  /** Keeps the consumer's group session alive during a long handler. */
  heartbeat: () => Promise<void>;
}

export interface TopicReadOptions<T> {
  kafka: Kafka;
  topic: string;
  /** Consumer group prefix for the throwaway group; a host, pid and random suffix are added. */
  groupPrefix: string;
  /** Partitions to read and their bounds; default every partition, from its beginning to its end at start. */
  ranges?: OffsetRanges;
  decode: (message: KafkaMessage) => T | Promise<T>;
  poison: PoisonPolicy;
  /** Called once per chunk, in offset order per partition, one chunk at a time. A throw fails the read. */
  onChunk: (chunk: TopicChunk<T>) => void | Promise<void>;
  /** Largest number of messages in one chunk; default: a whole fetched batch. */
  maxChunk?: number;
  maxWaitTimeInMs?: number;
}

export interface BoundedReadOptions<T> extends TopicReadOptions<T> {
  /** Rejects (KAFKA_UNAVAILABLE) when the end is not reached in time; default: no limit. */
  timeoutMs?: number;
}

export interface ReadSummary {
  /** The partitions read, with the bounds fixed at start. */
  spans: PartitionSpan[];
  /** Next offset to read per partition once done: each span's end. */
  positions: Map<number, bigint>;
}

export interface FollowOptions<T> extends Omit<TopicReadOptions<T>, 'ranges'> {
  /** Where to resume per partition (a restarted follower's positions); default: the beginning. */
  from?: Readonly<Record<number, bigint>>;
  /** Called once, when the log present at start has been read (at once for an empty topic). */
  onCaughtUp: () => void;
  /** Called if the follower stops on its own: a decode failure under the fail policy or a handler error. */
  onFailure: (error: unknown) => void;
}

/** The spans a read covers, from the watermarks fetched at start and the ranges asked (if any). */
export function planSpans(watermarks: readonly PartitionWatermarks[], ranges?: OffsetRanges): PartitionSpan[] {
  const spans: PartitionSpan[] = [];
  for (const w of [...watermarks].sort((a, b) => a.partition - b.partition)) {
    const asked = ranges?.[w.partition];
    if (ranges && !asked) continue;
    spans.push({ partition: w.partition, start: asked?.from ?? w.low, end: asked?.to ?? w.high });
  }
  return spans;
}

/** The next offset to fetch after a batch whose last offset (record, marker or compacted gap) is `lastOffset`. */
export function positionAfter(lastOffset: string | bigint): bigint {
  return BigInt(lastOffset) + 1n;
}

/** Whether a fetched message is still to be delivered: at or past the position (not a redelivery) and before the end. */
export function withinBounds(offset: bigint, position: bigint, end: bigint | undefined): boolean {
  return offset >= position && (end === undefined || offset < end);
}

/** Whether every span is read: each partition's position has reached its end. */
export function allDone(spans: readonly PartitionSpan[], positions: ReadonlyMap<number, bigint>): boolean {
  return spans.every((span) => (positions.get(span.partition) ?? span.start) >= span.end);
}

/** Reads the topic to the end fixed at start (or the ranges' ends) and resolves once every partition got there. */
export async function readTopic<T>(options: BoundedReadOptions<T>): Promise<ReadSummary> {
  const spans = planSpans(await fetchWatermarks(options.kafka, options.topic), options.ranges);
  const reading = new TopicReading(options, spans, 'bounded');
  const summary = () => ({ spans, positions: new Map(spans.map((s) => [s.partition, s.end])) });
  if (reading.done) return summary();
  let timer: NodeJS.Timeout | undefined;
  try {
    await reading.start();
    await Promise.race([
      reading.finished,
      new Promise<never>((_, reject) => {
        if (options.timeoutMs === undefined) return;
        timer = setTimeout(
          () =>
            reject(
              new RheoError('KAFKA_UNAVAILABLE', `topic ${options.topic} not read to its end within ${options.timeoutMs} ms`),
            ),
          options.timeoutMs,
        );
      }),
    ]);
  } finally {
    clearTimeout(timer);
    await reading.stop();
  }
  return summary();
}

/** A topic read from its beginning to the end at start, then followed until `stop`. */
export class TopicFollower<T> {
  readonly #reading: TopicReading<T>;

  private constructor(reading: TopicReading<T>) {
    this.#reading = reading;
  }

  /** Fetches the end offsets, connects and runs the consumer; resolves once it runs (not once caught up). */
  static async start<T>(options: FollowOptions<T>): Promise<TopicFollower<T>> {
    const watermarks = await fetchWatermarks(options.kafka, options.topic);
    const from = options.from ?? {};
    const spans = planSpans(
      watermarks,
      Object.fromEntries(
        watermarks.map((w) => [w.partition, from[w.partition] === undefined ? {} : { from: from[w.partition] }]),
      ),
    );
    const reading = new TopicReading(options, spans, 'follow');
    const follower = new TopicFollower(reading);
    let caughtUp = false;
    const catchUp = () => {
      if (caughtUp) return;
      caughtUp = true;
      options.onCaughtUp();
    };
    if (reading.done) catchUp();
    else void reading.finished.then(catchUp, () => undefined);
    reading.failed.then(options.onFailure, () => undefined);
    try {
      await reading.start();
    } catch (error) {
      await reading.stop();
      throw error;
    }
    return follower;
  }

  /** Next offset to read in `partition`. */
  position(partition: number): bigint {
    return this.#reading.position(partition);
  }

  async stop(): Promise<void> {
    await this.#reading.stop();
  }
}

async function fetchWatermarks(kafka: Kafka, topic: string): Promise<PartitionWatermarks[]> {
  const admin = createAdmin(kafka);
  await admin.connect();
  try {
    const offsets = await admin.fetchTopicOffsets(topic);
    return offsets.map((o) => ({ partition: o.partition, low: BigInt(o.low), high: BigInt(o.high) }));
  } finally {
    await admin.disconnect();
  }
}

/** One consumer reading spans: positions, end detection, the poison policy, chunking and the group's lifetime. */
class TopicReading<T> {
  readonly #options: TopicReadOptions<T>;
  readonly #spans: Map<number, PartitionSpan>;
  readonly #positions = new Map<number, bigint>();
  readonly #mode: 'bounded' | 'follow';
  readonly #groupId: string;
  readonly finished: Promise<void>;
  readonly failed: Promise<unknown>;
  #resolveFinished: () => void = () => undefined;
  #rejectFinished: (error: unknown) => void = () => undefined;
  #resolveFailed: (error: unknown) => void = () => undefined;
  #consumer: Consumer | undefined;
  #stopped = false;
  #failure: unknown;

  constructor(options: TopicReadOptions<T>, spans: PartitionSpan[], mode: 'bounded' | 'follow') {
    this.#options = options;
    this.#mode = mode;
    this.#spans = new Map(spans.map((s) => [s.partition, s]));
    for (const span of spans) this.#positions.set(span.partition, span.start);
    this.#groupId = `${options.groupPrefix}.${hostname()}.${process.pid}.${randomUUID().slice(0, 8)}`;
    this.finished = new Promise<void>((resolve, reject) => {
      this.#resolveFinished = resolve;
      this.#rejectFinished = reject;
    });
    this.failed = new Promise<unknown>((resolve) => {
      this.#resolveFailed = resolve;
    });
    // Awaited by whoever reads; a follower that never catches up before stopping must not leave it unhandled.
    this.finished.catch(() => undefined);
    if (this.done) this.#resolveFinished();
  }

  get done(): boolean {
    return allDone([...this.#spans.values()], this.#positions);
  }

  position(partition: number): bigint {
    return this.#positions.get(partition) ?? 0n;
  }

  async start(): Promise<void> {
    const consumer = createConsumer(this.#options.kafka, {
      groupId: this.#groupId,
      maxWaitTimeInMs: this.#options.maxWaitTimeInMs ?? 250,
      // A follower lives as long as its process: it keeps retrying the cluster rather than crash.
      ...(this.#mode === 'follow'
        ? { retry: { retries: Number.MAX_SAFE_INTEGER, initialRetryTime: 300, maxRetryTime: 5_000 } }
        : {}),
    });
    this.#consumer = consumer;
    const topic = this.#options.topic;
    // On every join (the first and any rejoin) each partition resumes at our own position, never the group's.
    // Partitions outside the read, or already read to their end, are paused so nothing more is fetched for them.
    consumer.on(consumer.events.GROUP_JOIN, (event) => {
      for (const [partition, position] of this.#positions) consumer.seek({ topic, partition, offset: String(position) });
      const assigned = event.payload.memberAssignment[topic] ?? [];
      const idle = assigned.filter(
        (partition) => !this.#spans.has(partition) || (this.#mode === 'bounded' && this.#isDone(partition)),
      );
      if (idle.length > 0) consumer.pause([{ topic, partitions: idle }]);
    });
    // Batches of only transaction markers or aborted records skip eachBatch; this event still carries their last offset.
    consumer.on(consumer.events.END_BATCH_PROCESS, (event) => {
      if (event.payload.topic !== topic) return;
      this.#advance(event.payload.partition, positionAfter(event.payload.lastOffset));
    });
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      partitionsConsumedConcurrently: 1,
      eachBatch: async ({ batch, heartbeat, isRunning }) => {
        if (this.#failure !== undefined || !isRunning()) return;
        try {
          await this.#deliver(batch.partition, batch.messages, positionAfter(batch.lastOffset()), heartbeat);
        } catch (error) {
          this.#fail(error);
        }
      },
    });
  }

  /** Decodes and hands on the messages of one fetched batch that lie in [position, end). */
  async #deliver(partition: number, messages: KafkaMessage[], after: bigint, heartbeat: () => Promise<void>): Promise<void> {
    const span = this.#spans.get(partition);
    if (!span) return;
    const end = this.#mode === 'follow' ? undefined : span.end;
    const from = this.position(partition);
    const fresh = messages.filter((m) => withinBounds(BigInt(m.offset), from, end));
    const size = this.#options.maxChunk ?? Math.max(1, fresh.length);
    for (let i = 0; i < fresh.length; i += size) {
      const slice = fresh.slice(i, i + size);
      const records: TopicRecord<T>[] = [];
      for (const message of slice) {
        const offset = BigInt(message.offset);
        try {
          records.push({ partition, offset, key: message.key, value: await this.#options.decode(message) });
        } catch (error) {
          if (this.#options.poison.kind === 'fail') throw error;
          this.#options.poison.report({ partition, offset, error });
        }
      }
      // The last chunk of a batch moves past whatever follows its last record in the batch (markers, gaps).
      const next =
        i + size >= fresh.length ? this.#clamp(partition, after) : positionAfter((slice.at(-1) as KafkaMessage).offset);
      await this.#options.onChunk({ partition, records, consumed: slice.length, next, heartbeat });
      this.#advance(partition, next);
    }
    this.#advance(partition, after);
  }

  #clamp(partition: number, position: bigint): bigint {
    const span = this.#spans.get(partition);
    return this.#mode === 'bounded' && span && position > span.end ? span.end : position;
  }

  #isDone(partition: number): boolean {
    const span = this.#spans.get(partition);
    return !span || this.position(partition) >= span.end;
  }

  #advance(partition: number, position: bigint): void {
    if (!this.#spans.has(partition) || this.#failure !== undefined) return;
    const clamped = this.#clamp(partition, position);
    if (clamped <= this.position(partition)) return;
    this.#positions.set(partition, clamped);
    if (this.#mode === 'bounded' && this.#isDone(partition)) {
      this.#consumer?.pause([{ topic: this.#options.topic, partitions: [partition] }]);
    }
    if (this.done) this.#resolveFinished();
  }

  #fail(error: unknown): void {
    if (this.#failure !== undefined) return;
    this.#failure = error;
    this.#rejectFinished(error);
    this.#resolveFailed(error);
  }

  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    const consumer = this.#consumer;
    this.#consumer = undefined;
    if (!consumer) return;
    await consumer.disconnect().catch(() => undefined);
    await deleteGroup(this.#options.kafka, this.#groupId);
  }
}

/** How long stopping waits for the group's deletion: a stop (a SIGTERM) must not wait on admin retries. */
const DELETE_GROUP_TIMEOUT_MS = 5_000;

/**
 * Removes the throwaway group once its only member left, within DELETE_GROUP_TIMEOUT_MS; a failure or
 * a timeout only leaves an empty group for the broker to expire.
 */
async function deleteGroup(kafka: Kafka, groupId: string): Promise<void> {
  let admin: Admin | undefined;
  let timer: NodeJS.Timeout | undefined;
  try {
    admin = createAdmin(kafka);
    const connected = admin;
    await Promise.race([
      (async () => {
        await connected.connect();
        await connected.deleteGroups([groupId]);
      })(),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, DELETE_GROUP_TIMEOUT_MS);
      }),
    ]);
  } catch {
    // Nothing was committed, so the group holds no offsets; the broker expires it on its own.
  } finally {
    clearTimeout(timer);
    await admin?.disconnect().catch(() => undefined);
  }
}
