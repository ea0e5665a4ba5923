/**
 * Runs a processor without a broker (after Kafka Streams' TopologyTestDriver): feed records, see the
 * writes its sink received and the dead letters it produced. Same pipeline code as the runner.
 */
import { runChunk } from './pipeline.ts';
import type { DeadLetter, ProcessorSpec, RawRecord } from './types.ts';

export class ProcessorTestDriver<V, W> {
  readonly deadLetters: DeadLetter[] = [];
  readonly skipped: DeadLetter[] = [];
  private readonly offsets = new Map<string, bigint>();
  private readonly spec: ProcessorSpec<V, W>;

  constructor(spec: ProcessorSpec<V, W>) {
    this.spec = spec;
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

  /** One chunk through decode → transform → sink; throws what a `fail` policy would stop on. */
  async pipe(records: RawRecord[]): Promise<void> {
    const outcome = await runChunk(this.spec, records);
    if (outcome.fatal) throw new Error(`${outcome.fatal.code}: ${outcome.fatal.reason}`);
    if (outcome.writes.length > 0) await this.spec.sink.write(outcome.writes, new AbortController().signal);
    this.deadLetters.push(...outcome.deadLetters);
    this.skipped.push(...outcome.skipped);
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
