/**
 * The batch scorer: scores the rows of a ClickHouse SELECT, or the PredictionRequests in a topic
 * offset range, with one model version, and writes the predictions to Kafka (`predictions`) and
 * ClickHouse (`rheo.predictions`).
 *
 * Resumable without duplicates: rows are scored in batches; each batch is inserted into ClickHouse
 * (event ids are deterministic — job, row — and the table is a ReplacingMergeTree, so a repeated
 * insert merges away), then produced to Kafka in one transaction together with the job's checkpoint.
 * A crash before the commit leaves an aborted transaction (invisible to read_committed consumers) and
 * the previous checkpoint; the resumed job repeats exactly that batch, with the same ids.
 */
import { createHash } from 'node:crypto';
import type { ClickHouseClient } from '../../kernel/clients.ts';
import { errorMessage, RheoError } from '../../kernel/errors.ts';
import { createProducer, type Kafka, type Producer } from '../../kernel/kafka.ts';
import type { Logger } from '../../kernel/log.ts';
import { readTopic } from '../../kernel/topic-reader.ts';
import { requireModel, resolveVersion } from '../../registry/queries.ts';
import type { RegistryState } from '../../registry/types.ts';
import {
  CONTRACTS,
  type Prediction,
  type PredictionInput,
  type PredictionRequest,
  type SchemaCodec,
  type TopicCodec,
} from '../../schemas/index.ts';
import { tableRef } from '../../tables/catalogue.ts';
import { archivedTable } from '../../tables/history.ts';
import { TOPICS } from '../../topics/catalogue.ts';
import type { ModelHost } from '../host/host.ts';
import { deterministicIds, type FeatureValues, type Instance, scoreMany } from '../scoring.ts';
import { type Checkpoint, encodeCheckpoint, readCheckpoint } from './checkpoint.ts';

export type BatchSource =
  | { kind: 'query'; query: string }
  /** Offsets [from, to) per partition of a PredictionRequest topic; `to` defaults to the end at start. */
  | { kind: 'range'; topic: string; ranges?: Record<string, { from?: string; to?: string }> };

export interface BatchJobOptions {
  model: string;
  /** Version reference; default: the production version when the job first starts. */
  version?: string;
  source: BatchSource;
  /** Job id; default derived from model, version and source, so re-running the same command resumes it. */
  job?: string;
  batchSize?: number;
  onProgress?: (progress: BatchProgress) => void;
}

export interface BatchProgress {
  job: string;
  rows: number;
  scored: number;
  skipped: number;
  /** Total rows when known (range jobs, or a query whose count was asked first). */
  total: number | undefined;
  resumedFrom: number;
  done: boolean;
}

export interface BatchDeps {
  kafka: Kafka;
  clickhouse: ClickHouseClient;
  database: string;
  codec: SchemaCodec;
  host: ModelHost;
  state: RegistryState;
  logger: Logger;
}

export interface BatchResult extends BatchProgress {
  version: string;
  /** First reasons rows were skipped. */
  skippedReasons: string[];
  alreadyComplete: boolean;
}

const predictionsTable = archivedTable('predictions');

/** A stable job id for the same model, version and source. */
export function jobId(model: string, version: string | undefined, source: BatchSource): string {
  const hash = createHash('sha256')
    .update(JSON.stringify([model, version ?? 'production', source]))
    .digest('hex');
  return `${model}-${hash.slice(0, 12)}`;
}

/** Refuses anything but one read-only SELECT with a deterministic ORDER BY (resuming counts rows in order). */
export function checkQuery(query: string): string {
  const q = query.trim().replace(/;\s*$/, '');
  if (!/^(SELECT|WITH)\b/i.test(q)) throw new RheoError('BAD_REQUEST', 'the query must be a SELECT');
  if (q.includes(';')) throw new RheoError('BAD_REQUEST', 'one statement only');
  if (!/\bORDER\s+BY\b/i.test(q))
    throw new RheoError('BAD_REQUEST', 'the query needs an ORDER BY that fixes the row order (a resumed job counts rows)');
  if (/\bFORMAT\s+\w+\s*$/i.test(q)) throw new RheoError('BAD_REQUEST', 'leave FORMAT out; the scorer reads JSONEachRow');
  return q;
}

