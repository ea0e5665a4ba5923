/**
 * Batch job checkpoints on the compacted `scoring.checkpoints` topic (key: job id). A checkpoint is
 * produced in the same Kafka transaction as the predictions of the rows it counts, so after a crash
 * the last committed checkpoint says exactly which rows' predictions are in Kafka: the job resumes
 * after them, and an aborted transaction's predictions are never seen by read_committed consumers.
 */
import { randomUUID } from 'node:crypto';
import { createConsumer, type Kafka } from '../../kernel/kafka.ts';
import { TOPICS } from '../../topics/catalogue.ts';

export interface Checkpoint {
  job: string;
  model: string;
  /** The version the job scores with, fixed at its first start. */
  version: string;
  source:
    | { kind: 'query'; query: string }
    | { kind: 'range'; topic: string; ranges: Record<string, { from: string; to: string }> };
  /** Rows read so far (scored or skipped), in source order. */
  rows: number;
  scored: number;
  skipped: number;
  /** Range jobs: next offset to read per partition. */
  positions: Record<string, string>;
  status: 'running' | 'completed';
  /** When the job first started: the `event_time` of all its predictions, so a resumed batch repeats identical events. */
  startedAt: number;
  updatedAt: number;
}

export function encodeCheckpoint(checkpoint: Checkpoint): Buffer {
  return Buffer.from(JSON.stringify(checkpoint));
}

export function decodeCheckpoint(bytes: Buffer | null): Checkpoint | undefined {
  if (!bytes) return undefined;
  try {
    const value = JSON.parse(bytes.toString('utf8')) as Checkpoint;
    return typeof value.job === 'string' && typeof value.rows === 'number' ? value : undefined;
  } catch {
    return undefined;
  }
}

/** The last committed checkpoint of `job` (read_committed, so aborted transactions do not count). */
export async function readCheckpoint(kafka: Kafka, job: string, timeoutMs = 30_000): Promise<Checkpoint | undefined> {
  const topic = TOPICS.scoringCheckpoints.name;
  const admin = kafka.admin();
  await admin.connect();
  let high: bigint;
  try {
    high = BigInt((await admin.fetchTopicOffsets(topic)).find((o) => o.partition === 0)?.high ?? '0');
  } finally {
    await admin.disconnect();
  }
  if (high === 0n) return undefined;
  const consumer = createConsumer(kafka, { groupId: `rheo.batch-checkpoint-reader.${randomUUID()}`, maxWaitTimeInMs: 200 });
  let latest: Checkpoint | undefined;
  try {
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`checkpoint topic not read within ${timeoutMs} ms`)), timeoutMs);
      const finish = () => {
        clearTimeout(timer);
        resolve();
      };
      // Batches of only transaction markers never reach eachBatch; their end-of-batch event still tells the lag.
      consumer.on(consumer.events.END_BATCH_PROCESS, (event) => {
        if (BigInt(event.payload.lastOffset) >= high - 1n) finish();
      });
      consumer
        .run({
          autoCommit: false,
          eachBatch: async ({ batch }) => {
            for (const message of batch.messages) {
              if (message.key?.toString() !== job) continue;
              latest = decodeCheckpoint(message.value) ?? latest;
            }
            if (BigInt(batch.lastOffset()) >= high - 1n) finish();
          },
        })
        .catch(reject);
    });
  } finally {
    await consumer.disconnect();
  }
  return latest;
}
