import { describe, expect, it } from 'vitest';
import { RheoError } from '../../../kernel/errors.ts';
import { createLogger } from '../../../kernel/log.ts';
import { MemorySink, ProcessorTestDriver } from '../../../runtime/driver.ts';
import { deadLetterHeaders, runChunk } from '../../../runtime/pipeline.ts';
import type { FailurePolicy, ProcessorContext, ProcessorSpec, SourceRecord } from '../../../runtime/types.ts';
import { TOPICS } from '../../../topics/catalogue.ts';

interface Reading {
  id: string;
  amount: number;
}

type Policy = FailurePolicy;

function transform(records: ReadonlyArray<SourceRecord<Reading>>) {
  const writes: string[] = [];
  const rejected = [];
  for (const r of records) {
    if (r.value.amount < 0) rejected.push({ record: r, code: 'PROCESSING_FAILED' as const, reason: 'negative amount' });
    else writes.push(`${r.key}:${r.value.id}`);
  }
  return { writes, rejected };
}

function spec(
  sink = new MemorySink<string>(),
  decode: Policy = 'dead-letter',
  process: Policy = decode,
): ProcessorSpec<Reading, string> {
  return {
    name: 'test',
    inputs: [TOPICS.predictions],
    policies: { decode, process },
    decode(raw) {
      if (!raw.value) throw new RheoError('SCHEMA_DECODE_FAILED', 'tombstone');
      return JSON.parse(raw.value.toString()) as Reading;
    },
    supply: () => ({ transform }),
    sink,
  };
}

const json = (value: unknown) => Buffer.from(JSON.stringify(value));
const signal = new AbortController().signal;
const context: ProcessorContext = {
  processor: 'test',
  topic: 'predictions',
  partition: 0,
  logger: createLogger('test', { level: 'silent' }),
  signal,
  schedule: () => ({ trigger: () => undefined, cancel: () => undefined }),
  forward: async () => undefined,
};

describe('processor pipeline', () => {
  it('decodes, transforms in order and writes', async () => {
    const sink = new MemorySink<string>();
    const driver = new ProcessorTestDriver(spec(sink));
    await driver.pipe([
      driver.record('predictions', json({ id: 'a', amount: 1 }), { key: 'k1' }),
      driver.record('predictions', json({ id: 'b', amount: 2 }), { key: 'k1' }),
      driver.record('predictions', json({ id: 'c', amount: 3 }), { key: 'k2' }),
    ]);
    expect(sink.written).toEqual(['k1:a', 'k1:b', 'k2:c']);
    expect(driver.deadLetters).toEqual([]);
  });

  it('sends undecodable and refused records to the dead-letter topic while the rest flows', async () => {
    const sink = new MemorySink<string>();
    const driver = new ProcessorTestDriver(spec(sink));
    await driver.pipe([
      driver.record('predictions', json({ id: 'a', amount: 1 }), { key: 'k' }),
      driver.record('predictions', Buffer.from('{not json'), { key: 'k' }),
      driver.record('predictions', null, { key: 'k' }),
      driver.record('predictions', json({ id: 'd', amount: -1 }), { key: 'k' }),
      driver.record('predictions', json({ id: 'e', amount: 5 }), { key: 'k' }),
    ]);
    expect(sink.written).toEqual(['k:a', 'k:e']);
    expect(driver.deadLetters.map((d) => [d.source.offset, d.code, d.dlqTopic])).toEqual([
      ['1', 'SCHEMA_DECODE_FAILED', 'predictions.dlq'],
      ['2', 'SCHEMA_DECODE_FAILED', 'predictions.dlq'],
      ['3', 'PROCESSING_FAILED', 'predictions.dlq'],
    ]);
    expect(driver.deadLetters[2]?.reason).toBe('negative amount');
  });

  it('skips failures under the continue policy and stops on the first under fail', async () => {
    const cont = new ProcessorTestDriver(spec(new MemorySink(), 'continue'));
    await cont.pipe([cont.record('predictions', null), cont.record('predictions', json({ id: 'x', amount: 1 }))]);
    expect(cont.skipped).toHaveLength(1);
    expect(cont.deadLetters).toHaveLength(0);

    const failing = spec(new MemorySink(), 'fail');
    const outcome = await runChunk(
      failing,
      failing.supply(context),
      [cont.record('predictions', json({ id: 'y', amount: 1 })), cont.record('predictions', null)],
      undefined,
      signal,
    );
    expect(outcome.fatal?.code).toBe('SCHEMA_DECODE_FAILED');
  });

  it('applies the decode and the process policy each to its own failures', async () => {
    const mixed = spec(new MemorySink(), 'continue', 'dead-letter');
    const driver = new ProcessorTestDriver(mixed);
    await driver.pipe([
      driver.record('predictions', null),
      driver.record('predictions', json({ id: 'n', amount: -1 })),
      driver.record('predictions', json({ id: 'o', amount: 1 })),
    ]);
    expect(driver.skipped.map((d) => [d.stage, d.code])).toEqual([['decode', 'SCHEMA_DECODE_FAILED']]);
    expect(driver.deadLetters.map((d) => [d.stage, d.code])).toEqual([['process', 'PROCESSING_FAILED']]);
    const strict = spec(new MemorySink(), 'dead-letter', 'fail');
    const outcome = await runChunk(
      strict,
      strict.supply(context),
      [driver.record('predictions', null), driver.record('predictions', json({ id: 'q', amount: -1 }))],
      undefined,
      signal,
    );
    expect(outcome.deadLetters.map((d) => d.stage)).toEqual(['decode']);
    expect(outcome.fatal?.stage).toBe('process');
  });

  it('puts the reason and the source position in dead-letter headers', async () => {
    const driver = new ProcessorTestDriver(spec());
    const plain = spec();
    const outcome = await runChunk(
      plain,
      plain.supply(context),
      [driver.record('predictions', null, { partition: 4, headers: { trace: 't1' } })],
      undefined,
      signal,
    );
    const headers = deadLetterHeaders(outcome.deadLetters[0]!);
    expect(headers).toMatchObject({
      trace: 't1',
      'rheo.error.code': 'SCHEMA_DECODE_FAILED',
      'rheo.source.topic': 'predictions',
      'rheo.source.partition': '4',
      'rheo.source.offset': '0',
      'rheo.processor': 'test',
      'rheo.error.stage': 'decode',
    });
  });

  it('refuses a transform that rejects a record it was not given', async () => {
    const bad: ProcessorSpec<Reading, string> = {
      ...spec(),
      supply: () => ({
        transform: () => ({
          writes: [],
          rejected: [{ record: { topic: 'x', partition: 0, offset: '9' }, code: 'PROCESSING_FAILED' as const, reason: '?' }],
        }),
      }),
    };
    const driver = new ProcessorTestDriver(bad);
    await expect(driver.pipe([driver.record('predictions', json({ id: 'a', amount: 1 }))])).rejects.toThrow(/not given/);
  });
});
