/**
 * The processor context through the broker-free driver: one processor per partition, state flushed
 * after the sink and before the commit, punctuations, the enrich stage, and the long-task mode.
 */
import { describe, expect, it } from 'vitest';
import { MemorySink, ProcessorTestDriver } from '../../../runtime/driver.ts';
import { MemoryStateStore } from '../../../runtime/state.ts';
import { longTaskProcessor } from '../../../runtime/task.ts';
import type { ProcessorContext, ProcessorSpec } from '../../../runtime/types.ts';
import { TOPICS } from '../../../topics/catalogue.ts';

const topic = TOPICS.predictions.name;
const text = (value: string) => Buffer.from(value);

/** Counts records per partition: the state is the running total, each write the total after a record. */
interface Total {
  count: number;
}

function countingSpec(sink: MemorySink<string>, store: MemoryStateStore<Total, Total>) {
  const supplied: ProcessorContext[] = [];
  const committed: Array<{ partition: number; update: Total | undefined }> = [];
  const closed: number[] = [];
  const spec: ProcessorSpec<string, string, string, Total, Total> = {
    name: 'counting',
    inputs: [TOPICS.predictions],
    decode: (raw) => String(raw.value),
    state: { store, initial: () => ({ count: 0 }) },
    supply(context) {
      supplied.push(context);
      return {
        transform(records, state) {
          let count = state.count;
          const writes = records.map((r) => `${context.partition}:${r.value}:${++count}`);
          return { writes, rejected: [], update: { count } };
        },
        committed: ({ update }) => committed.push({ partition: context.partition, update }),
        close: async () => {
          closed.push(context.partition);
        },
      };
    },
    sink,
  };
  return { spec, supplied, committed, closed };
}

describe('processor context', () => {
  it('supplies one processor per partition, each with its own context', async () => {
    const sink = new MemorySink<string>();
    const store = new MemoryStateStore<Total, Total>((_s, u) => u);
    const { spec, supplied } = countingSpec(sink, store);
    const driver = new ProcessorTestDriver(spec);
    await driver.pipe([
      driver.record(topic, text('a'), { partition: 0 }),
      driver.record(topic, text('b'), { partition: 1 }),
      driver.record(topic, text('c'), { partition: 0 }),
    ]);
    await driver.pipe([driver.record(topic, text('d'), { partition: 1 })]);
    expect(supplied.map((c) => c.partition)).toEqual([0, 1]);
    expect(driver.partitions).toBe(2);
    expect(sink.written).toEqual(['0:a:1', '0:c:2', '1:b:1', '1:d:2']);
    expect(store.states.get(0)).toEqual({ count: 2 });
    expect(store.states.get(1)).toEqual({ count: 2 });
  });

  it('flushes state after the sink and before the commit; a failed flush commits nothing and the chunk replays', async () => {
    const sink = new MemorySink<string>();
    const store = new MemoryStateStore<Total, Total>((_s, u) => u);
    const { spec, committed } = countingSpec(sink, store);
    const driver = new ProcessorTestDriver(spec);
    await driver.pipe([driver.record(topic, text('a'))]);
    expect(driver.committed.get(`${topic}/0`)).toBe('1');

    store.failNext = 1;
    const b = driver.record(topic, text('b'));
    await expect(driver.pipe([b])).rejects.toThrow(/told to fail/);
    // The sink had acknowledged (at-least-once), but neither the state nor the offset moved.
    expect(sink.written).toEqual(['0:a:1', '0:b:2']);
    expect(store.states.get(0)).toEqual({ count: 1 });
    expect(driver.committed.get(`${topic}/0`)).toBe('1');
    expect(committed).toHaveLength(1);

    // Redelivered: built on the flushed state, so the same write comes again and the state lands once.
    await driver.pipe([b]);
    expect(sink.written).toEqual(['0:a:1', '0:b:2', '0:b:2']);
    expect(store.states.get(0)).toEqual({ count: 2 });
    expect(driver.committed.get(`${topic}/0`)).toBe('2');
    expect(committed.map((c) => c.update)).toEqual([{ count: 1 }, { count: 2 }]);
  });

  it('reloads state from the store when a partition comes back, and closes revoked processors', async () => {
    const sink = new MemorySink<string>();
    const store = new MemoryStateStore<Total, Total>((_s, u) => u);
    const { spec, supplied, closed } = countingSpec(sink, store);
    const driver = new ProcessorTestDriver(spec);
    await driver.pipe([driver.record(topic, text('a')), driver.record(topic, text('b'))]);
    const first = supplied[0] as ProcessorContext;
    await driver.revoke(topic, 0);
    expect(closed).toEqual([0]);
    expect(first.signal.aborted).toBe(true);
    // Another member moved the state on meanwhile; the new processor starts from the store's.
    store.states.set(0, { count: 10 });
    await driver.pipe([driver.record(topic, text('c'))]);
    expect(supplied).toHaveLength(2);
    expect(sink.written.at(-1)).toBe('0:c:11');
  });

  it('runs punctuations when scheduled, never two at once, and not after the partition closed', async () => {
    const ticks: number[] = [];
    let release: (() => void) | undefined;
    let punctuation: ReturnType<ProcessorContext['schedule']> | undefined;
    const spec: ProcessorSpec<string, string> = {
      name: 'punctuating',
      inputs: [TOPICS.predictions],
      decode: (raw) => String(raw.value),
      supply(context) {
        punctuation = context.schedule(1_000, async () => {
          ticks.push(context.partition);
          await new Promise<void>((resolve) => {
            release = resolve;
          });
        });
        return { transform: (records) => ({ writes: records.map((r) => r.value), rejected: [] }) };
      },
      sink: new MemorySink<string>(),
    };
    const driver = new ProcessorTestDriver(spec);
    await driver.pipe([driver.record(topic, text('a'), { partition: 3 })]);
    const running = driver.punctuate();
    punctuation?.trigger(); // while one runs: queued once, not run concurrently
    punctuation?.trigger();
    expect(ticks).toEqual([3]);
    release?.();
    await new Promise((r) => setTimeout(r, 0));
    expect(ticks).toEqual([3, 3]);
    release?.();
    await running;
    await driver.revoke(topic, 3);
    punctuation?.trigger();
    expect(ticks).toEqual([3, 3]);
  });

  it('enriches decoded records asynchronously and dead-letters what enrich refuses', async () => {
    const sink = new MemorySink<string>();
    const lookups: string[][] = [];
    const spec: ProcessorSpec<string, string, { name: string; score: number }> = {
      name: 'enriching',
      inputs: [TOPICS.predictions],
      decode: (raw) => {
        if (!raw.value) throw new Error('tombstone');
        return String(raw.value);
      },
      supply: () => ({
        async enrich(records) {
          lookups.push(records.map((r) => r.value));
          await new Promise((r) => setTimeout(r, 1));
          return {
            records: records
              .filter((r) => r.value !== 'unknown')
              .map((r) => ({ ...r, value: { name: r.value, score: r.value.length } })),
            rejected: records
              .filter((r) => r.value === 'unknown')
              .map((record) => ({ record, code: 'NOT_FOUND' as const, reason: 'no such entity' })),
          };
        },
        transform: (records) => ({ writes: records.map((r) => `${r.value.name}=${r.value.score}`), rejected: [] }),
      }),
      sink,
    };
    const driver = new ProcessorTestDriver(spec);
    await driver.pipe([
      driver.record(topic, text('ab')),
      driver.record(topic, null),
      driver.record(topic, text('unknown')),
      driver.record(topic, text('abc')),
    ]);
    expect(lookups).toEqual([['ab', 'unknown', 'abc']]);
    expect(sink.written).toEqual(['ab=2', 'abc=3']);
    expect(driver.deadLetters.map((d) => [d.source.offset, d.stage, d.code])).toEqual([
      ['1', 'decode', 'SCHEMA_DECODE_FAILED'],
      ['2', 'process', 'NOT_FOUND'],
    ]);
  });

  it('forwards through the context', async () => {
    const spec: ProcessorSpec<string, never> = {
      name: 'forwarding',
      inputs: [TOPICS.predictions],
      decode: (raw) => String(raw.value),
      supply: (context) => ({
        async enrich(records) {
          await context.forward(TOPICS.monitoringDrift, [{ key: 'k', value: Buffer.from(records.length.toString()) }]);
          return { records: [...records], rejected: [] };
        },
        transform: () => ({ writes: [], rejected: [] }),
      }),
    };
    const driver = new ProcessorTestDriver(spec);
    await driver.pipe([driver.record(topic, text('a')), driver.record(topic, text('b'))]);
    expect(driver.forwarded.map((f) => [f.topic, f.key, String(f.value)])).toEqual([[TOPICS.monitoringDrift.name, 'k', '2']]);
  });
});

