/**
 * Monitoring reads over HTTP (the gateway's `monitoring` area), one Fastify plugin:
 *
 *   GET /v1/models/:name/drift?from&to[&feature][&version]     drift reports per window, and retraining requests
 *   GET /v1/models/:name/quality?from&to[&window_s]            live quality per window and over the whole range
 *
 * `from` and `to` are epoch milliseconds or ISO 8601 date-times (default: the last 24 hours); drift is
 * selected by window start, quality by prediction event time. Figures come from ClickHouse (the
 * archiver's `drift_reports` and `retrain_requests`, the joiner's `prediction_outcomes`) through a narrow
 * store interface, so tests can pass their own. Every route has a JSON schema; the fields of response
 * rows that mirror table or view columns take their types from the tables catalogue. Bad input answers
 * 400, an unknown model 404 — bodies from the error catalogue.
 */
import type { FastifyPluginAsync } from 'fastify';
import type { ClickHouseClient } from '../kernel/clients.ts';
import { RheoError } from '../kernel/errors.ts';
import {
  type DriftQuery,
  type DriftWindowRow,
  type RetrainRow,
  readDriftReports,
  readRetrainRequests,
} from '../monitoring/drift.ts';
import { type QualityQuery, type QualityRow, readQuality } from '../monitoring/quality.ts';
import { TABLES, VIEWS } from '../tables/catalogue.ts';
import { responseObject } from '../tables/json-schema.ts';
import { ERROR_RESPONSE_SCHEMA, sendError, toRheoError } from './errors.ts';

export interface MonitoringStore {
  drift(q: Omit<DriftQuery, 'database'>): Promise<DriftWindowRow[]>;
  retrainRequests(q: { model: string; from: number; to: number }): Promise<RetrainRow[]>;
  quality(q: Omit<QualityQuery, 'database'>): Promise<QualityRow[]>;
}

export function clickHouseMonitoringStore(client: Pick<ClickHouseClient, 'query'>, database: string): MonitoringStore {
  return {
    drift: (q) => readDriftReports(client, { ...q, database }),
    retrainRequests: (q) => readRetrainRequests(client, { ...q, database }),
    quality: (q) => readQuality(client, { ...q, database }),
  };
}

export interface MonitoringRoutesOptions {
  store: MonitoringStore;
  /** Whether a model exists (404 otherwise); default: the gateway's registry when present, else every name. */
  knowsModel?: (name: string) => boolean;
  now?: () => number;
}

const DAY = 86_400_000;
const MAX_RANGE = 92 * DAY;
const TIME = '^(\\d{1,15}|\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}(:\\d{2}(\\.\\d{1,9})?)?(Z|[+-]\\d{2}:\\d{2}))$';
const NAME = '^[A-Za-z][A-Za-z0-9_.-]{0,127}$';

const nullableNumber = { type: ['number', 'null'] } as const;
const errorSchema = ERROR_RESPONSE_SCHEMA;
const params = { type: 'object', required: ['name'], properties: { name: { type: 'string', pattern: NAME } } } as const;
const range = {
  from: { type: 'string', pattern: TIME, description: 'epoch ms or ISO 8601; default to − 24 h' },
  to: { type: 'string', pattern: TIME, description: 'epoch ms or ISO 8601 (exclusive); default now' },
} as const;

const epochMs = { computed: { type: 'integer' } } as const;

/**
 * The response objects that return catalogue rows, field by field: each mirrors a column (its JSON
 * schema follows from the tables catalogue) or is computed. A unit test checks the registered route
 * schemas against these.
 */
