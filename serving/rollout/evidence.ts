/**
 * The rollout controller's live evidence, from ClickHouse: per version and variant over a window of
 * prediction event time, the predictions (distinct events), their p99 latency, and the live quality
 * of those with a joined label (the one quality query, `monitoring/quality.ts`, with the window set to
 * exactly [from, to)). Values go through `kernel/sql.ts`; the SQL runs on ClickHouse 18.16 and current.
 */
import type { ClickHouseClient } from '../../kernel/clients.ts';
import { sql } from '../../kernel/sql.ts';
import { readQuality } from '../../monitoring/quality.ts';
import { TABLES, tableRef } from '../../tables/catalogue.ts';
import { type EvidenceRequest, LIVE_METRICS, type RolloutEvidence, type VariantFigures } from './policy.ts';

type Client = Pick<ClickHouseClient, 'query'>;

interface Figures {
  predictions: number;
  labeled: number;
  metric: number | null;
  latencyP99Ms: number | null;
}

/** Figures per `version\u0000variant` over [from, to). */
async function windowFigures(
  client: Client,
  database: string,
  model: string,
  metric: string,
  from: number,
  to: number,
): Promise<Map<string, Figures>> {
  const out = new Map<string, Figures>();
  if (to <= from) return out;
  const predictions = tableRef(database, TABLES.predictions);
  const latency = await client.query({
    query: sql`SELECT model_version, variant, uniqExact(event_id) AS n, quantile(0.99)(latency_ms) AS p99
FROM ${predictions}
WHERE model_name = ${model} AND event_time_ms >= ${from} AND event_time_ms < ${to}
GROUP BY model_version, variant`.text,
    format: 'JSONEachRow',
  });
  for (const row of (await latency.json()) as Array<Record<string, unknown>>) {
    out.set(`${row.model_version}\u0000${row.variant}`, {
      predictions: Number(row.n),
      labeled: 0,
      metric: null,
      latencyP99Ms: row.p99 === null ? null : Number(row.p99),
    });
  }
  const column = LIVE_METRICS[metric]?.column;
  const quality = await readQuality(client, { database, model, windowMs: to - from, origin: from, from, to });
  for (const row of quality) {
    const key = `${row.model_version}\u0000${row.variant}`;
    const figures = out.get(key) ?? { predictions: row.predictions, labeled: 0, metric: null, latencyP99Ms: null };
    figures.labeled = row.labeled;
    const value = column ? row[column] : null;
    figures.metric = value === null || value === undefined ? null : Number(value);
    out.set(key, figures);
  }
  return out;
}

function pick(figures: Map<string, Figures>, version: string, variant: string): VariantFigures {
  const f = figures.get(`${version}\u0000${variant}`);
  // Scoring failures are not in the prediction log; the error guardrail has no live figure here.
  return {
    version,
    predictions: f?.predictions ?? 0,
    labeled: f?.labeled ?? 0,
    metric: f?.metric ?? null,
    latencyP99Ms: f?.latencyP99Ms ?? null,
    errorRate: null,
  };
}

/** The evidence a phase asks for, up to `now`. */
export async function readEvidence(
  client: Client,
  database: string,
  model: string,
  metric: string,
  request: EvidenceRequest,
  now: number,
): Promise<RolloutEvidence> {
  const step = await windowFigures(client, database, model, metric, request.stepFrom, now);
  const compare =
    request.compareFrom === request.stepFrom
      ? step
      : await windowFigures(client, database, model, metric, request.compareFrom, now);
  return {
    step: { from: request.stepFrom, to: now, candidate: pick(step, request.candidate, request.candidateVariant) },
    compare: {
      from: request.compareFrom,
      to: now,
      candidate: pick(compare, request.candidate, request.candidateVariant),
      production: pick(compare, request.production, 'PRODUCTION'),
    },
  };
}
