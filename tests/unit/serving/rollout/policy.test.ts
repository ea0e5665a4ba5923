/**
 * The rollout controller's pure decisions: the phase read from a folded registry (built here through
 * the in-memory registry with a fixed clock), and the next step for a phase, policy and evidence.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { RolloutPolicy } from '../../../../projects/declaration.ts';
import { MemoryRegistry } from '../../../../registry/memory.ts';
import type { ModelState } from '../../../../registry/types.ts';
import {
  compareQuality,
  evidenceFor,
  nextStep,
  ROLLOUT_ACTOR,
  type RolloutEvidence,
  type RolloutPhase,
  rolloutPhase,
  type VariantFigures,
} from '../../../../serving/rollout/policy.ts';
import { spec } from '../../../support/models.ts';

const MODEL = 'fraud_detector';
const POLICY: RolloutPolicy = {
  shadow: { predictions: 100, durationMs: 10_000 },
  canary: { percent: 10, steps: [50, 100] },
  promote: { metric: 'auc', maxRegression: 0.02, minLabels: 50 },
  rollback: { maxErrorRate: 0.02, maxLatencyP99Ms: 50 },
  requireApproval: false,
};

let clock = 1_000_000;
beforeEach(() => {
  vi.useFakeTimers();
  clock = 1_000_000;
  vi.setSystemTime(clock);
});
afterEach(() => vi.useRealTimers());

function at(ms: number) {
  clock = ms;
  vi.setSystemTime(ms);
}

/** v1 in production, v2 staged, at t = 1_000_000 … 1_000_002. */
async function registryWithCandidate(): Promise<MemoryRegistry> {
  const registry = new MemoryRegistry();
  const actor = 'user:test';
  await registry.execute({ kind: 'register', model: MODEL, version: '1.0.0', actor, spec: spec() });
  const { events } = await registry.execute({ kind: 'request', model: MODEL, version: '1.0.0', to: 'PRODUCTION', actor });
  const requestId = events[0]?.transition?.request_id as string;
  await registry.execute({ kind: 'approve', model: MODEL, actor: 'user:approver', requestId, confirm: true });
  at(clock + 1);
  await registry.execute({ kind: 'register', model: MODEL, version: '2.0.0', actor: 'service:trainer', spec: spec() });
  await registry.execute({ kind: 'stage', model: MODEL, version: '2.0.0', to: 'STAGING', actor: 'service:trainer' });
  return registry;
}

const model = (r: MemoryRegistry) => r.state.models.get(MODEL) as ModelState;

function figures(version: string, f: Partial<VariantFigures> = {}): VariantFigures {
  return { version, predictions: 0, labeled: 0, metric: null, latencyP99Ms: 5, errorRate: null, ...f };
}

function evidence(candidate: Partial<VariantFigures>, production: Partial<VariantFigures>, from = 0, to = 1): RolloutEvidence {
  const c = figures('2.0.0', candidate);
  return { step: { from, to, candidate: c }, compare: { from, to, candidate: c, production: figures('1.0.0', production) } };
}

