import { describe, expect, it } from 'vitest';
import { fraud, fraudDetector } from '../../../examples/fraud/index.ts';
import { trainingSpecOf } from '../../../projects/context.ts';
import { applyOverrides, parseOverrides, resolveFeatures } from '../../../trainers/spec.ts';

describe('training specs', () => {
  it('resolves request inputs and feature-store refs with their types and groups', () => {
    const features = resolveFeatures(fraudDetector, fraud.features);
    expect(features.map((f) => [f.name, f.group, f.entity, f.type])).toEqual([
      ['amount', null, null, 'DOUBLE'],
      ['hour_of_day', null, null, 'LONG'],
      ['distance_from_home_km', null, null, 'DOUBLE'],
      ['txn_count_1h', 'card_activity', 'card', 'LONG'],
      ['txn_count_24h', 'card_activity', 'card', 'LONG'],
      ['amount_avg_7d', 'card_activity', 'card', 'DOUBLE'],
      ['chargeback_rate_30d', 'merchant_risk', 'merchant', 'DOUBLE'],
    ]);
  });

  it('refuses unknown, string-typed and duplicate inputs, naming each', () => {
    expect(() =>
      resolveFeatures(
        {
          ...fraudDetector,
          features: ['amount', 'nope', 'merchant_risk:category', 'card_activity:zzz', 'amount'],
        },
        fraud.features,
      ),
    ).toThrow(
      /nope is not a request input.*merchant_risk:category is a string.*card_activity:zzz: group card_activity has no such feature.*unique: amount/,
    );
    expect(() => trainingSpecOf(fraud, 'unknown_model')).toThrow(/declares no model "unknown_model"; declared: fraud_detector/);
  });

  it('reads request params, refusing bad ones', () => {
    expect(
      parseOverrides({
        trials: 3,
        seed: '7',
        algorithm: 'logistic_regression',
        hidden_units: '32,16',
        epochs: 5,
        gate_action: 'stage',
      }),
    ).toEqual({
      trials: 3,
      seed: 7,
      algorithm: 'logistic_regression',
      hidden: [32, 16],
      maxEpochs: 5,
      gateAction: 'stage',
    });
    expect(() => parseOverrides({ trials: 0, learning_rate: 'x', algorithm: 'xgboost' })).toThrow(
      /trials must be an integer.*learning_rate must be a number.*algorithm must be/,
    );
    // Keys the trainer does not know (other producers' notes) are reported, not fatal.
    expect(parseOverrides({ trials: 2, early_stopping: true, note: null })).toEqual({
      trials: 2,
      ignored: ['early_stopping', 'note'],
    });
  });

  it('applies overrides: a fixed algorithm narrows the search, and the gate may only get weaker', () => {
    const s = applyOverrides(fraudDetector, { algorithm: 'logistic_regression', trials: 2, gateAction: 'register' });
    expect(s.defaults).toMatchObject({ algorithm: 'logistic_regression', hidden: [] });
    expect(s.search.algorithms).toEqual(['logistic_regression']);
    expect(s.trials).toBe(2);
    expect(s.gate.action).toBe('register');
    expect(applyOverrides(fraudDetector, { gateAction: 'promote' }).gate.action).toBe('rollout');
    expect(applyOverrides(fraudDetector, { gateAction: 'stage' }).gate.action).toBe('stage');
  });
});
