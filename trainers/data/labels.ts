/**
 * Where labels come from: labeled predictions (a `feedback` row naming the prediction id, joined to
 * that prediction in ClickHouse) or label events (a `feedback` row naming an entity and the
 * reference time of what it labels). Either way each example has an entity, a reference time — the
 * as-of time for its features — and a label known before the training cutoff.
 *
 * Duplicates are settled in SQL: a prediction scored by several variants counts once (shadows are
 * left out; they share the primary's prediction id), and a label sent twice counts once (the latest
 * observed wins).
 */
import type { ClickHouseClient } from '../../kernel/clients.ts';
import { errorMessage, RheoError } from '../../kernel/errors.ts';
import { sql } from '../../kernel/sql.ts';
import { TABLES, tableRef } from '../../tables/catalogue.ts';

export type FeatureScalar = number | string | boolean | null;

export interface LabeledExample {
  /** Prediction id, or `<entity>@<reference time>` for a label event. */
  id: string;
  entityId: string;
  /** Reference time, epoch ms: features are taken as of this instant. */
  time: number;
  label: number;
  /** When the label became known. */
  observedTime: number;
  /** The request-time inputs the prediction logged (empty for label events). */
  inputs: Readonly<Record<string, FeatureScalar>>;
}

export interface LabelQuery {
  model: string;
  kind: 'predictions' | 'label-events';
  /** Reference times in [start, end); labels observed before `end`. */
  start: number;
  end: number;
  /** The newest rows kept at most. */
  maxRows: number;
}

export interface LabelSource {
  /** The examples in time order (oldest first) and the query text that read them (for lineage). */
  fetch(query: LabelQuery): Promise<{ examples: LabeledExample[]; query: string }>;
}

/** The SQL that reads labeled examples from the archiver's ClickHouse tables (ClickHouse 18.16 syntax). */
export function labelSql(database: string, q: LabelQuery): string {
  const predictions = tableRef(database, TABLES.predictions);
  const feedback = tableRef(database, TABLES.feedback);
  if (q.kind === 'predictions') {
    return sql`SELECT p.prediction_id AS id, p.entity_id AS entity_id, p.t AS t, p.inputs AS inputs, f.label AS label, f.observed_ms AS observed_ms
FROM (
  SELECT prediction_id, any(entity_id) AS entity_id, any(request_time_ms) AS t, any(inputs) AS inputs
  FROM ${predictions} FINAL
  WHERE model_name = ${q.model} AND variant != 'SHADOW' AND request_time_ms >= ${q.start} AND request_time_ms < ${q.end}
  GROUP BY prediction_id
) AS p
ALL INNER JOIN (
  SELECT assumeNotNull(prediction_id) AS prediction_id, argMax(label, observed_time_ms) AS label, max(observed_time_ms) AS observed_ms
  FROM ${feedback} FINAL
  WHERE prediction_id IS NOT NULL AND observed_time_ms < ${q.end}
  GROUP BY prediction_id
) AS f USING prediction_id
ORDER BY t DESC, id DESC
LIMIT ${q.maxRows}`.text;
  }
  return sql`SELECT concat(assumeNotNull(entity_id), '@', toString(assumeNotNull(reference_time_ms))) AS id,
  assumeNotNull(entity_id) AS entity_id, assumeNotNull(reference_time_ms) AS t, '{}' AS inputs,
  argMax(label, observed_time_ms) AS label, max(observed_time_ms) AS observed_ms
FROM ${feedback} FINAL
WHERE prediction_id IS NULL AND entity_id IS NOT NULL AND reference_time_ms IS NOT NULL
  AND (model_name IS NULL OR model_name = ${q.model})
  AND reference_time_ms >= ${q.start} AND reference_time_ms < ${q.end} AND observed_time_ms < ${q.end}
GROUP BY entity_id, reference_time_ms
ORDER BY t DESC, id DESC
LIMIT ${q.maxRows}`.text;
}

interface LabelRow {
  id: string;
  entity_id: string;
  t: string | number;
  inputs: string;
  label: number | string;
  observed_ms: string | number;
}

export class ClickHouseLabelSource implements LabelSource {
  readonly #client: ClickHouseClient;
  readonly #database: string;

  constructor(client: ClickHouseClient, database: string) {
    this.#client = client;
    this.#database = database;
  }

  async fetch(q: LabelQuery): Promise<{ examples: LabeledExample[]; query: string }> {
    const query = labelSql(this.#database, q);
    let rows: LabelRow[];
    try {
      const result = await this.#client.query({ query, format: 'JSONEachRow' });
      rows = (await result.json()) as LabelRow[];
    } catch (error) {
      throw new RheoError('SINK_UNAVAILABLE', `ClickHouse failed reading labeled examples: ${errorMessage(error)}`, {
        cause: error,
      });
    }
    const examples = rows.reverse().map((row) => ({
      id: row.id,
      entityId: row.entity_id,
      time: Number(row.t),
      label: Number(row.label),
      observedTime: Number(row.observed_ms),
      inputs: parseInputs(row.inputs),
    }));
    return { examples, query };
  }
}

function parseInputs(text: string): Record<string, FeatureScalar> {
  try {
    const value = JSON.parse(text) as unknown;
    return value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, FeatureScalar>) : {};
  } catch {
    return {};
  }
}

/** Examples held in memory (unit tests, benchmarks), filtered like the SQL. */
export class MemoryLabelSource implements LabelSource {
  readonly examples: LabeledExample[];
  constructor(examples: LabeledExample[]) {
    this.examples = examples;
  }
  async fetch(q: LabelQuery): Promise<{ examples: LabeledExample[]; query: string }> {
    const kept = this.examples
      .filter((e) => e.time >= q.start && e.time < q.end && e.observedTime < q.end)
      .sort((a, b) => a.time - b.time || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    return {
      examples: kept.slice(Math.max(0, kept.length - q.maxRows)),
      query: `memory: ${q.kind} of ${q.model} in [${q.start}, ${q.end})`,
    };
  }
}