export async function runBatchScore(deps: BatchDeps, options: BatchJobOptions): Promise<BatchResult> {
  const model = requireModel(deps.state, options.model);
  const batchSize = options.batchSize ?? 1000;
  const job = options.job ?? jobId(options.model, options.version, options.source);
  if (!/^[A-Za-z0-9_.-]{1,200}$/.test(job))
    throw new RheoError('BAD_REQUEST', `job id ${job} has characters outside [A-Za-z0-9_.-]`);
  const predictionsCodec = await deps.codec.forTopic(TOPICS.predictions.name, CONTRACTS.Prediction);
  // Connecting the transactional producer fences any earlier run of this job and aborts its open transaction.
  // A short transaction timeout bounds how long a killed job's open transaction holds back read_committed readers.
  const producer = createProducer(deps.kafka, {
    transactionalId: `rheo-batch-${job}`,
    idempotent: true,
    maxInFlightRequests: 1,
    transactionTimeout: 10_000,
  });
  await producer.connect();
  try {
    const previous = await readCheckpoint(deps.kafka, job);
    const version = previous?.version ?? resolveVersion(model, options.version ?? 'production').version;
    const variant = model.traffic.production_version === version && options.version === undefined ? 'PRODUCTION' : 'PINNED';
    const result: BatchResult = {
      job,
      version,
      rows: previous?.rows ?? 0,
      scored: previous?.scored ?? 0,
      skipped: previous?.skipped ?? 0,
      total: undefined,
      resumedFrom: previous?.rows ?? 0,
      done: false,
      skippedReasons: [],
      alreadyComplete: previous?.status === 'completed',
    };
    if (result.alreadyComplete) {
      result.done = true;
      options.onProgress?.(result);
      return result;
    }
    const session = await deps.host.version(options.model, version);
    const checkpoint: Checkpoint = previous ?? {
      job,
      model: options.model,
      version,
      source:
        options.source.kind === 'query'
          ? { kind: 'query', query: options.source.query }
          : { kind: 'range', topic: options.source.topic, ranges: {} },
      rows: 0,
      scored: 0,
      skipped: 0,
      positions: {},
      status: 'running',
      startedAt: Date.now(),
      updatedAt: Date.now(),
    };
    const eventTime = checkpoint.startedAt ?? Date.now();
    const commit: Commit = async (rows, positions, last, read = rows.length) => {
      for (const row of rows) row.eventTime = eventTime;
      const predictions = await scoreRows(deps, options.model, session.version, variant, rows, result);
      await insertClickHouse(deps, predictions);
      result.rows += read;
      Object.assign(checkpoint, {
        rows: result.rows,
        scored: result.scored,
        skipped: result.skipped,
        positions: { ...checkpoint.positions, ...positions },
        status: last ? 'completed' : 'running',
        updatedAt: Date.now(),
      } satisfies Partial<Checkpoint>);
      await produceTransaction(producer, predictionsCodec, predictions, checkpoint);
      options.onProgress?.({ ...result });
    };

    if (options.source.kind === 'query') await readQuery(deps, checkQuery(options.source.query), result, batchSize, commit, job);
    else await readRange(deps, options.source, checkpoint, options.model, result, batchSize, commit, job);
    result.done = true;
    options.onProgress?.({ ...result });
    return result;
  } finally {
    await producer.disconnect().catch(() => undefined);
  }
}

/** Scores rows, writes them, and commits them with the checkpoint; `read` counts source records consumed (default: the rows). */
type Commit = (rows: Instance[], positions: Record<string, string>, last: boolean, read?: number) => Promise<void>;

