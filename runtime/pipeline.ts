/**
 * One chunk of records through a partition processor, with no Kafka: decode → enrich → transform,
 * and sort out what failed under the decode and process policies. Shared by the runner and the test
 * driver, so both behave the same.
 */
import { ERROR_CATALOGUE, type ErrorCode, errorMessage } from '../kernel/errors.ts';
import type { TopicEntry } from '../topics/catalogue.ts';
import type {
  DeadLetter,
  FailurePolicy,
  PartitionProcessor,
  ProcessorSpec,
  RawRecord,
  Rejection,
  SourceRecord,
} from './types.ts';

export interface ChunkOutcome<W, U> {
  writes: W[];
  update: U | undefined;
  deadLetters: DeadLetter[];
  /** Records dropped under the `continue` policy (counted, logged). */
  skipped: DeadLetter[];
  /** Set under the `fail` policy: the first failure, which must stop the processor before any commit. */
  fatal?: DeadLetter;
  decoded: number;
}

export async function runChunk<V, W, E, S, U>(
  spec: ProcessorSpec<V, W, E, S, U>,
  processor: PartitionProcessor<V, W, E, S, U>,
  raws: readonly RawRecord[],
  state: S,
  signal: AbortSignal,
): Promise<ChunkOutcome<W, U>> {
  const rawByPosition = new Map<string, RawRecord>();
  const decodeFailures: DeadLetter[] = [];
  const records: SourceRecord<V>[] = [];
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
      decodeFailures.push(deadLetter(spec, raw, 'decode', codeOf(error, 'SCHEMA_DECODE_FAILED'), errorMessage(error)));
    }
  }
  const refused: Rejection[] = [];
  let enriched: ReadonlyArray<SourceRecord<E>>;
  if (!processor.enrich) enriched = records as unknown as ReadonlyArray<SourceRecord<E>>;
  else if (records.length === 0) enriched = [];
  else {
    const result = await processor.enrich(records, signal);
    enriched = result.records;
    refused.push(...result.rejected);
  }
  const result = enriched.length > 0 ? processor.transform(enriched, state) : { writes: [], rejected: [] };
  refused.push(...result.rejected);
  const processFailures = refused.map((rejection) => {
    const raw = rawByPosition.get(position(rejection.record));
    if (!raw) throw new Error(`${spec.name} refused a record it was not given: ${position(rejection.record)}`);
    return deadLetter(spec, raw, 'process', rejection.code, rejection.reason);
  });
  const outcome: ChunkOutcome<W, U> = {
    writes: result.writes,
    update: result.update,
    deadLetters: [],
    skipped: [],
    decoded: records.length,
  };
  sortOut(outcome, decodeFailures, spec.policies?.decode ?? 'dead-letter');
  sortOut(outcome, processFailures, spec.policies?.process ?? 'dead-letter');
  return outcome;
}

function sortOut<W, U>(outcome: ChunkOutcome<W, U>, failures: DeadLetter[], policy: FailurePolicy): void {
  if (failures.length === 0) return;
  if (policy === 'dead-letter') outcome.deadLetters.push(...failures);
  else if (policy === 'continue') outcome.skipped.push(...failures);
  else outcome.fatal ??= failures[0] as DeadLetter;
}

function deadLetter<V, W, E, S, U>(
  spec: ProcessorSpec<V, W, E, S, U>,
  raw: RawRecord,
  stage: DeadLetter['stage'],
  code: ErrorCode,
  reason: string,
): DeadLetter {
  const entry = spec.inputs.find((input: TopicEntry) => input.name === raw.topic);
  return { source: raw, dlqTopic: entry?.dlq ?? `${raw.topic}.dlq`, code, reason, processor: spec.name, stage };
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
    'rheo.error.stage': letter.stage,
    'rheo.source.topic': letter.source.topic,
    'rheo.source.partition': String(letter.source.partition),
    'rheo.source.offset': letter.source.offset,
    'rheo.source.timestamp': String(letter.source.timestamp),
    'rheo.processor': letter.processor,
  };
}
