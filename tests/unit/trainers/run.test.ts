import { beforeAll, describe, expect, it } from 'vitest';
import { fraudDetector } from '../../../examples/fraud/index.ts';
import { type LabeledHistory, labeledHistory } from '../../../examples/fraud/labeled-history.ts';
import { RheoError } from '../../../kernel/errors.ts';
import { auc } from '../../../kernel/quality.ts';
import { MemoryRegistry } from '../../../registry/memory.ts';
import { manualRunRequest, type RunRequest, runTraining } from '../../../trainers/run.ts';
import { memoryDeps } from '../../support/training.ts';

const END = Date.UTC(2026, 0, 10);
const MODEL = 'fraud_detector';
/** One trial keeps these tests quick; the search itself is exercised by the integration test and the spec's defaults. */
const spec = { ...fraudDetector, trials: 1 };

let history: LabeledHistory;
beforeAll(() => {
  history = labeledHistory({ model: MODEL, transactions: 6000, seed: 11, end: END, prefix: 'h1' });
});

const request = (params: Record<string, number | string> = {}): RunRequest => ({
  ...manualRunRequest(MODEL, { now: END, params: { seed: 5, ...params } }),
  runId: 'run-unit-1',
  requestId: '0b6a3c1e-2f4d-4a5b-8c7d-9e0f1a2b3c4d',
});

