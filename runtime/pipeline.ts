/**
 * One chunk of records through a processor, with no Kafka: decode, transform, and sort out what
 * failed. Shared by the runner and the test driver, so both behave the same.
 */
import { ERROR_CATALOGUE, type ErrorCode, errorMessage } from '../kernel/errors.ts';
import type { TopicEntry } from '../topics/catalogue.ts';
import type { DeadLetter, FailurePolicy, ProcessorSpec, RawRecord, SourceRecord } from './types.ts';

export interface ChunkOutcome<W> {
  writes: W[];
  deadLetters: DeadLetter[];
  /** Records dropped under the `continue` policy (counted, logged). */
  skipped: DeadLetter[];
  /** Set under the `fail` policy: the first failure, which must stop the processor before any commit. */
  fatal?: DeadLetter;
  decoded: number;
}

export async function runChunk<V, W>(spec: ProcessorSpec<V, W>, raws: readonly RawRecord[]): Promise<ChunkOutcome<W>> {
  const policy: FailurePolicy = spec.failurePolicy ?? 'dead-letter';
  const failures: DeadLetter[] = [];
  const records: SourceRecord<V>[] = [];
  const rawByPosition = new Map<string, RawRecord>();
  for (const raw of raws) {
    rawByPosition.set(position(raw), raw);
    try {
      const value = await spec.decode(raw);
      records.push({
        topic: raw.topic,
        partition: raw.partition,
        offset: raw.offset,
        key: raw.key === null ? null : raw.key.toString('utf8'),
        value,
        timestamp: raw.timestamp,
        headers: raw.headers,
      });
    } catch (error) {
      failures.push(deadLetter(spec, raw, codeOf(error, 'SCHEMA_DECODE_FAILED'), errorMessage(error)));
    }
  }
  const result = records.length > 0 ? await spec.transform(records) : { writes: [], rejected: [] };
  for (const rejection of result.rejected) {
    const raw = rawByPosition.get(position(rejection.record));
    if (!raw) throw new Error(`transform of ${spec.name} rejected a record it was not given: ${position(rejection.record)}`);
    failures.push(deadLetter(spec, raw, rejection.code, rejection.reason));
  }
  const outcome: ChunkOutcome<W> = { writes: result.writes, deadLetters: [], skipped: [], decoded: records.length };
  if (failures.length === 0) return outcome;
  if (policy === 'dead-letter') outcome.deadLetters = failures;
  else if (policy === 'continue') outcome.skipped = failures;
  else outcome.fatal = failures[0] as DeadLetter;
  return outcome;
}

function deadLetter<V, W>(spec: ProcessorSpec<V, W>, raw: RawRecord, code: ErrorCode, reason: string): DeadLetter {
  const entry = spec.inputs.find((input: TopicEntry) => input.name === raw.topic);
  return { source: raw, dlqTopic: entry?.dlq ?? `${raw.topic}.dlq`, code, reason, processor: spec.name };
}

// Errors from schemas/ and processors carry a catalogue code; anything else gets the stage's default.
function codeOf(error: unknown, fallback: ErrorCode): ErrorCode {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && Object.hasOwn(ERROR_CATALOGUE, code) ? (code as ErrorCode) : fallback;
}

function position(record: Pick<RawRecord, 'topic' | 'partition' | 'offset'>): string {
  return `${record.topic}/${record.partition}@${record.offset}`;
}

/** Headers of a dead letter: why it failed and where it came from, so it can be inspected and replayed. */
export function deadLetterHeaders(letter: DeadLetter): Record<string, string> {
  return {
    ...letter.source.headers,
    'rheo.error.code': letter.code,
    'rheo.error.reason': letter.reason.slice(0, 2000),
    'rheo.source.topic': letter.source.topic,
    'rheo.source.partition': String(letter.source.partition),
    'rheo.source.offset': letter.source.offset,
    'rheo.source.timestamp': String(letter.source.timestamp),
    'rheo.processor': letter.processor,
  };
}