async function scoreRows(
  deps: BatchDeps,
  model: string,
  version: string,
  variant: 'PRODUCTION' | 'PINNED',
  rows: Instance[],
  result: BatchResult,
): Promise<PredictionInput[]> {
  if (rows.length === 0) return [];
  const scored = await scoreMany({ host: deps.host }, rows, {
    model,
    version,
    source: 'BATCH',
    receivedAt: performance.now(),
    shadows: 'skip',
  });
  const out: PredictionInput[] = [];
  for (const outcome of scored.outcomes) {
    if (outcome.ok) {
      out.push({ ...outcome.prediction, variant, model_version: version });
      result.scored++;
    } else {
      result.skipped++;
      if (result.skippedReasons.length < 5) result.skippedReasons.push(outcome.error.message);
    }
  }
  return out;
}

async function insertClickHouse(deps: BatchDeps, predictions: PredictionInput[]): Promise<void> {
  if (predictions.length === 0) return;
  try {
    await deps.clickhouse.insert({
      table: tableRef(deps.database, predictionsTable.entry).text,
      values: predictions.map((p) => predictionsTable.toRow(p as unknown as Record<string, unknown>)),
      format: 'JSONEachRow',
    });
  } catch (error) {
    throw new RheoError(
      'SINK_UNAVAILABLE',
      `ClickHouse insert of ${predictions.length} predictions failed: ${errorMessage(error)}`,
      { cause: error },
    );
  }
}

async function produceTransaction(
  producer: Producer,
  codec: TopicCodec<Prediction, PredictionInput>,
  predictions: PredictionInput[],
  checkpoint: Checkpoint,
): Promise<void> {
  const transaction = await producer.transaction();
  try {
    if (predictions.length > 0) {
      await transaction.send({
        topic: codec.topic,
        acks: -1,
        messages: predictions.map((p) => ({ key: p.entity_id, value: codec.encode(p) })),
      });
    }
    await transaction.send({
      topic: TOPICS.scoringCheckpoints.name,
      acks: -1,
      messages: [{ key: checkpoint.job, value: encodeCheckpoint(checkpoint) }],
    });
    await transaction.commit();
  } catch (error) {
    await transaction.abort().catch(() => undefined);
    throw new RheoError('SINK_UNAVAILABLE', `Kafka transaction failed: ${errorMessage(error)}`, { cause: error });
  }
}

/** Query rows: `entity_id` (required), optional `request_time` (epoch ms or date-time), the rest are inputs. */
export function rowToInstance(row: Record<string, unknown>, id: string): Instance {
  const entity = row.entity_id;
  if (typeof entity !== 'string' && typeof entity !== 'number')
    throw new RheoError('BAD_REQUEST', 'every row needs an entity_id column');
  const inputs: FeatureValues = {};
  for (const [key, value] of Object.entries(row)) {
    if (key === 'entity_id' || key === 'request_time') continue;
    // ClickHouse's JSON output quotes 64-bit integers; numbers in strings are numbers here.
    inputs[key] =
      typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value))
        ? Number(value)
        : (value as FeatureValues[string]);
  }
  const requestTime =
    typeof row.request_time === 'number'
      ? row.request_time
      : typeof row.request_time === 'string'
        ? Date.parse(`${row.request_time.replace(' ', 'T')}Z`)
        : undefined;
  return {
    entityId: String(entity),
    inputs,
    ...(requestTime !== undefined && Number.isFinite(requestTime) ? { requestTime } : {}),
    requestId: null,
    ids: deterministicIds(id),
  };
}

async function readQuery(
  deps: BatchDeps,
  query: string,
  result: BatchResult,
  batchSize: number,
  commit: Commit,
  job: string,
): Promise<void> {
  try {
    const count = await deps.clickhouse.query({ query: `SELECT count() AS n FROM (${query})`, format: 'JSONEachRow' });
    const [first] = (await count.json()) as Array<{ n: string | number }>;
    result.total = Number(first?.n ?? 0);
  } catch (error) {
    throw new RheoError('BAD_REQUEST', `ClickHouse refused the query: ${errorMessage(error).slice(0, 500)}`, { cause: error });
  }
  const skip = result.rows;
  const rs = await deps.clickhouse.query({ query, format: 'JSONEachRow' });
  let index = 0;
  let pending: Instance[] = [];
  for await (const chunk of rs.stream()) {
    for (const row of chunk as Array<{ json: <T>() => T }>) {
      const i = index++;
      if (i < skip) continue;
      pending.push(rowToInstance(row.json<Record<string, unknown>>(), `batch:${job}:${i}`));
      if (pending.length >= batchSize) {
        const batch = pending;
        pending = [];
        await commit(batch, {}, false);
      }
    }
  }
  // The last commit marks the job complete (possibly with no rows left).
  await commit(pending, {}, true);
}

