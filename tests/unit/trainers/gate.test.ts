import { describe, expect, it } from 'vitest';
import { decideGate, type GatePolicy } from '../../../trainers/gate.ts';

const policy: GatePolicy = {
  action: 'canary',
  firstVersion: 'promote',
  metric: 'auc',
  minimum: 0.65,
  maxRegression: 0.01,
  canaryPercent: 10,
};

describe('quality gate', () => {
  it('promotes a first version that clears the floor (no production to compare with, or to canary against)', () => {
    const d = decideGate(policy, { auc: 0.72 }, null, 900);
    expect(d).toMatchObject({ passed: true, action: 'promote', targetStage: 'PRODUCTION', canaryPercent: null });
    expect(d.checks).toEqual([{ item: 'auc ≥ 0.65 on the test split', passed: true, note: 'candidate 0.72 on 900 rows' }]);
    expect(d.evidence).toMatchObject({ metric: 'auc', candidate_auc: 0.72, minimum: 0.65, test_rows: 900 });
  });

  it('starts a canary when the candidate is no worse than production by more than the margin, on the same rows', () => {
    const d = decideGate(policy, { auc: 0.745 }, { version: '1.0.0', metrics: { auc: 0.75 } }, 900);
    expect(d).toMatchObject({ passed: true, action: 'canary', targetStage: 'STAGING', canaryPercent: 10 });
    expect(d.evidence).toMatchObject({ production_version: '1.0.0', production_auc: 0.75, max_regression: 0.01 });
    expect(d.reason).toMatch(/passed → canary/);
  });

  it('registers only (DEVELOPMENT) a candidate worse than production beyond the margin, saying by how much', () => {
    const d = decideGate(policy, { auc: 0.73 }, { version: '1.0.0', metrics: { auc: 0.75 } }, 900);
    expect(d).toMatchObject({ passed: false, action: 'register', targetStage: 'DEVELOPMENT' });
    expect(d.checks[1]).toMatchObject({ passed: false, note: 'candidate 0.73 vs production 0.75 (worse)' });
    expect(d.reason).toMatch(/failed .* → registered only/);
  });

  it('fails below the floor, and when production cannot be scored on the test split', () => {
    expect(decideGate(policy, { auc: 0.6 }, null, 900)).toMatchObject({ passed: false, action: 'register' });
    const d = decideGate(policy, { auc: 0.8 }, { version: '1.0.0', unavailable: 'its inputs are unknown' }, 900);
    expect(d.passed).toBe(false);
    expect(d.checks[1]?.note).toMatch(/could not be scored.*inputs are unknown/);
    expect(decideGate(policy, { auc: Number.NaN }, null, 900).passed).toBe(false);
  });

  it('compares lower-is-better metrics the other way', () => {
    const rmse: GatePolicy = {
      action: 'stage',
      firstVersion: 'stage',
      metric: 'rmse',
      minimum: 10,
      maxRegression: 0.5,
      canaryPercent: 5,
    };
    expect(decideGate(rmse, { rmse: 8 }, { version: '2.0.0', metrics: { rmse: 7.6 } }, 50)).toMatchObject({
      passed: true,
      action: 'stage',
    });
    expect(decideGate(rmse, { rmse: 8.2 }, { version: '2.0.0', metrics: { rmse: 7.6 } }, 50).passed).toBe(false);
    expect(decideGate(rmse, { rmse: 11 }, null, 50).passed).toBe(false);
    expect(() => decideGate({ ...rmse, metric: 'f1' }, { f1: 1 }, null, 5)).toThrow(/direction unknown/);
  });

  it('follows the policy: register only, stage, promote', () => {
    for (const action of ['register', 'stage', 'promote'] as const)
      expect(decideGate({ ...policy, action }, { auc: 0.8 }, { version: '1.0.0', metrics: { auc: 0.79 } }, 10).action).toBe(
        action,
      );
  });
});