describe('a training run, broker-free', () => {
  it('registers and promotes a first version that learned the known signal, with baseline, card, lineage and evidence', async () => {
    const deps = await memoryDeps(history);
    const result = await runTraining(deps, spec, request());
    expect(result).toMatchObject({ status: 'completed', version: '1.0.0', stage: 'PRODUCTION' });
    expect(result.gate).toMatchObject({ passed: true, action: 'promote' });

    // The stated floor, and close to what the generator's own probabilities reach on the same test rows.
    const test = history.transactions.slice(history.transactions.length - (result.metrics.test_rows as number));
    const oracle = auc(
      test.map((t) => (t.isFraud ? 1 : 0)),
      test.map((t) => t.fraudProbability),
    );
    expect(result.metrics.auc).toBeGreaterThanOrEqual(0.65);
    expect(oracle).not.toBeNull();
    expect(result.metrics.auc).toBeGreaterThan((oracle as number) - 0.08);
    expect(result.metrics.onnx_max_abs_diff).toBeLessThanOrEqual(1e-5);

    // The registry: registered by the trainer, promotion requested by it and approved by the gate, with the checklist.
    expect(deps.registry.log.map((e) => [e.event_type, e.actor])).toEqual([
      ['REGISTERED', 'service:trainer'],
      ['TRANSITION_REQUESTED', 'service:trainer'],
      ['TRANSITION_APPROVED', 'service:quality-gate'],
      ['STAGE_CHANGED', 'service:quality-gate'],
    ]);
    const approval = deps.registry.log[2];
    expect(approval?.transition?.checklist.every((c) => c.done)).toBe(true);
    expect(approval?.reason).toMatch(/quality gate passed → promote/);
    const version = deps.registry.state.models.get(MODEL)?.versions.get('1.0.0');
    const registered = version?.spec;
    expect(registered?.inputs.map((i) => `${i.feature_group ?? 'request'}:${i.name}`)).toEqual([
      'request:amount',
      'request:hour_of_day',
      'request:distance_from_home_km',
      'card_activity:txn_count_1h',
      'card_activity:txn_count_24h',
      'card_activity:amount_avg_7d',
      'merchant_risk:chargeback_rate_30d',
    ]);
    expect(registered?.lineage).toMatchObject({
      run_id: 'run-unit-1',
      row_count: 6000,
      parent_version: null,
      seed: 5,
    });
    expect(registered?.lineage.training_set_hash).toMatch(/^[0-9a-f]{64}$/);
    expect(registered?.params).toMatchObject({
      request_id: request().requestId,
      gate_action: 'promote',
      decision_threshold: 0.5,
    });
    expect(registered?.baseline.features.map((f) => f.feature)).toEqual(registered?.inputs.map((i) => i.name));
    expect(registered?.baseline.prediction?.feature).toBe('probability');
    for (const b of [...(registered?.baseline.features ?? []), registered?.baseline.prediction]) {
      expect(b?.proportions.reduce((x, y) => x + y, 0)).toBeCloseTo(1, 9);
      expect(b?.proportions.length).toBe((b?.bin_edges.length ?? 0) + 1);
    }
    expect(registered?.model_card).toMatch(/# fraud_detector 1.0.0[\s\S]*## Evaluation[\s\S]*## Quality gate[\s\S]*## Lineage/);

    // Run events: STARTED, one PROGRESS per epoch, COMPLETED with the gate's verdict; the trial tracked and selected.
    const types = deps.events.events.map((e) => e.event_type);
    expect(types[0]).toBe('STARTED');
    expect(types.at(-1)).toBe('COMPLETED');
    expect(types.filter((t) => t === 'PROGRESS').length).toBe(deps.tracker.rows[0]?.epochs_run);
    expect(deps.events.events[0]?.started?.params?.backend).toBe(result.backend.name);
    expect(deps.events.events.at(-1)?.completed).toMatchObject({
      model_version: '1.0.0',
      gate_passed: true,
      target_stage: 'PRODUCTION',
    });
    expect(deps.tracker.rows.map((r) => [r.trial, r.selected])).toEqual([
      [0, false],
      [0, true],
    ]);
  }, 60_000);

  it('is reproducible from the seed, and a redelivered request only finishes its decision', async () => {
    const a = await memoryDeps(history);
    const b = await memoryDeps(history);
    const first = await runTraining(a, spec, request());
    const again = await runTraining(b, spec, request());
    const sha = (d: typeof a) => d.registry.state.models.get(MODEL)?.versions.get('1.0.0')?.spec.sha256;
    expect(again.datasetHash).toBe(first.datasetHash);
    expect(sha(b)).toBe(sha(a));

    const events = a.registry.log.length;
    const resumed = await runTraining(a, spec, request());
    expect(resumed).toMatchObject({ status: 'resumed', version: '1.0.0', stage: 'PRODUCTION' });
    expect(a.registry.log.length).toBe(events);
  }, 60_000);

  it('compares a retrained version with production on the same test rows and hands it to the rollout controller', async () => {
    const registry = new MemoryRegistry();
    const deps = await memoryDeps(history, registry);
    await runTraining(deps, spec, request());
    const second = await runTraining(deps, spec, { ...request({ seed: 6 }), runId: 'run-unit-2', baseVersion: '1.0.0' });
    expect(second).toMatchObject({ version: '1.1.0', stage: second.gate.passed ? 'STAGING' : 'DEVELOPMENT' });
    expect(second.productionMetrics?.auc).toBeGreaterThan(0.6);
    expect(second.gate.action).toBe(second.gate.passed ? 'rollout' : 'register');
    if (second.gate.passed) {
      // Staged only: the rollout controller takes it from here, so no route changes.
      expect(registry.state.models.get(MODEL)?.traffic).toMatchObject({
        production_version: '1.0.0',
        canary: null,
        shadow_versions: [],
      });
      const staged = registry.log.at(-1);
      expect(staged).toMatchObject({ event_type: 'STAGE_CHANGED', model_version: '1.1.0' });
      expect(staged?.reason).toMatch(/production 1\.0\.0/);
    }
    expect(registry.state.models.get(MODEL)?.versions.get('1.1.0')?.spec.lineage.parent_version).toBe('1.0.0');
  }, 60_000);

  it('starts a canary itself when the gate says canary (no rollout controller)', async () => {
    const registry = new MemoryRegistry();
    const deps = await memoryDeps(history, registry);
    const canarySpec = { ...spec, gate: { ...spec.gate, action: 'canary' as const, canaryPercent: 10 } };
    await runTraining(deps, canarySpec, request());
    const second = await runTraining(deps, canarySpec, { ...request({ seed: 6 }), runId: 'run-unit-3', baseVersion: '1.0.0' });
    expect(second.gate.action).toBe(second.gate.passed ? 'canary' : 'register');
    if (second.gate.passed) {
      expect(registry.state.models.get(MODEL)?.traffic).toMatchObject({
        production_version: '1.0.0',
        canary: { version: '1.1.0', percent: 10 },
      });
      const traffic = registry.log.at(-1);
      expect(traffic?.event_type).toBe('TRAFFIC_SET');
      expect(traffic?.reason).toMatch(/production 1\.0\.0/);
    }
  }, 60_000);

  it('fails with TRAINING_DATA_INSUFFICIENT and a FAILED event when the window holds too few labels, registering nothing', async () => {
    const deps = await memoryDeps(history);
    const tooEarly = { ...request(), windowStart: history.start, windowEnd: history.start + 60 * 60_000 };
    const error = await runTraining(deps, spec, tooEarly).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RheoError);
    expect((error as RheoError).code).toBe('TRAINING_DATA_INSUFFICIENT');
    expect(deps.events.events.at(-1)?.failed).toMatchObject({ code: 'TRAINING_DATA_INSUFFICIENT', retriable: false });
    expect(deps.registry.log).toEqual([]);
  }, 60_000);

  it('stops at the next phase once aborted, failing as SHUTTING_DOWN and registering nothing', async () => {
    const deps = await memoryDeps(history);
    const controller = new AbortController();
    const phases: string[] = [];
    const error = await runTraining(deps, spec, request(), {
      signal: controller.signal,
      // Aborted as evaluation starts, after the search finished: only a check between phases can stop it.
      onProgress: (update) => {
        phases.push(update.phase);
        if (update.phase === 'evaluate') controller.abort(new Error('trainer stopping'));
      },
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RheoError);
    expect((error as RheoError).code).toBe('SHUTTING_DOWN');
    expect(phases.at(-1)).toBe('evaluate');
    expect(deps.events.events.at(-1)?.failed).toMatchObject({ code: 'SHUTTING_DOWN' });
    expect(deps.registry.log).toEqual([]);
    expect(deps.tracker.rows.every((r) => !r.selected)).toBe(true);
  }, 60_000);

  it('refuses bad request parameters before training, with a FAILED event', async () => {
    const deps = await memoryDeps(history);
    await expect(runTraining(deps, spec, request({ learning_rate: 'fast' }))).rejects.toThrow(/learning_rate must be a number/);
    expect(deps.events.events.at(-1)?.failed).toMatchObject({ code: 'BAD_REQUEST', retriable: false });
  });
});
