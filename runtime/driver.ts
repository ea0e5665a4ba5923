/**
 * Runs a processor without a broker (after Kafka Streams' TopologyTestDriver): feed records, see the
 * writes its sink received, the dead letters, what it forwarded, and its state. Same chunk pipeline
 * and the same per-partition slots as the runner: one partition processor per partition, the state
 * flushed after the sink and before the (simulated) commit, punctuations run when the test says.
 */
import { createLogger, type Logger } from '../kernel/log.ts';
import type { TopicEntry } from '../topics/catalogue.ts';
import { PartitionSlot } from './partition.ts';
import { runChunk } from './pipeline.ts';
import type { DeadLetter, ForwardMessage, ProcessorSpec, RawRecord } from './types.ts';

export interface Forwarded extends ForwardMessage {
  topic: string;
}

export class ProcessorTestDriver<V, W, E = V, S = undefined, U = never> {
  readonly deadLetters: DeadLetter[] = [];
  readonly skipped: DeadLetter[] = [];
  readonly forwarded: Forwarded[] = [];
  /** Last committed offset + 1 per `topic/partition`. */
  readonly committed = new Map<string, string>();
  private readonly offsets = new Map<string, bigint>();
  private readonly slots = new Map<string, PartitionSlot<V, W, E, S, U>>();
  private readonly spec: ProcessorSpec<V, W, E, S, U>;
  private readonly logger: Logger;
  private readonly controller = new AbortController();

  constructor(spec: ProcessorSpec<V, W, E, S, U>, options: { logger?: Logger } = {}) {
    this.spec = spec;
    this.logger = options.logger ?? createLogger('test-driver', { level: 'silent' });
  }

  /** Builds a raw record at the next offset of topic/partition. */
  record(
    topic: string,
    value: Buffer | null,
    options: { key?: string; partition?: number; timestamp?: number; headers?: Record<string, string> } = {},
  ): RawRecord {
    const partition = options.partition ?? 0;
    const slot = `${topic}/${partition}`;
    const offset = this.offsets.get(slot) ?? 0n;
    this.offsets.set(slot, offset + 1n);
    return {
      topic,
      partition,
      offset: String(offset),
      key: options.key === undefined ? null : Buffer.from(options.key),
      value,
      timestamp: options.timestamp ?? Date.now(),
      headers: options.headers ?? {},
    };
  }

  /**
   * Records through decode → enrich → transform → sink → state flush, one chunk per partition (in the
   * order given within each); throws what a `fail` policy would stop on.
   */
  async pipe(records: RawRecord[]): Promise<void> {
    const byPartition = new Map<string, RawRecord[]>();
    for (const r of records) {
      const key = `${r.topic}/${r.partition}`;
      byPartition.set(key, [...(byPartition.get(key) ?? []), r]);
    }
    for (const [key, chunk] of byPartition) {
      const first = chunk[0] as RawRecord;
      const slot = this.slot(first.topic, first.partition);
      const signal = this.controller.signal;
      const state = await slot.stateFor(first.offset, signal);
      const outcome = await runChunk(this.spec, slot.processor, chunk, state, signal);
      if (outcome.fatal) throw new Error(`${outcome.fatal.code}: ${outcome.fatal.reason}`);
      if (outcome.writes.length > 0) {
        if (!this.spec.sink) throw new Error(`${this.spec.name} produced writes but has no sink`);
        await this.spec.sink.write(outcome.writes, signal);
      }
      this.deadLetters.push(...outcome.deadLetters);
      this.skipped.push(...outcome.skipped);
      await slot.flush(outcome.update, signal);
      const last = (chunk[chunk.length - 1] as RawRecord).offset;
      this.committed.set(key, String(BigInt(last) + 1n));
      slot.committed(last, { writes: outcome.writes, update: outcome.update });
    }
  }

  /** Runs every scheduled punctuation of every partition once and waits for them. */
  async punctuate(): Promise<void> {
    for (const slot of this.slots.values()) await slot.punctuate();
  }

  /** Revokes a partition: its processor is closed; a later record makes a new one (state from the store). */
  async revoke(topic: string, partition: number): Promise<void> {
    const key = `${topic}/${partition}`;
    await this.slots.get(key)?.close();
    this.slots.delete(key);
  }

  /** How many partition processors are live (one per partition that has seen a record). */
  get partitions(): number {
    return this.slots.size;
  }

  async close(): Promise<void> {
    this.controller.abort(new Error('driver closed'));
    for (const slot of this.slots.values()) await slot.close();
    this.slots.clear();
    await this.spec.sink?.close?.();
    await this.spec.close?.();
  }

  private slot(topic: string, partition: number): PartitionSlot<V, W, E, S, U> {
    const key = `${topic}/${partition}`;
    let slot = this.slots.get(key);
    if (!slot) {
      slot = new PartitionSlot(this.spec, topic, partition, {
        logger: this.logger,
        forward: async (target: TopicEntry, messages) => {
          for (const m of messages) this.forwarded.push({ topic: target.name, ...m });
        },
        // Punctuations run only when the test calls punctuate().
        scheduler: () => () => undefined,
      });
      this.slots.set(key, slot);
    }
    return slot;
  }
}

/** A sink that keeps writes in memory, for tests and the driver. */
export class MemorySink<W> {
  readonly name = 'memory';
  readonly written: W[] = [];
  failNext = 0;
  async write(writes: readonly W[]): Promise<void> {
    if (this.failNext > 0) {
      this.failNext--;
      throw Object.assign(new Error('memory sink told to fail'), { retriable: true });
    }
    this.written.push(...writes);
  }
}