async function readRange(
  deps: BatchDeps,
  source: Extract<BatchSource, { kind: 'range' }>,
  checkpoint: Checkpoint,
  model: string,
  result: BatchResult,
  batchSize: number,
  commit: Commit,
  job: string,
): Promise<void> {
  // The job's bounds are fixed at its first start (stored in the checkpoint); a resumed job reuses them.
  const bounds = await rangeBounds(deps.kafka, source, checkpoint);
  if (checkpoint.source.kind === 'range') {
    for (const [p, b] of bounds) checkpoint.source.ranges[String(p)] = { from: String(b.from), to: String(b.to) };
  }
  result.total = [...bounds.values()].reduce((sum, b) => sum + Number(b.to - b.from), 0);
  const ranges = Object.fromEntries(
    [...bounds].map(([p, b]) => [p, { from: BigInt(checkpoint.positions[String(p)] ?? b.from), to: b.to }]),
  );
  const reader = CONTRACTS.PredictionRequest.type;
  const summary = await readTopic<PredictionRequest>({
    kafka: deps.kafka,
    topic: source.topic,
    groupPrefix: `rheo.batch-reader.${job}`,
    ranges,
    maxChunk: batchSize,
    maxWaitTimeInMs: 500,
    decode: async (message) => (await deps.codec.decode<PredictionRequest>(message.value ?? new Uint8Array(), { reader })).value,
    poison: {
      kind: 'skip',
      report: ({ offset, error }) => {
        result.skipped++;
        if (result.skippedReasons.length < 5) result.skippedReasons.push(`offset ${offset}: ${errorMessage(error)}`);
      },
    },
    onChunk: async ({ partition, records, consumed, next, heartbeat }) => {
      const rows: Instance[] = [];
      for (const { value: request } of records) {
        if (request.model_name !== model) {
          result.skipped++;
          continue;
        }
        rows.push({
          entityId: request.entity_id,
          inputs: request.inputs,
          requestTime: request.event_time,
          requestId: request.event_id,
          ids: deterministicIds(`batch:${job}:${request.event_id}`),
        });
      }
      await commit(rows, { [String(partition)]: String(next) }, false, consumed);
      await heartbeat();
    },
  });
  // The last commit marks the job complete, at each partition's end (possibly with no rows left).
  await commit([], Object.fromEntries([...summary.positions].map(([p, offset]) => [String(p), String(offset)])), true, 0);
}

/** Offsets [from, to) per partition: as stored by the job's first start, else as asked, else the whole topic now. */
async function rangeBounds(
  kafka: Kafka,
  source: Extract<BatchSource, { kind: 'range' }>,
  checkpoint: Checkpoint,
): Promise<Map<number, { from: bigint; to: bigint }>> {
  const admin = kafka.admin();
  await admin.connect();
  const bounds = new Map<number, { from: bigint; to: bigint }>();
  try {
    const offsets = await admin.fetchTopicOffsets(source.topic);
    for (const o of offsets) {
      const asked = source.ranges?.[String(o.partition)];
      if (source.ranges && !asked) continue;
      const stored = checkpoint.source.kind === 'range' ? checkpoint.source.ranges[String(o.partition)] : undefined;
      const from = BigInt(stored?.from ?? asked?.from ?? o.low);
      const to = BigInt(stored?.to ?? asked?.to ?? o.high);
      bounds.set(o.partition, { from, to });
    }
  } finally {
    await admin.disconnect();
  }
  return bounds;
}