export const MONITORING_RESPONSE_OBJECTS = {
  /** A drift window: a row of the `drift_windows` view, times as epoch ms. */
  driftWindow: responseObject(VIEWS.drift_windows, {
    window_start: epochMs,
    window_end: epochMs,
    version: 'model_version',
    feature: 'feature',
    target: 'target',
    status: 'status',
    psi: 'psi',
    kl: 'kl',
    count: 'count',
    null_rate: 'null_rate',
    out_of_range_rate: 'out_of_range_rate',
    dlq_count: 'dlq_count',
    late_count: 'late_count',
    report_id: 'event_id',
  }),
  /** A retraining request: a row of `retrain_requests`, with the evidence's summary. */
  retrainRequest: responseObject(TABLES.retrain_requests, {
    event_id: 'event_id',
    event_time: 'event_time_ms',
    reason: 'reason',
    requested_by: 'requested_by',
    base_version: 'base_version',
    summary: { computed: { type: 'string' } },
  }),
  /** Quality of one version and variant over a window: a row of the `model_quality_hourly` query. */
  qualityWindow: responseObject(VIEWS.model_quality_hourly, {
    window_start: 'window_start_ms',
    window_end: 'window_end_ms',
    version: 'model_version',
    variant: 'variant',
    predictions: 'predictions',
    labeled: 'labeled',
    unlabeled: 'unlabeled',
    positives: 'positives',
    task: 'task',
    accuracy: 'accuracy',
    auc: 'auc',
    log_loss: 'log_loss',
    mae: 'mae',
    rmse: 'rmse',
    mean_score: 'mean_score',
    mean_label: 'mean_label',
  }),
} as const;

const driftWindow = {
  type: 'object',
  required: ['window_start', 'window_end', 'version', 'feature', 'target', 'status', 'psi', 'kl', 'count'],
  properties: MONITORING_RESPONSE_OBJECTS.driftWindow.properties,
} as const;

const qualityWindow = {
  type: 'object',
  required: ['version', 'variant', 'predictions', 'labeled', 'unlabeled'],
  properties: MONITORING_RESPONSE_OBJECTS.qualityWindow.properties,
} as const;

function parseTime(value: string, what: string): number {
  const ms = /^\d+$/.test(value) ? Number(value) : Date.parse(value);
  if (!Number.isFinite(ms)) throw new RheoError('BAD_REQUEST', `${what} is not a time: ${value}`);
  return ms;
}

function timeRange(query: { from?: string; to?: string }, now: number): { from: number; to: number } {
  const to = query.to === undefined ? now : parseTime(query.to, 'to');
  const from = query.from === undefined ? to - DAY : parseTime(query.from, 'from');
  if (from >= to)
    throw new RheoError(
      'BAD_REQUEST',
      `from (${new Date(from).toISOString()}) must be before to (${new Date(to).toISOString()})`,
    );
  if (to - from > MAX_RANGE) throw new RheoError('BAD_REQUEST', `the range is over ${MAX_RANGE / DAY} days; narrow from/to`);
  return { from, to };
}

function qualityView(row: QualityRow, withWindow: boolean) {
  return {
    ...(withWindow ? { window_start: row.window_start_ms, window_end: row.window_end_ms } : {}),
    version: row.model_version,
    variant: row.variant,
    predictions: row.predictions,
    labeled: row.labeled,
    unlabeled: row.unlabeled,
    positives: row.positives,
    task: row.task,
    accuracy: row.accuracy,
    auc: row.auc,
    log_loss: row.log_loss,
    mae: row.mae,
    rmse: row.rmse,
    mean_score: row.mean_score,
    mean_label: row.mean_label,
  };
}

