/**
 * Batch job checkpoints on the compacted `scoring.checkpoints` topic (key: job id). A checkpoint is
 * produced in the same Kafka transaction as the predictions of the rows it counts, so after a crash
 * the last committed checkpoint says exactly which rows' predictions are in Kafka: the job resumes
 * after them, and an aborted transaction's predictions are never seen by read_committed consumers.
 */
import type { Kafka } from '../../kernel/kafka.ts';
import { readTopic } from '../../kernel/topic-reader.ts';
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
  let latest: Checkpoint | undefined;
  await readTopic({
    kafka,
    topic: TOPICS.scoringCheckpoints.name,
    groupPrefix: 'rheo.batch-checkpoint-reader',
    timeoutMs,
    // Other jobs' checkpoints are not decoded; an undecodable one of this job does not replace the last good one.
    decode: (message) => (message.key?.toString() === job ? decodeCheckpoint(message.value) : undefined),
    poison: { kind: 'fail' },
    onChunk: ({ records }) => {
      for (const { value } of records) latest = value ?? latest;
    },
  });
  return latest;
}
