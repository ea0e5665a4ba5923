/**
 * The one processor runner. It binds a ProcessorSpec to Kafka as a consumer-group member:
 *
 *   fetch batch → (per chunk) decode → enrich → transform → sink.write (retried, paused) → dead letters
 *     → state flush → commit
 *
 * The spec supplies one partition processor per assigned partition (`partition.ts`); it is closed
 * when the partition is revoked or the runner stops, and its punctuations with it.
 *
 * Promises it keeps (see DESIGN §4):
 * - Offsets are committed only after the sink, the dead-letter producer and the state store acknowledged.
 * - A failing sink pauses the partition and is retried with backoff; nothing is skipped, and memory
 *   stays bounded (kafkajs fetches no more for a paused partition, and one chunk is in flight per partition).
 * - Heartbeats flow on a timer while a chunk is in flight; if the group starts rebalancing the chunk is
 *   abandoned uncommitted, so a member that lost a partition never commits it (its commit would carry a
 *   stale generation and be refused anyway).
 * - A batch whose partition was sought or revoked (kafkajs `isStale`) is discarded.
 * - Partitions run concurrently, each strictly in order, so per-key order holds.
 * - SIGTERM (via `stop`) finishes the chunk in flight, commits it, and leaves the group. A long task
 *   (`spec.longTask`) is aborted at once instead: uncommitted, it goes to another member.
 */
import { errorMessage, isRetriable, RheoError } from '../kernel/errors.ts';
import {
  type Consumer,
  createConsumer,
  createProducer,
  type EachBatchPayload,
  type Kafka,
  type KafkaMessage,
  type Producer,
} from '../kernel/kafka.ts';
import type { Logger } from '../kernel/log.ts';
import type { Registry } from '../kernel/metrics.ts';
import { retry } from '../kernel/retry.ts';
import type { TopicEntry } from '../topics/catalogue.ts';
import { createRunnerMetrics, type RunnerMetrics } from './metrics.ts';
import type { Readiness } from './ops.ts';
import { PartitionSlot, timerScheduler } from './partition.ts';
import { type ChunkOutcome, deadLetterHeaders, runChunk } from './pipeline.ts';
import type { DeadLetter, ForwardMessage, ProcessorSpec, RawRecord } from './types.ts';

/** Bytes of messages per produce request of `forward` (well under the broker's 1 MiB default). */
const FORWARD_BATCH_BYTES = 256 * 1024;

export interface RunnerOptions {
  kafka: Kafka;
  logger: Logger;
  metrics: Registry;
  /** Where a new consumer group starts. Deliberately required: never silently "latest". */
  startFrom: 'earliest' | 'latest';
  groupId?: string;
  /** Records handed to one transform call at most. */
  maxChunkRecords?: number;
  partitionsConsumedConcurrently?: number;
  sessionTimeoutMs?: number;
  heartbeatIntervalMs?: number;
  /** Bounded memory: bytes fetched per partition per request. */
  maxBytesPerPartition?: number;
  sinkRetry?: { initialDelayMs: number; maxDelayMs: number };
  /** How long `stop` waits for the chunk in flight before abandoning it (uncommitted, so not lost). */
  shutdownGraceMs?: number;
}

export interface RunnerState {
  running: boolean;
  /** A member of its group: set when the group is joined, cleared by a crash or `stop`. */
  joined: boolean;
  assigned: Array<{ topic: string; partitions: number[] }>;
  paused: boolean;
  committed: number;
}

