/**
 * The rollout controller against the real stack: the registry on Kafka, evidence from ClickHouse
 * (predictions and joined outcomes written to the very tables the archiver and the feedback joiner
 * fill). Two instances run side by side (one owns the lifecycle partition and acts), a third takes
 * over mid-rollout after both stopped; every step shows up once, by the controller, with its evidence.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClickHouse } from '../../kernel/clients.ts';
import { loadConfig } from '../../kernel/config.ts';
import { createLogger } from '../../kernel/log.ts';
import { createRegistry } from '../../kernel/metrics.ts';
import { sleep } from '../../kernel/retry.ts';
import type { RolloutPolicy } from '../../projects/declaration.ts';
import { RegistryClient } from '../../registry/client.ts';
import type { ModelLifecycleEvent, PredictionInput } from '../../schemas/index.ts';
import { createRolloutController } from '../../serving/rollout/controller.ts';
import { ROLLOUT_ACTOR, ROLLOUT_POLICY_ACTOR } from '../../serving/rollout/policy.ts';
import { ensureHistoryTables } from '../../tables/admin.ts';
import { TABLES, tableRef } from '../../tables/catalogue.ts';
import { archivedTable } from '../../tables/history.ts';
import { spec } from '../support/models.ts';

const config = loadConfig();
const logger = createLogger('rollout-test', { defaultLevel: 'warn' });
const run = randomUUID().slice(0, 8);
const MODEL = `rollout_test_${run}`;
const POLICY: RolloutPolicy = {
  shadow: { predictions: 20 },
  canary: { percent: 50, steps: [100] },
  promote: { metric: 'auc', maxRegression: 0.05, minLabels: 20 },
  rollback: { maxErrorRate: 0.05, maxLatencyP99Ms: 100 },
  requireApproval: false,
};
const clickhouse = createClickHouse(config);
const db = config.clickhouse.database;
let registry: RegistryClient;
const controllers: Array<Awaited<ReturnType<typeof createRolloutController>>> = [];

async function controller() {
  const c = await createRolloutController(
    config,
    {
      logger,
      metrics: createRegistry(`rollout-${controllers.length}`, { defaultMetrics: false }),
      policies: new Map([[MODEL, POLICY]]),
    },
    { groupId: `rheo.rollout-controller.test-${run}`, settings: { intervalMs: 300, sessionTimeoutMs: 6_000 } },
  );
  controllers.push(c);
  await c.start();
  return c;
}

/** `n` labeled predictions of a version in a variant, now: scores that rank the labels well (or, inverted, badly). */
async function traffic(version: string, variant: PredictionInput['variant'], n: number, quality: 'good' | 'bad', latencyMs = 5) {
  const now = Date.now();
  const predictions: PredictionInput[] = [];
  const outcomes: Array<Record<string, unknown>> = [];
  for (let i = 0; i < n; i++) {
    const label = i % 4 === 0 ? 1 : 0;
    const right = label === 1 ? 0.7 + (i % 7) / 30 : 0.1 + (i % 11) / 30;
    const score = quality === 'good' ? right : 1 - right;
    const id = randomUUID();
    const event_time = now - n + i;
    predictions.push({
      event_id: randomUUID(),
      event_time,
      prediction_id: id,
      entity_id: `card-${i}`,
      model_name: MODEL,
      model_version: version,
      variant,
      source: 'STREAMING',
      inputs: {},
      outputs: { probability: score },
      score,
      predicted_label: null,
      latency_ms: latencyMs,
      request_time: event_time,
    });
    const p = predictions.at(-1) as PredictionInput;
    outcomes.push({
      prediction_event_id: p.event_id,
      prediction_id: id,
      entity_id: p.entity_id,
      model_name: MODEL,
      model_version: version,
      variant,
      source: 'STREAMING',
      prediction_time: Math.floor(event_time / 1000),
      prediction_time_ms: event_time,
      request_time_ms: event_time,
      score,
      predicted_label: null,
      label,
      label_event_id: randomUUID(),
      label_source: 'test',
      observed_time: Math.floor(now / 1000),
      observed_time_ms: now,
      label_delay_ms: now - event_time,
      join_kind: 'prediction_id',
      version: now,
    });
  }
  const table = archivedTable('predictions');
  await clickhouse.insert({
    table: tableRef(db, table.entry).text,
    values: predictions.map((p) => table.toRow(p as unknown as Record<string, unknown>)),
    format: 'JSONEachRow',
  });
  await clickhouse.insert({ table: tableRef(db, TABLES.prediction_outcomes).text, values: outcomes, format: 'JSONEachRow' });
}

const model = () => registry.state.models.get(MODEL);
const byController = (events: readonly ModelLifecycleEvent[]) => events.filter((e) => e.actor === ROLLOUT_ACTOR);

async function until<T>(what: string, probe: () => T | undefined | false, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(200);
  }
}

/** The model's lifecycle events as the log holds them. */
function events(): ModelLifecycleEvent[] {
  return log.filter((e) => e.model_name === MODEL);
}
const log: ModelLifecycleEvent[] = [];