describe('long-task mode', () => {
  it('runs accepted records as tasks, passes over and refuses others, and records outcomes', async () => {
    const outcomes = new MemorySink<string>();
    const ran: string[] = [];
    const spec = longTaskProcessor<string, string>({
      name: 'tasks',
      inputs: [TOPICS.trainingRequests],
      decode: (raw) => String(raw.value),
      accept: (value) =>
        value.startsWith('other')
          ? { run: false }
          : value === 'bad'
            ? { run: false, code: 'NOT_FOUND', reason: 'no spec' }
            : { run: true },
      async run(record) {
        ran.push(record.value);
        return `done:${record.value}`;
      },
      outcomes,
    });
    expect(spec.longTask).toBe(true);
    const driver = new ProcessorTestDriver(spec);
    const t = TOPICS.trainingRequests.name;
    for (const value of ['a', 'other-model', 'bad', 'b']) await driver.pipe([driver.record(t, text(value))]);
    expect(ran).toEqual(['a', 'b']);
    expect(outcomes.written).toEqual(['done:a', 'done:b']);
    expect(driver.deadLetters.map((d) => d.reason)).toEqual(['no spec']);
    expect(driver.committed.get(`${t}/0`)).toBe('4');
  });

  it('hands the task an abort signal and commits nothing when it throws', async () => {
    const outcomes = new MemorySink<string>();
    let seen: AbortSignal | undefined;
    const spec = longTaskProcessor<string, string>({
      name: 'tasks',
      inputs: [TOPICS.trainingRequests],
      decode: (raw) => String(raw.value),
      async run(_record, signal) {
        seen = signal;
        throw Object.assign(new Error('store down'), { retriable: true });
      },
      outcomes,
    });
    const driver = new ProcessorTestDriver(spec);
    const t = TOPICS.trainingRequests.name;
    await expect(driver.pipe([driver.record(t, text('a'))])).rejects.toThrow(/store down/);
    expect(seen).toBeInstanceOf(AbortSignal);
    expect(outcomes.written).toEqual([]);
    expect(driver.committed.has(`${t}/0`)).toBe(false);
    await driver.close();
    expect(seen?.aborted).toBe(true);
  });
});