export class ProcessorRunner<V, W, E = V, S = undefined, U = never> {
  readonly groupId: string;
  private readonly spec: ProcessorSpec<V, W, E, S, U>;
  private readonly options: Required<Omit<RunnerOptions, 'groupId'>>;
  private readonly log: Logger;
  private readonly metrics: RunnerMetrics;
  private consumer: Consumer | undefined;
  private producer: Producer | undefined;
  /** Aborted when stop is requested: no new chunk starts, retry sleeps wake up. */
  private readonly shutdown = new AbortController();
  /** Aborted when the grace period is over: the sink write in flight is cancelled (uncommitted, so redelivered). */
  private readonly hardStop = new AbortController();
  private rebalancing = false;
  /** Aborted when the group starts rebalancing: enrich stages and long tasks in flight stop. */
  private generation = new AbortController();
  /** The partition processors of this member, by `topic/partition`. */
  private readonly slots = new Map<string, PartitionSlot<V, W, E, S, U>>();
  /** A heartbeat failure seen while a chunk was in flight: rethrown to kafkajs so it rejoins at once. */
  private heartbeatFailure: unknown;
  private failure: Error | undefined;
  private done: Promise<void> | undefined;
  private resolveDone: (() => void) | undefined;
  private rejectDone: ((error: Error) => void) | undefined;
  private sinkDown = false;
  private committedChunks = 0;
  private assignment: Array<{ topic: string; partitions: number[] }> = [];
  private memberId: string | undefined;

  constructor(spec: ProcessorSpec<V, W, E, S, U>, options: RunnerOptions) {
    this.spec = spec;
    this.groupId = options.groupId ?? `rheo.${spec.name}`;
    this.options = {
      maxChunkRecords: spec.longTask ? 1 : 1000,
      partitionsConsumedConcurrently: spec.longTask ? 1 : 3,
      sessionTimeoutMs: 30_000,
      heartbeatIntervalMs: 3_000,
      maxBytesPerPartition: 1024 * 1024,
      sinkRetry: { initialDelayMs: 200, maxDelayMs: 10_000 },
      shutdownGraceMs: 15_000,
      ...options,
    };
    // A long task holds one record at a time, however the runner is configured.
    if (spec.longTask) this.options.maxChunkRecords = 1;
    this.log = options.logger.child({ processor: spec.name, group: this.groupId });
    this.metrics = createRunnerMetrics(options.metrics);
  }