beforeAll(async () => {
  await ensureHistoryTables(clickhouse, db);
  registry = await RegistryClient.connect(config, logger);
  registry.follower.onChange((_state, applied) => log.push(...applied));
  const actor = 'user:test';
  await registry.execute({ kind: 'register', model: MODEL, version: '1.0.0', actor, spec: spec() });
  const { events: requested } = await registry.execute({
    kind: 'request',
    model: MODEL,
    version: '1.0.0',
    to: 'PRODUCTION',
    actor,
  });
  await registry.execute({
    kind: 'approve',
    model: MODEL,
    actor: 'user:approver',
    requestId: requested[0]?.transition?.request_id as string,
    confirm: true,
  });
  await registry.execute({ kind: 'register', model: MODEL, version: '2.0.0', actor: 'service:trainer', spec: spec() });
  await registry.execute({ kind: 'stage', model: MODEL, version: '2.0.0', to: 'STAGING', actor: 'service:trainer' });
}, 60_000);

afterAll(async () => {
  await Promise.allSettled(controllers.map((c) => c.stop('test done')));
  await registry?.close();
  await clickhouse.close();
});

describe('the rollout controller on the real stack', () => {
  it('shadows, canaries and promotes a good candidate, each step once, with evidence; a standby resumes mid-way', async () => {
    const [a, b] = [await controller(), await controller()];
    await until('the shadow', () => model()?.traffic.shadow_versions.includes('2.0.0'));
    await traffic('2.0.0', 'SHADOW', 30, 'good');
    await traffic('1.0.0', 'PRODUCTION', 30, 'good');
    await until('the canary at 50%', () => model()?.traffic.canary?.percent === 50);
    expect(model()?.traffic.shadow_versions).toEqual([]);
    // Both stop; a third instance takes over from the log alone.
    await Promise.all([a.stop('handover'), b.stop('handover')]);
    await controller();
    await traffic('2.0.0', 'CANARY', 25, 'good');
    await traffic('1.0.0', 'PRODUCTION', 25, 'good');
    await until('the canary at 100%', () => model()?.traffic.canary?.percent === 100);
    await traffic('2.0.0', 'CANARY', 25, 'good');
    await until('the promotion', () => model()?.versions.get('2.0.0')?.stage === 'PRODUCTION');
    await sleep(1_500); // a few more ticks: nothing more may happen
    const steps = byController(events());
    expect(
      steps.map((e) => `${e.event_type}:${e.traffic?.canary?.percent ?? ''}:${e.traffic?.shadow_versions.join(',') ?? ''}`),
    ).toEqual(['TRAFFIC_SET::2.0.0', 'TRAFFIC_SET:50:', 'TRAFFIC_SET:100:', 'TRANSITION_REQUESTED::']);
    const approval = events().find((e) => e.event_type === 'TRANSITION_APPROVED' && e.model_version === '2.0.0');
    expect(approval?.actor).toBe(ROLLOUT_POLICY_ACTOR);
    expect(model()?.traffic).toMatchObject({ production_version: '2.0.0', canary: null });
    const promotion = steps.at(-1)?.reason ?? '';
    expect(promotion).toContain('evidence {');
    const evidence = JSON.parse(promotion.split(' | evidence ')[1] as string) as Record<string, unknown>;
    expect(evidence).toMatchObject({ phase: 'canary', canary_percent: 100, metric: 'auc', min_labels: 20, production: '1.0.0' });
    expect(evidence.step_labels as number).toBeGreaterThanOrEqual(20);
    expect(evidence.candidate_metric as number).toBeGreaterThan(0.9);
  }, 180_000);

  it('rolls back and archives a worse candidate as soon as enough labels show it, production untouched', async () => {
    await registry.execute({ kind: 'register', model: MODEL, version: '3.0.0', actor: 'user:test', spec: spec() });
    await registry.execute({ kind: 'stage', model: MODEL, version: '3.0.0', to: 'STAGING', actor: 'user:test' });
    await until('the shadow of 3.0.0', () => model()?.traffic.shadow_versions.includes('3.0.0'), 30_000);
    const staged = Date.now();
    // Production's side of the same requests lands first, so the shadow's end is judged on both.
    await traffic('2.0.0', 'PRODUCTION', 30, 'good');
    await traffic('3.0.0', 'SHADOW', 30, 'bad');
    await until('the rollback', () => model()?.versions.get('3.0.0')?.stage === 'ARCHIVED');
    expect(Date.now() - staged).toBeLessThan(30_000);
    const archived = events().find((e) => e.model_version === '3.0.0' && e.event_type === 'ARCHIVED');
    expect(archived?.actor).toBe(ROLLOUT_ACTOR);
    expect(archived?.reason).toMatch(
      /rolled back 3\.0\.0 \(shadow\); production 2\.0\.0 keeps serving: live auc 0 vs production 1 on 30\/30 labels \(margin 0\.05\)/,
    );
    expect(model()?.traffic).toMatchObject({ production_version: '2.0.0', canary: null, shadow_versions: [] });
  }, 120_000);
});