describe('rolloutPhase', () => {
  it('is idle without a production version, and staged once a newer version is in STAGING', async () => {
    const empty = new MemoryRegistry();
    await empty.execute({ kind: 'register', model: MODEL, version: '1.0.0', actor: 'user:test', spec: spec() });
    expect(rolloutPhase(model(empty)).kind).toBe('idle');
    const registry = await registryWithCandidate();
    expect(rolloutPhase(model(registry))).toEqual({ kind: 'staged', candidate: '2.0.0', production: '1.0.0' });
  });

  it('follows the routes in the log: shadow since its event, canary step and canary start times', async () => {
    const registry = await registryWithCandidate();
    at(2_000_000);
    await registry.execute({ kind: 'traffic', model: MODEL, actor: ROLLOUT_ACTOR, shadow: ['2.0.0'] });
    expect(rolloutPhase(model(registry))).toEqual({ kind: 'shadow', candidate: '2.0.0', production: '1.0.0', since: 2_000_000 });
    at(3_000_000);
    await registry.execute({
      kind: 'traffic',
      model: MODEL,
      actor: ROLLOUT_ACTOR,
      shadow: [],
      canary: { version: '2.0.0', percent: 10 },
    });
    at(4_000_000);
    await registry.execute({ kind: 'traffic', model: MODEL, actor: ROLLOUT_ACTOR, canary: { version: '2.0.0', percent: 50 } });
    const phase = rolloutPhase(model(registry));
    expect(phase).toEqual({
      kind: 'canary',
      candidate: '2.0.0',
      production: '1.0.0',
      percent: 50,
      stepSince: 4_000_000,
      canarySince: 3_000_000,
    });
    expect(evidenceFor(phase)).toEqual({
      candidate: '2.0.0',
      candidateVariant: 'CANARY',
      production: '1.0.0',
      stepFrom: 4_000_000,
      compareFrom: 3_000_000,
    });
  });

  it('leaves alone a candidate a person took off its route, and a canary of another version', async () => {
    const registry = await registryWithCandidate();
    await registry.execute({ kind: 'traffic', model: MODEL, actor: ROLLOUT_ACTOR, canary: { version: '2.0.0', percent: 10 } });
    at(clock + 1);
    await registry.execute({ kind: 'traffic', model: MODEL, actor: 'user:oncall', canary: null });
    const phase = rolloutPhase(model(registry));
    expect(phase.kind).toBe('idle');
    expect(phase.kind === 'idle' && phase.why).toContain('user:oncall');
  });

  it('waits on a requested promotion, and stays idle once it was rejected', async () => {
    const registry = await registryWithCandidate();
    await registry.execute({ kind: 'request', model: MODEL, version: '2.0.0', to: 'PRODUCTION', actor: ROLLOUT_ACTOR });
    const waiting = rolloutPhase(model(registry));
    expect(waiting.kind).toBe('awaiting-approval');
    expect(nextStep(waiting, POLICY, undefined, clock)).toMatchObject({
      kind: 'wait',
      why: expect.stringContaining('waiting for approval'),
    });
    await registry.execute({ kind: 'reject', model: MODEL, actor: 'user:owner', version: '2.0.0', reason: 'not now' });
    expect(rolloutPhase(model(registry))).toMatchObject({ kind: 'idle', why: expect.stringContaining('rejected by user:owner') });
  });
});