export const monitoringRoutes: FastifyPluginAsync<MonitoringRoutesOptions> = async (app, options) => {
  const { store } = options;
  const now = options.now ?? Date.now;
  const knowsModel =
    options.knowsModel ?? (app.hasDecorator('rheo') ? (name: string) => app.rheo.follower.state.models.has(name) : () => true);
  const requireModel = (name: string) => {
    if (!knowsModel(name)) throw new RheoError('MODEL_NOT_FOUND', `no model named ${name} in the registry`);
  };
  // The gateway's error shape (`{ error: { code, message, retriable } }`) also when registered on its own.
  app.setErrorHandler((error, request, reply) => {
    const rheo = toRheoError(error);
    if (rheo.status >= 500) request.log.error({ err: error, url: request.url }, 'monitoring read failed');
    return sendError(request, reply, rheo);
  });
  const read = { access: 'predict' as const };
  const tags = ['monitoring'];

  app.get<{ Params: { name: string }; Querystring: { from?: string; to?: string; feature?: string; version?: string } }>(
    '/v1/models/:name/drift',
    {
      config: read,
      schema: {
        tags,
        summary: 'Drift reports of a model per window (PSI, KL, status, data quality) and its retraining requests',
        params,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            ...range,
            feature: { type: 'string', minLength: 1, maxLength: 256 },
            version: { type: 'string', minLength: 1, maxLength: 64 },
          },
        },
        response: {
          200: {
            type: 'object',
            required: ['model', 'from', 'to', 'windows', 'summary', 'retrain_requests'],
            properties: {
              model: { type: 'string' },
              from: { type: 'integer' },
              to: { type: 'integer' },
              windows: { type: 'array', items: driftWindow },
              summary: {
                type: 'object',
                properties: {
                  windows: { type: 'integer' },
                  alerts: { type: 'integer' },
                  warnings: { type: 'integer' },
                  insufficient: { type: 'integer' },
                  max_psi: nullableNumber,
                  max_psi_feature: { type: ['string', 'null'] },
                },
              },
              retrain_requests: {
                type: 'array',
                items: { type: 'object', properties: MONITORING_RESPONSE_OBJECTS.retrainRequest.properties },
              },
            },
          },
          '4xx': errorSchema,
          '5xx': errorSchema,
        },
      },
    },
    async (request) => {
      const model = request.params.name;
      requireModel(model);
      const { from, to } = timeRange(request.query, now());
      const [rows, requests] = await Promise.all([
        store.drift({
          model,
          from,
          to,
          ...(request.query.feature ? { feature: request.query.feature } : {}),
          ...(request.query.version ? { version: request.query.version } : {}),
        }),
        store.retrainRequests({ model, from, to }),
      ]);
      let top: DriftWindowRow | undefined;
      for (const r of rows) if (r.psi !== null && (top === undefined || r.psi > (top.psi ?? 0))) top = r;
      return {
        model,
        from,
        to,
        windows: rows.map((r) => ({
          window_start: r.window_start,
          window_end: r.window_end,
          version: r.model_version,
          feature: r.feature,
          target: r.target,
          status: r.status,
          psi: r.psi,
          kl: r.kl,
          count: r.count,
          null_rate: r.null_rate,
          out_of_range_rate: r.out_of_range_rate,
          dlq_count: r.dlq_count,
          late_count: r.late_count,
          report_id: r.event_id,
        })),
        summary: {
          windows: new Set(rows.map((r) => `${r.window_start}|${r.model_version}`)).size,
          alerts: rows.filter((r) => r.status === 'ALERT').length,
          warnings: rows.filter((r) => r.status === 'WARN').length,
          insufficient: rows.filter((r) => r.status === 'INSUFFICIENT').length,
          max_psi: top?.psi ?? null,
          max_psi_feature: top?.feature ?? null,
        },
        retrain_requests: requests,
      };
    },
  );

  app.get<{ Params: { name: string }; Querystring: { from?: string; to?: string; window_s?: string } }>(
    '/v1/models/:name/quality',
    {
      config: read,
      schema: {
        tags,
        summary: 'Live quality of a model per version and variant: per window and over the whole range',
        params,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            ...range,
            window_s: { type: 'string', pattern: '^[1-9]\\d{0,7}$', description: 'window size in seconds; default 3600' },
          },
        },
        response: {
          200: {
            type: 'object',
            required: ['model', 'from', 'to', 'window_ms', 'overall', 'windows'],
            properties: {
              model: { type: 'string' },
              from: { type: 'integer' },
              to: { type: 'integer' },
              window_ms: { type: 'integer' },
              overall: { type: 'array', items: qualityWindow },
              windows: { type: 'array', items: qualityWindow },
            },
          },
          '4xx': errorSchema,
          '5xx': errorSchema,
        },
      },
    },
    async (request) => {
      const model = request.params.name;
      requireModel(model);
      const { from, to } = timeRange(request.query, now());
      const windowMs = Number(request.query.window_s ?? 3600) * 1000;
      if ((to - from) / windowMs > 10_000) throw new RheoError('BAD_REQUEST', 'more than 10000 windows; use a larger window_s');
      const [windows, overall] = await Promise.all([
        store.quality({ model, from, to, windowMs }),
        store.quality({ model, from, to, windowMs: to - from, origin: from }),
      ]);
      return {
        model,
        from,
        to,
        window_ms: windowMs,
        overall: overall.map((r) => qualityView(r, false)),
        windows: windows.map((r) => qualityView(r, true)),
      };
    },
  );
};

Object.assign(monitoringRoutes, { [Symbol.for('fastify.display-name')]: 'rheo-monitoring' });
