import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type MonitoringStore, monitoringRoutes } from '../../../gateway/monitoring.ts';
import type { DriftWindowRow } from '../../../monitoring/drift.ts';
import type { QualityRow } from '../../../monitoring/quality.ts';

const NOW = Date.UTC(2026, 0, 2);
const HOUR = 3_600_000;
const calls: Array<{ kind: string; q: Record<string, unknown> }> = [];

const driftRow = (feature: string, psi: number | null, status: string): DriftWindowRow => ({
  model_version: '1.0.0',
  feature,
  target: 'FEATURE',
  window_start: NOW - 2 * HOUR,
  window_end: NOW - HOUR,
  status,
  psi,
  kl: psi === null ? null : psi / 2,
  count: 500,
  null_rate: 0,
  out_of_range_rate: 0.01,
  dlq_count: 0,
  late_count: 2,
  warn_threshold: 0.1,
  alert_threshold: 0.25,
  event_id: `r-${feature}`,
});

const qualityRow = (windowStart: number, windowEnd: number): QualityRow => ({
  model_name: 'fraud',
  model_version: '1.0.0',
  variant: 'PRODUCTION',
  window_start_ms: windowStart,
  window_end_ms: windowEnd,
  predictions: 100,
  labeled: 80,
  unlabeled: 20,
  positives: 8,
  task: 'classification',
  accuracy: 0.9,
  auc: 0.81,
  log_loss: 0.3,
  mae: null,
  rmse: null,
  mean_score: 0.1,
  mean_label: 0.1,
});

const store: MonitoringStore = {
  async drift(q) {
    calls.push({ kind: 'drift', q });
    return [driftRow('amount', 0.31, 'ALERT'), driftRow('hour', 0.02, 'OK'), driftRow('distance', null, 'INSUFFICIENT')];
  },
  async retrainRequests(q) {
    calls.push({ kind: 'retrain', q });
    return [
      {
        event_id: 'rr1',
        event_time: NOW - HOUR,
        reason: 'DRIFT',
        requested_by: 'service:drift',
        base_version: '1.0.0',
        summary: 'PSI of amount at 0.310',
      },
    ];
  },
  async quality(q) {
    calls.push({ kind: 'quality', q });
    return q.origin === undefined ? [qualityRow(q.from ?? 0, (q.from ?? 0) + q.windowMs)] : [qualityRow(q.from ?? 0, q.to ?? 0)];
  },
};

let app: FastifyInstance;
beforeAll(async () => {
  // The gateway's validation settings (gateway/server.ts): unknown parameters are refused, never dropped.
  app = Fastify({
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, useDefaults: true, allowUnionTypes: true } },
  });
  await app.register(monitoringRoutes, { store, knowsModel: (name) => name === 'fraud', now: () => NOW });
  await app.ready();
});
afterAll(async () => {
  await app.close();
});

describe('GET /v1/models/:name/drift', () => {
  it('answers the windows of the last 24 h by default, with a summary and the retraining requests', async () => {
    calls.length = 0;
    const response = await app.inject({ method: 'GET', url: '/v1/models/fraud/drift' });
    expect(response.statusCode).toBe(200);
    const body = response.json();
    expect(calls.find((c) => c.kind === 'drift')?.q).toEqual({ model: 'fraud', from: NOW - 24 * HOUR, to: NOW });
    expect(body).toMatchObject({
      model: 'fraud',
      from: NOW - 24 * HOUR,
      to: NOW,
      summary: { windows: 1, alerts: 1, warnings: 0, insufficient: 1, max_psi: 0.31, max_psi_feature: 'amount' },
      retrain_requests: [{ event_id: 'rr1', reason: 'DRIFT', base_version: '1.0.0' }],
    });
    expect(body.windows[0]).toEqual({
      window_start: NOW - 2 * HOUR,
      window_end: NOW - HOUR,
      version: '1.0.0',
      feature: 'amount',
      target: 'FEATURE',
      status: 'ALERT',
      psi: 0.31,
      kl: 0.155,
      count: 500,
      null_rate: 0,
      out_of_range_rate: 0.01,
      dlq_count: 0,
      late_count: 2,
      report_id: 'r-amount',
    });
    expect(body.windows[2].psi).toBeNull();
  });

  it('takes from/to as epoch ms or ISO 8601, and feature/version filters', async () => {
    calls.length = 0;
    const response = await app.inject({
      method: 'GET',
      url: `/v1/models/fraud/drift?from=2026-01-01T00:00:00Z&to=${NOW}&feature=amount&version=1.0.0`,
    });
    expect(response.statusCode).toBe(200);
    expect(calls[0]?.q).toEqual({ model: 'fraud', from: Date.UTC(2026, 0, 1), to: NOW, feature: 'amount', version: '1.0.0' });
  });

  it('answers 400 for bad times, ranges and parameters, 404 for an unknown model', async () => {
    for (const url of [
      '/v1/models/fraud/drift?from=yesterday',
      `/v1/models/fraud/drift?from=${NOW}&to=${NOW - 1}`,
      `/v1/models/fraud/drift?from=0&to=${NOW}`,
      '/v1/models/fraud/drift?colour=red',
      "/v1/models/fr'aud/drift",
    ]) {
      const response = await app.inject({ method: 'GET', url });
      expect(response.statusCode, url).toBe(400);
      expect(response.json().error.code, url).toBe('BAD_REQUEST');
    }
    const unknown = await app.inject({ method: 'GET', url: '/v1/models/nobody/drift' });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json()).toEqual({
      error: { code: 'MODEL_NOT_FOUND', message: 'no model named nobody in the registry', retriable: false },
    });
  });
});

describe('GET /v1/models/:name/quality', () => {
  it('answers per window and over the whole range, per version and variant', async () => {
    calls.length = 0;
    const from = NOW - 6 * HOUR;
    const response = await app.inject({ method: 'GET', url: `/v1/models/fraud/quality?from=${from}&to=${NOW}&window_s=1800` });
    expect(response.statusCode).toBe(200);
    expect(calls.map((c) => c.q)).toEqual([
      { model: 'fraud', from, to: NOW, windowMs: 1_800_000 },
      { model: 'fraud', from, to: NOW, windowMs: 6 * HOUR, origin: from },
    ]);
    const body = response.json();
    expect(body).toMatchObject({ model: 'fraud', window_ms: 1_800_000 });
    expect(body.overall).toEqual([
      {
        version: '1.0.0',
        variant: 'PRODUCTION',
        predictions: 100,
        labeled: 80,
        unlabeled: 20,
        positives: 8,
        task: 'classification',
        accuracy: 0.9,
        auc: 0.81,
        log_loss: 0.3,
        mae: null,
        rmse: null,
        mean_score: 0.1,
        mean_label: 0.1,
      },
    ]);
    expect(body.windows[0]).toMatchObject({ window_start: from, window_end: from + 1_800_000, auc: 0.81 });
  });

  it('refuses a window that is not a positive number of seconds, or too many windows', async () => {
    expect((await app.inject({ method: 'GET', url: '/v1/models/fraud/quality?window_s=0' })).statusCode).toBe(400);
    expect((await app.inject({ method: 'GET', url: '/v1/models/fraud/quality?window_s=-5' })).statusCode).toBe(400);
    const many = await app.inject({
      method: 'GET',
      url: `/v1/models/fraud/quality?from=${NOW - 90 * 24 * HOUR}&to=${NOW}&window_s=60`,
    });
    expect(many.statusCode).toBe(400);
    expect(many.json().error.message).toMatch(/10000 windows/);
  });
});