describe('nextStep', () => {
  const staged: RolloutPhase = { kind: 'staged', candidate: '2.0.0', production: '1.0.0' };
  const shadow: RolloutPhase = { kind: 'shadow', candidate: '2.0.0', production: '1.0.0', since: 0 };
  const canary = (percent: number): RolloutPhase => ({
    kind: 'canary',
    candidate: '2.0.0',
    production: '1.0.0',
    percent,
    stepSince: 100,
    canarySince: 0,
  });

  it('starts a shadow, or a canary when the policy has no shadow', () => {
    expect(nextStep(staged, POLICY, undefined, 0)).toMatchObject({
      kind: 'act',
      action: 'start-shadow',
      traffic: { shadow: 'add' },
    });
    const { shadow: _, ...noShadow } = POLICY;
    expect(nextStep(staged, noShadow, undefined, 0)).toMatchObject({
      kind: 'act',
      action: 'start-canary',
      traffic: { canary: { version: '2.0.0', percent: 10 } },
    });
  });

  it('keeps the shadow until both its prediction count and its duration are reached, then starts the canary', () => {
    expect(nextStep(shadow, POLICY, evidence({ predictions: 99 }, {}), 20_000)).toMatchObject({
      kind: 'wait',
      why: expect.stringContaining('99/100'),
    });
    expect(nextStep(shadow, POLICY, evidence({ predictions: 150 }, {}), 5_000)).toMatchObject({ kind: 'wait' });
    expect(nextStep(shadow, POLICY, evidence({ predictions: 150 }, {}), 10_000)).toMatchObject({
      kind: 'act',
      action: 'start-canary',
      traffic: { canary: { version: '2.0.0', percent: 10 }, shadow: 'remove' },
      evidence: { step_predictions: 150, phase: 'shadow' },
    });
  });

  it('rolls back at once on a crossed guardrail, with the numbers', () => {
    const step = nextStep(canary(10), POLICY, evidence({ latencyP99Ms: 80, predictions: 10 }, {}), 1_000);
    expect(step).toMatchObject({ kind: 'act', action: 'roll-back', archive: true, traffic: { canary: null } });
    expect(step.kind === 'act' && step.reason).toContain('p99 latency 80 ms over the guardrail 50 ms');
    expect(nextStep(canary(10), POLICY, evidence({ errorRate: 0.05 }, {}), 1_000)).toMatchObject({ action: 'roll-back' });
    expect(nextStep(shadow, POLICY, evidence({ latencyP99Ms: 80 }, {}), 1_000)).toMatchObject({
      action: 'roll-back',
      traffic: { shadow: 'remove' },
    });
  });

  it('waits for enough labels at the step, then raises the canary through its steps and promotes', () => {
    const good = (labels: number) => evidence({ labeled: labels, metric: 0.8 }, { labeled: 500, metric: 0.79 });
    expect(nextStep(canary(10), POLICY, good(49), 1_000)).toMatchObject({
      kind: 'wait',
      why: expect.stringContaining('49/50 labels'),
    });
    expect(nextStep(canary(10), POLICY, good(50), 1_000)).toMatchObject({
      action: 'raise-canary',
      traffic: { canary: { percent: 50 } },
    });
    expect(nextStep(canary(50), POLICY, good(60), 1_000)).toMatchObject({
      action: 'raise-canary',
      traffic: { canary: { percent: 100 } },
    });
    const promote = nextStep(canary(100), POLICY, good(60), 1_000);
    expect(promote).toMatchObject({ kind: 'act', action: 'promote', promote: { approve: true } });
    expect(promote.kind === 'act' && promote.evidence).toMatchObject({
      candidate_metric: 0.8,
      production_metric: 0.79,
      min_labels: 50,
    });
    expect(nextStep(canary(100), { ...POLICY, requireApproval: true }, good(60), 1_000)).toMatchObject({
      action: 'request-approval',
      promote: { approve: false },
    });
  });

  it('rolls back a candidate worse than production beyond the margin, and keeps one within it', () => {
    const worse = nextStep(canary(10), POLICY, evidence({ labeled: 60, metric: 0.7 }, { labeled: 500, metric: 0.8 }), 1_000);
    expect(worse).toMatchObject({ action: 'roll-back', archive: true });
    expect(worse.kind === 'act' && worse.reason).toContain('live auc 0.7 vs production 0.8');
    expect(
      nextStep(canary(10), POLICY, evidence({ labeled: 60, metric: 0.79 }, { labeled: 500, metric: 0.8 }), 1_000),
    ).toMatchObject({
      action: 'raise-canary',
    });
    // Lower is better: a higher log loss is the regression.
    const logloss = { ...POLICY, promote: { ...POLICY.promote, metric: 'logloss' } };
    expect(compareQuality(evidence({ labeled: 60, metric: 0.5 }, { labeled: 60, metric: 0.4 }), logloss).verdict).toBe('worse');
    expect(compareQuality(evidence({ labeled: 60, metric: 0.3 }, { labeled: 60, metric: 0.4 }), logloss).verdict).toBe('ok');
  });

  it('does not judge quality on too few production labels', () => {
    const q = compareQuality(evidence({ labeled: 60, metric: 0.5 }, { labeled: 10, metric: 0.9 }), POLICY);
    expect(q.verdict).toBe('unknown');
    expect(nextStep(canary(10), POLICY, evidence({ labeled: 60, metric: 0.5 }, { labeled: 10, metric: 0.9 }), 0)).toMatchObject({
      kind: 'wait',
    });
  });
});