  /** Joins the group and starts consuming; resolves once running. `finished()` settles when it stops. */
  async start(): Promise<void> {
    const { kafka } = this.options;
    this.done = new Promise<void>((resolve, reject) => {
      this.resolveDone = resolve;
      this.rejectDone = reject;
    });
    this.done.catch(() => undefined); // observed through finished(); avoid an unhandled rejection meanwhile
    this.producer = createProducer(kafka);
    this.consumer = createConsumer(kafka, {
      groupId: this.groupId,
      sessionTimeout: this.options.sessionTimeoutMs,
      heartbeatInterval: this.options.heartbeatIntervalMs,
      maxBytesPerPartition: this.options.maxBytesPerPartition,
      maxBytes: this.options.maxBytesPerPartition * 8,
      // The rebalance timeout bounds how long a chunk in flight may delay a rebalance before it is abandoned.
      rebalanceTimeout: Math.max(this.options.sessionTimeoutMs, 30_000),
      retry: { retries: 10, initialRetryTime: 300, maxRetryTime: 10_000 },
    });
    this.watchGroup(this.consumer);
    await this.producer.connect();
    await this.consumer.connect();
    await this.consumer.subscribe({
      topics: this.spec.inputs.map((t) => t.name),
      fromBeginning: this.options.startFrom === 'earliest',
    });
    await this.consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: this.options.partitionsConsumedConcurrently,
      eachBatch: (payload) => this.handleBatch(payload),
    });
    this.log.info({ inputs: this.spec.inputs.map((t) => t.name), startFrom: this.options.startFrom }, 'processor started');
  }

  /** Settles when the runner stopped: resolves after `stop`, rejects when a `fail` policy or a crash stopped it. */
  finished(): Promise<void> {
    if (!this.done) throw new Error('runner not started');
    return this.done;
  }

  state(): RunnerState {
    return {
      running: !!this.consumer && !this.shutdown.signal.aborted,
      joined: this.memberId !== undefined,
      assigned: this.assignment,
      paused: this.sinkDown,
      committed: this.committedChunks,
    };
  }

  /**
   * Ready while running as a member of its group. An empty assignment is still ready: a group may
   * have more members than partitions, and a member without any waits its turn.
   */
  readiness(): Readiness {
    const { running, joined, assigned, paused } = this.state();
    return {
      ready: running && joined,
      checks: {
        running: { ok: running },
        group: { ok: joined, detail: { group: this.groupId, member: this.memberId ?? null, assigned, paused } },
      },
    };
  }

  /** Graceful stop: finish (or, past the grace period, abandon) the chunk in flight, commit, leave the group. */
  async stop(reason = 'stop requested'): Promise<void> {
    if (this.shutdown.signal.aborted) return this.done?.catch(() => undefined);
    this.log.info({ reason }, 'processor stopping');
    this.memberId = undefined;
    this.shutdown.abort(new Error(reason));
    if (this.spec.longTask) this.generation.abort(new Error(reason));
    const graceTimer = setTimeout(
      () => this.hardStop.abort(new Error('shutdown grace period over')),
      this.options.shutdownGraceMs,
    );
    try {
      // kafkajs waits for the batch in flight, then sends LeaveGroup.
      await this.consumer?.disconnect();
      await this.closeSlots(() => true);
      await this.producer?.disconnect();
      await this.spec.sink?.close?.();
      await this.spec.state?.store.close?.();
      await this.spec.close?.();
    } finally {
      clearTimeout(graceTimer);
    }
    if (this.failure) this.rejectDone?.(this.failure);
    else this.resolveDone?.();
    this.log.info({ committedChunks: this.committedChunks }, 'processor stopped');
  }

  private watchGroup(consumer: Consumer): void {
    const events = consumer.events;
    consumer.on(events.GROUP_JOIN, (event) => {
      this.rebalancing = false;
      this.heartbeatFailure = undefined;
      this.memberId = event.payload.memberId;
      if (this.generation.signal.aborted) this.generation = new AbortController();
      this.assignment = Object.entries(event.payload.memberAssignment).map(([topic, partitions]) => ({ topic, partitions }));
      const owned = new Set(this.assignment.flatMap(({ topic, partitions }) => partitions.map((p) => `${topic}/${p}`)));
      void this.closeSlots((slot) => !owned.has(`${slot.topic}/${slot.partition}`));
      this.metrics.rebalances.inc();
      this.log.info({ memberId: event.payload.memberId, assignment: event.payload.memberAssignment }, 'joined group');
    });
    consumer.on(events.REBALANCING, () => {
      // From here on, chunks in flight must not commit: the partitions may already belong to someone else.
      this.rebalancing = true;
      this.generation.abort(new Error('group rebalancing'));
      this.log.info('group rebalancing');
    });
    consumer.on(events.CRASH, (event) => {
      const error = event.payload.error;
      this.log.error({ err: error, restart: event.payload.restart }, 'consumer crashed');
      // Out of the group until kafkajs restarts the consumer and it joins again (or for good).
      this.memberId = undefined;
      if (!event.payload.restart) {
        this.failure ??= error;
        void this.stop('consumer crashed');
      }
    });
  }

  private async handleBatch(payload: EachBatchPayload): Promise<void> {
    const { batch } = payload;
    const labels = { topic: batch.topic, partition: String(batch.partition) };
    // Pause and staleness take effect before anything is handed to the processor.
    const messages = batch.messages;
    for (let start = 0; start < messages.length; start += this.options.maxChunkRecords) {
      // Throttled by kafkajs to the heartbeat interval. A rebalance error propagates to kafkajs, which
      // rejoins at once; the chunk was not handed out, so nothing of it is committed or lost.
      await payload.heartbeat();
      if (!this.stillOwned(payload)) return;
      const chunk = messages.slice(start, start + this.options.maxChunkRecords);
      const committed = await this.processChunk(payload, chunk);
      if (this.heartbeatFailure !== undefined) throw this.heartbeatFailure;
      if (!committed) return;
      const last = chunk[chunk.length - 1] as KafkaMessage;
      this.metrics.lag.set(labels, Math.max(0, Number(BigInt(batch.highWatermark) - BigInt(last.offset) - 1n)));
    }
  }

  /** Returns true when the chunk was written and its offsets committed. */
  private async processChunk(payload: EachBatchPayload, chunk: KafkaMessage[]): Promise<boolean> {
    const { batch } = payload;
    const started = performance.now();
    const raws = chunk.map((message) => toRawRecord(batch.topic, batch.partition, message));
    this.metrics.recordsIn.inc({ topic: batch.topic }, raws.length);

    const heartbeats = setInterval(
      () => {
        payload.heartbeat().catch((error: unknown) => {
          // REBALANCE_IN_PROGRESS / ILLEGAL_GENERATION / UNKNOWN_MEMBER_ID: our ownership is ending.
          this.rebalancing = true;
          this.heartbeatFailure ??= error;
          this.log.info({ err: errorMessage(error) }, 'heartbeat failed (group rebalancing?); abandoning chunk');
        });
      },
      Math.max(500, Math.floor(this.options.heartbeatIntervalMs / 2)),
    );
    const slot = this.slotFor(batch.topic, batch.partition);
    // Enrich stages stop on rebalance; a long task also on shutdown (via the generation), others only past the grace period.
    const signal = AbortSignal.any([this.hardStop.signal, this.generation.signal]);
    try {
      // Decode, enrich and transform together: enrich does I/O, and a failing lookup pauses and retries
      // the chunk like a failing sink (decode and transform are deterministic, so a retry is the same).
      const chunkResult: { outcome?: ChunkOutcome<W, U> } = {};
      const processed = await this.untilAcknowledged(
        'enrich',
        async () => {
          const state = await slot.stateFor((raws[0] as RawRecord).offset, signal);
          chunkResult.outcome = await runChunk(this.spec, slot.processor, raws, state, signal);
        },
        payload,
      );
      const outcome = chunkResult.outcome;
      if (!processed || !outcome) return false;
      if (outcome.fatal) {
        const error = new RheoError('PROCESSING_FAILED', `${outcome.fatal.code}: ${outcome.fatal.reason}`, {
          details: { topic: batch.topic, partition: batch.partition, offset: outcome.fatal.source.offset },
        });
        this.metrics.errors.inc({ kind: 'fatal' });
        this.failure ??= error;
        this.log.error({ err: error }, 'record failed under the fail policy; stopping without committing it');
        void this.stop('fail policy');
        return false;
      }
      for (const skipped of outcome.skipped) {
        this.metrics.errors.inc({ kind: 'skipped' });
        this.log.warn(
          {
            topic: skipped.source.topic,
            partition: skipped.source.partition,
            offset: skipped.source.offset,
            code: skipped.code,
            reason: skipped.reason,
          },
          'record skipped',
        );
      }
      const wrote = await this.untilAcknowledged('sink', () => this.writeSink(outcome.writes), payload);
      if (!wrote) return false;
      const lettered = await this.untilAcknowledged('dead-letter', () => this.sendDeadLetters(outcome.deadLetters), payload);
      if (!lettered) return false;
      const flushed = await this.untilAcknowledged('state', () => slot.flush(outcome.update, this.hardStop.signal), payload);
      if (!flushed) return false;
      this.metrics.recordsOut.inc(outcome.writes.length);
      this.metrics.deadLetters.inc(outcome.deadLetters.length);
      // Not stillOwned(): during a graceful stop the chunk in flight still commits (we are a member until LeaveGroup).
      if (payload.isStale() || this.rebalancing) return false;
      const last = chunk[chunk.length - 1] as KafkaMessage;
      payload.resolveOffset(last.offset);
      // kafkajs resolved the offset (+1, and past a trailing transaction marker); commit just this partition's.
      // Its uncommittedOffsets() keys partitions by string, hence Number().
      const resolved = payload
        .uncommittedOffsets()
        .topics.find((t) => t.topic === batch.topic)
        ?.partitions.find((p) => Number(p.partition) === batch.partition);
      if (resolved) {
        await payload.commitOffsetsIfNecessary({
          topics: [{ topic: batch.topic, partitions: [{ partition: batch.partition, offset: resolved.offset }] }],
        });
      }
      this.committedChunks++;
      this.metrics.commits.inc();
      slot.committed(last.offset, { writes: outcome.writes, update: outcome.update });
      return true;
    } catch (error) {
      slot.forget();
      if (this.rebalancing || !payload.isRunning() || this.shutdown.signal.aborted) {
        this.log.info({ err: errorMessage(error) }, 'chunk abandoned during rebalance or shutdown; it will be redelivered');
        return false;
      }
      throw error;
    } finally {
      clearInterval(heartbeats);
      this.metrics.chunkSeconds.observe((performance.now() - started) / 1000);
    }
  }

  private slotFor(topic: string, partition: number): PartitionSlot<V, W, E, S, U> {
    const key = `${topic}/${partition}`;
    let slot = this.slots.get(key);
    if (!slot) {
      slot = new PartitionSlot(this.spec, topic, partition, {
        logger: this.log,
        forward: (target, messages) => this.forward(target, messages),
        scheduler: timerScheduler,
        onPunctuationError: () => this.metrics.errors.inc({ kind: 'punctuation' }),
      });
      this.slots.set(key, slot);
    }
    return slot;
  }

  private async closeSlots(which: (slot: PartitionSlot<V, W, E, S, U>) => boolean): Promise<void> {
    const closing = [...this.slots].filter(([, slot]) => which(slot));
    for (const [key] of closing) this.slots.delete(key);
    const results = await Promise.allSettled(closing.map(([, slot]) => slot.close()));
    for (const r of results)
      if (r.status === 'rejected') this.log.warn({ err: errorMessage(r.reason) }, 'partition processor failed to close');
  }

  /** Produces to a catalogue topic with acks=all through the runner's producer (what contexts' `forward` calls). */
  async forward(topic: TopicEntry, messages: readonly ForwardMessage[]): Promise<void> {
    if (messages.length === 0) return;
    const producer = this.producer;
    if (!producer) throw new RheoError('KAFKA_UNAVAILABLE', 'runner not started: nothing to forward with');
    // One request per slice of at most FORWARD_BATCH_BYTES, in order: a record batch must stay under
    // the broker's message.max.bytes (1 MiB by default) however much a punctuation has to say.
    let slice: ForwardMessage[] = [];
    let bytes = 0;
    const send = async () => {
      if (slice.length === 0) return;
      const batch = slice;
      slice = [];
      bytes = 0;
      await producer.send({
        topic: topic.name,
        acks: -1,
        messages: batch.map((m) => ({ key: m.key, value: m.value, ...(m.headers ? { headers: m.headers } : {}) })),
      });
    };
    for (const message of messages) {
      const size = message.value.length + (message.key?.length ?? 0) + 64;
      if (bytes + size > FORWARD_BATCH_BYTES) await send();
      slice.push(message);
      bytes += size;
    }
    await send();
  }

  private stillOwned(payload: EachBatchPayload): boolean {
    return payload.isRunning() && !payload.isStale() && !this.rebalancing && !this.shutdown.signal.aborted;
  }

  /**
   * Retries `write` until it is acknowledged, through the one retrier (kernel/retry.ts) with no attempt
   * limit: nothing is skipped, and a non-retriable error is retried too (logged as such). While it
   * fails the partition is paused, so kafkajs fetches nothing more for it. Gives up (returning false,
   * nothing committed) on rebalance or shutdown.
   */
  private async untilAcknowledged(
    stage: 'enrich' | 'sink' | 'dead-letter' | 'state',
    write: () => Promise<void>,
    payload: EachBatchPayload,
  ): Promise<boolean> {
    let resume: (() => void) | undefined;
    const abandoned = () => this.rebalancing || !payload.isRunning() || (this.spec.longTask && this.shutdown.signal.aborted);
    try {
      await retry(
        async (attempt) => {
          if (attempt.number > 1) {
            try {
              await payload.heartbeat();
            } catch (heartbeatError) {
              this.rebalancing = true;
              this.heartbeatFailure ??= heartbeatError;
            }
            if (abandoned()) attempt.bail(new Error('chunk abandoned (rebalance or shutdown)'));
          }
          const started = performance.now();
          await write();
          this.metrics.sinkSeconds.observe({ stage }, (performance.now() - started) / 1000);
          if (resume) {
            this.sinkDown = false;
            this.metrics.paused.set(0);
            this.log.info({ stage, attempts: attempt.number }, 'sink recovered; partition resumed');
          }
        },
        {
          attempts: Number.POSITIVE_INFINITY,
          ...this.options.sinkRetry,
          factor: 2,
          signal: this.shutdown.signal,
          // Abandoned (the partition may be someone else's now, or the task was aborted): redelivered, not retried here.
          shouldRetry: () => !abandoned(),
          onRetry: (error, attempt, delayMs) => {
            this.metrics.sinkFailures.inc({ stage });
            if (!isRetriable(error))
              this.log.error(
                { err: error, stage },
                'sink write failed with a non-retriable error; retrying anyway so nothing is lost',
              );
            if (!resume) {
              resume = payload.pause();
              this.sinkDown = true;
              this.metrics.paused.set(1);
            }
            this.log.warn({ stage, attempt, delayMs, err: errorMessage(error) }, 'sink write failed; partition paused, retrying');
          },
        },
      );
      return true;
    } catch {
      // Only abandonment or shutdown ends the retrier without success.
      return false;
    } finally {
      resume?.();
    }
  }

  private async writeSink(writes: W[]): Promise<void> {
    if (writes.length === 0) return;
    if (!this.spec.sink) throw new RheoError('PROCESSING_FAILED', `${this.spec.name} produced writes but has no sink`);
    await this.spec.sink.write(writes, this.hardStop.signal);
  }

  private async sendDeadLetters(letters: DeadLetter[]): Promise<void> {
    if (letters.length === 0) return;
    const byTopic = new Map<string, DeadLetter[]>();
    for (const letter of letters) byTopic.set(letter.dlqTopic, [...(byTopic.get(letter.dlqTopic) ?? []), letter]);
    await (this.producer as Producer).sendBatch({
      acks: -1,
      topicMessages: [...byTopic].map(([topic, group]) => ({
        topic,
        messages: group.map((letter) => ({
          key: letter.source.key,
          value: letter.source.value,
          headers: deadLetterHeaders(letter),
        })),
      })),
    });
    for (const letter of letters) {
      this.log.warn(
        {
          topic: letter.source.topic,
          partition: letter.source.partition,
          offset: letter.source.offset,
          code: letter.code,
          reason: letter.reason,
          dlq: letter.dlqTopic,
        },
        'record sent to dead-letter topic',
      );
    }
  }
}

function toRawRecord(topic: string, partition: number, message: KafkaMessage): RawRecord {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(message.headers ?? {})) {
    if (value === undefined) continue;
    headers[name] = Array.isArray(value) ? value.map(String).join(',') : String(value);
  }
  return {
    topic,
    partition,
    offset: message.offset,
    key: message.key,
    value: message.value,
    timestamp: Number(message.timestamp),
    headers,
  };
}

/**
 * Runs a processor until SIGTERM/SIGINT, then stops gracefully. The process entry point of every
 * processor's `index.ts`.
 */
export async function runUntilSignalled<V, W, E, S, U>(runner: ProcessorRunner<V, W, E, S, U>, logger: Logger): Promise<void> {
  const onSignal = (signal: NodeJS.Signals) => {
    logger.info({ signal }, 'signal received');
    void runner.stop(signal);
  };
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
  await runner.start();
  try {
    await runner.finished();
  } finally {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
  }
}
