/**
 * The topic reader on the real broker: an empty topic returns at once, a topic ending in a
 * transaction's commit marker (an offset no record has) still ends, an offset range yields exactly
 * its offsets (poison skipped and reported), and a follower catches up, keeps following, and leaves
 * no consumer group behind.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../kernel/config.ts';
import { type Admin, createAdmin, createKafka, createProducer, type Kafka, type Producer } from '../../kernel/kafka.ts';
import { type PoisonRecord, readTopic, TopicFollower, type TopicRecord } from '../../kernel/topic-reader.ts';
import { ensureTopics } from '../../topics/admin.ts';
import { withDeadLetters } from '../../topics/catalogue.ts';
import { testTopic, uniqueName } from '../support/topics.ts';
import { waitFor } from '../support/wait.ts';

const config = loadConfig();
let kafka: Kafka;
let admin: Admin;
let producer: Producer;

beforeAll(async () => {
  kafka = createKafka(config.kafka, undefined, 'topic-reader-test');
  admin = createAdmin(kafka);
  producer = createProducer(kafka);
  await Promise.all([admin.connect(), producer.connect()]);
});

afterAll(async () => {
  await Promise.allSettled([admin.disconnect(), producer.disconnect()]);
});

async function freshTopic(partitions: number): Promise<string> {
  const entry = testTopic(uniqueName('topic-reader'), partitions);
  await ensureTopics(admin, withDeadLetters([entry]));
  return entry.name;
}

/** Reads `topic` to its end, decoding values as text; 'poison' values are refused by the decoder. */
async function readAll(topic: string, ranges?: Record<number, { from?: bigint; to?: bigint }>) {
  const records: TopicRecord<string>[] = [];
  const poison: PoisonRecord[] = [];
  const summary = await readTopic<string>({
    kafka,
    topic,
    groupPrefix: 'test.topic-reader',
    ...(ranges ? { ranges } : {}),
    timeoutMs: 30_000,
    decode: (message) => {
      const text = message.value?.toString() ?? '';
      if (text === 'poison') throw new Error('not decodable');
      return text;
    },
    poison: { kind: 'skip', report: (p) => void poison.push(p) },
    onChunk: ({ records: chunk }) => void records.push(...chunk),
  });
  return { records, poison, summary };
}

describe('topic reader', () => {
  it('returns at once for an empty topic', async () => {
    const topic = await freshTopic(3);
    const started = performance.now();
    const { records, summary } = await readAll(topic);
    expect(performance.now() - started).toBeLessThan(2_000);
    expect(records).toEqual([]);
    expect([...summary.positions.values()]).toEqual([0n, 0n, 0n]);
  });

  it('ends a topic whose last offset is a transaction commit marker', async () => {
    const topic = await freshTopic(2);
    const transactional = createProducer(kafka, { transactionalId: `test-topic-reader-${randomUUID()}`, maxInFlightRequests: 1 });
    await transactional.connect();
    try {
      const transaction = await transactional.transaction();
      await transaction.send({
        topic,
        acks: -1,
        messages: ['a', 'b', 'c'].map((value) => ({ partition: 0, key: value, value })),
      });
      await transaction.commit();
    } finally {
      await transactional.disconnect();
    }
    // Three records and the commit marker: the high watermark is past an offset no record has. The
    // broker writes the marker after EndTxn returns, and offsets are read committed (the last stable
    // offset), so it is visible a moment later.
    await waitFor('the commit marker', async () => {
      const [partition0] = (await admin.fetchTopicOffsets(topic)).filter((o) => o.partition === 0);
      return partition0?.high === '4';
    });
    const { records, summary } = await readAll(topic);
    expect(records.map((r) => [r.partition, r.offset, r.value])).toEqual([
      [0, 0n, 'a'],
      [0, 1n, 'b'],
      [0, 2n, 'c'],
    ]);
    expect(summary.positions).toEqual(
      new Map([
        [0, 4n],
        [1, 0n],
      ]),
    );
  });

  it('reads exactly an offset range, skipping and reporting poison inside it', async () => {
    const topic = await freshTopic(2);
    const values = Array.from({ length: 20 }, (_, i) => (i === 7 ? 'poison' : `v${i}`));
    await producer.send({ topic, acks: -1, messages: values.map((value) => ({ partition: 1, key: value, value })) });
    await producer.send({ topic, acks: -1, messages: [{ partition: 0, key: 'other', value: 'other' }] });
    const { records, poison, summary } = await readAll(topic, { 1: { from: 5n, to: 12n } });
    expect(records.map((r) => r.offset)).toEqual([5n, 6n, 8n, 9n, 10n, 11n]);
    expect(records.every((r) => r.partition === 1)).toBe(true);
    expect(poison.map((p) => p.offset)).toEqual([7n]);
    expect(summary.positions).toEqual(new Map([[1, 12n]]));
  });

  it('follows: catches up on what was there, then delivers new records, and deletes its group on stop', async () => {
    const topic = await freshTopic(1);
    await producer.send({ topic, acks: -1, messages: [{ key: 'k', value: 'before' }] });
    const seen: string[] = [];
    const failures: unknown[] = [];
    let caughtUpWith: string[] | undefined;
    const groupPrefix = `test.topic-follower.${randomUUID().slice(0, 8)}`;
    const follower = await TopicFollower.start<string>({
      kafka,
      topic,
      groupPrefix,
      decode: (message) => message.value?.toString() ?? '',
      poison: { kind: 'fail' },
      onChunk: ({ records }) => void seen.push(...records.map((r) => r.value)),
      onCaughtUp: () => {
        caughtUpWith = [...seen];
      },
      onFailure: (error) => void failures.push(error),
    });
    try {
      await waitFor('caught up', () => caughtUpWith !== undefined, { timeoutMs: 30_000 });
      expect(caughtUpWith).toEqual(['before']);
      await producer.send({ topic, acks: -1, messages: [{ key: 'k', value: 'after' }] });
      await waitFor('followed', () => seen.length === 2, { timeoutMs: 15_000 });
      expect(seen).toEqual(['before', 'after']);
      expect(follower.position(0)).toBe(2n);
      expect(failures).toEqual([]);
    } finally {
      await follower.stop();
    }
    const { groups } = await admin.listGroups();
    expect(groups.filter((g) => g.groupId.startsWith(groupPrefix))).toEqual([]);
  });
});
