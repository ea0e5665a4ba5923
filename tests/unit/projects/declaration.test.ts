/** projects/declaration.ts: a declared model becomes the trainer's spec unchanged, and every problem of a project is listed at once. */
import { describe, expect, it } from 'vitest';
import { cardActivity, fraudDetector, merchantRisk, transactionRequest } from '../../../examples/fraud/index.ts';
import { RheoError } from '../../../kernel/errors.ts';
import {
  DRIFT_DEFAULTS,
  defineProject,
  driftOf,
  type ModelDecl,
  type ProjectDecl,
  projectProblems,
  TRAINING_DEFAULTS,
  toTrainingSpec,
} from '../../../projects/declaration.ts';

/** The fraud model written out by hand, as a user would declare it (no value taken from the spec). */
const fraudModel: ModelDecl = {
  name: 'fraud_detector',
  description:
    'Scores card payments with the probability that they are fraudulent, from the payment itself, the card’s recent activity and the merchant’s chargeback history.',
  owner: 'fraud-team',
  entity: 'card',
  entityKeys: { merchant: 'merchant_id' },
  inputs: [
    'request:amount',
    'request:hour_of_day',
    'request:distance_from_home_km',
    'card_activity:txn_count_1h',
    'card_activity:txn_count_24h',
    'card_activity:amount_avg_7d',
    'merchant_risk:chargeback_rate_30d',
  ],
  labels: { from: 'predictions' },
  task: { type: 'binary', positiveLabel: 'fraud', negativeLabel: 'legit' },
  training: { lookbackDays: 30, maxRows: 200_000, minRows: 500, trials: 6 },
  gate: { action: 'rollout', firstVersion: 'promote', metric: 'auc', minimum: 0.65, maxRegression: 0.02 },
  rollout: {
    canary: { percent: 20, steps: [50, 100] },
    promote: { metric: 'auc', maxRegression: 0.01, minLabels: 500 },
    rollback: { maxErrorRate: 0.02, maxLatencyP99Ms: 50 },
    requireApproval: false,
  },
  intendedUse: 'Ranking card payments for review or step-up authentication; not a sole basis for declining a payment.',
  limitations:
    'Trained on labels known at training time: chargebacks arrive late, so the newest weeks under-count fraud. Merchant features need the merchant id with each prediction; where it is missing the training mean stands in. Not validated for card-present fraud.',
};

const project: ProjectDecl = {
  name: 'fraud',
  entities: [
    { name: 'card', description: 'A payment card.', key: 'string' },
    { name: 'merchant', description: 'A merchant.', key: 'string' },
  ],
  featureGroups: [cardActivity, merchantRisk],
  requestInputs: [transactionRequest],
  models: [fraudModel],
};

const withModel = (changes: Partial<ModelDecl>): ProjectDecl => ({ ...project, models: [{ ...fraudModel, ...changes }] });

describe('toTrainingSpec', () => {
  it('turns the declared fraud model into the compiled-in fraud spec, field for field', () => {
    expect(projectProblems(project)).toEqual([]);
    expect(toTrainingSpec(project, 'fraud_detector')).toEqual(fraudDetector);
  });

  it('takes the canary percent from the rollout, and gives a regressor its output name and no decision rule', () => {
    const regression = withModel({
      task: { type: 'regression' },
      gate: { action: 'stage', firstVersion: 'stage', metric: 'rmse', maxRegression: 0.5 },
      rollout: {
        ...fraudModel.rollout,
        canary: { percent: 5, steps: [] },
        promote: { metric: 'rmse', maxRegression: 1, minLabels: 10 },
      },
    });
    expect(projectProblems(regression)).toEqual([]);
    const spec = toTrainingSpec(regression, 'fraud_detector');
    expect(spec).toMatchObject({ task: 'regression', outputName: 'prediction', gate: { canaryPercent: 5, metric: 'rmse' } });
    expect(spec.decision).toBeUndefined();
  });

  it('refuses a multiclass model (declared, not trainable yet) and an undeclared model', () => {
    const multi = withModel({
      task: { type: 'multiclass', classes: ['a', 'b', 'c'] },
      gate: { ...fraudModel.gate, metric: 'accuracy' },
      rollout: { ...fraudModel.rollout, promote: { metric: 'accuracy', maxRegression: 0.01, minLabels: 5 } },
    });
    expect(projectProblems(multi)).toEqual([]);
    expect(() => toTrainingSpec(multi, 'fraud_detector')).toThrow(/multiclass is declared but not trainable yet/);
    expect(() => toTrainingSpec(project, 'nope')).toThrow(/declares no model "nope"; declared: fraud_detector/);
  });
});

describe('projectProblems', () => {
  it('refuses a promotion metric live traffic does not measure (Brier, R²)', () => {
    const brier = withModel({
      rollout: { ...fraudModel.rollout, promote: { metric: 'brier', maxRegression: 0.01, minLabels: 5 } },
    });
    expect(projectProblems(brier)).toEqual([
      'model fraud_detector: rollout.promote.metric brier is not measured on live traffic; one of auc, accuracy, logloss, rmse, mae',
    ]);
  });

  it('lists every problem at once, each saying where', () => {
    const bad: ProjectDecl = {
      name: 'fraud',
      entities: [
        { name: 'card', description: 'A card.', key: 'string' },
        { name: 'card', description: 'Again.', key: 'string' },
      ],
      featureGroups: [cardActivity, merchantRisk, cardActivity],
      requestInputs: [transactionRequest],
      models: [
        {
          ...fraudModel,
          inputs: ['request:amount', 'card_activity:nope', 'ghost:x', 'merchant_risk:category', 'amount', 'request:amount'],
          task: { type: 'multiclass', classes: [] },
          gate: { ...fraudModel.gate, metric: 'accuracy' },
          drift: { thresholds: { warn: 0.5, alert: 0.2 }, bins: 1 },
          rollout: {
            ...fraudModel.rollout,
            canary: { percent: 120, steps: [5] },
            promote: { metric: 'accuracy', maxRegression: 0, minLabels: 0 },
          },
        },
        fraudModel,
      ],
    };
    expect(projectProblems(bad)).toEqual([
      'entity "card" is declared twice',
      'feature group merchant_risk: entity "merchant" is not declared (entities: card)',
      'feature group "card_activity" is declared twice',
      'model fraud_detector: entityKeys.merchant: entity "merchant" is not declared',
      'model fraud_detector: inputs[1] "card_activity:nope": group card_activity has no feature "nope" (it has txn_count_1h, txn_count_24h, amount_avg_7d)',
      'model fraud_detector: inputs[2] "ghost:x": no feature group "ghost" (declared: card_activity, merchant_risk)',
      'model fraud_detector: inputs[3] "merchant_risk:category" is a string; models take numbers and booleans (encode categories as features)',
      'model fraud_detector: inputs[4] "amount" is not "group:feature" or "request:<input>"',
      'model fraud_detector: input names must be unique (the model sees bare names): amount',
      'model fraud_detector: a multiclass model must declare at least two classes (task.classes)',
      'model fraud_detector: drift.bins must be a whole number in 2..100, got 1',
      'model fraud_detector: drift.thresholds: warn 0.5 is above alert 0.2',
      'model fraud_detector: rollout.canary.percent must be a percent in (0, 100], got 120',
      'model fraud_detector: rollout.canary: percent then steps must rise strictly, got 120, 5',
      'model fraud_detector: rollout.promote.minLabels must be a whole number ≥ 1, got 0',
      'model "fraud_detector" is declared twice',
      'model fraud_detector: entityKeys.merchant: entity "merchant" is not declared',
    ]);
  });

  it('names missing fields of untyped input instead of failing on them', () => {
    expect(projectProblems(null)).toEqual(['the project must be an object (the default export of rheo.project.ts)']);
    expect(projectProblems({ name: 'Bad Name', entities: [], featureGroups: {}, models: [{ name: 'm' }] })).toEqual([
      'name must be lower case letters, digits, "_" or "-", starting with a letter, got "Bad Name"',
      'featureGroups must be an array, got [object Object]',
      'requestInputs is missing (an array)',
      'model m: description is missing',
      'model m: owner is missing',
      'model m: intendedUse is missing',
      'model m: limitations is missing',
      'model m: entity undefined is not declared',
      'model m: inputs is missing (an array)',
      'model m: labels is missing ({ from: "predictions" | "label-events" })',
      'model m: task.type must be binary, multiclass or regression, got undefined',
      'model m: gate is missing',
      'model m: rollout is missing',
    ]);
  });

  it('checks metrics against the task, gate actions, request sources, labels and topic overrides', () => {
    const problems = projectProblems({
      ...withModel({
        gate: { ...fraudModel.gate, metric: 'rmse', firstVersion: 'canary' as 'promote' },
        request: 'basket',
        labels: { from: 'predictions', topic: 'no topic!' },
        rollout: { ...fraudModel.rollout, shadow: {}, rollback: { maxErrorRate: 2, maxLatencyP99Ms: 0 } },
      }),
      topics: { card_activity: { partitions: 0 }, ghost: { retentionMs: 1000 } },
    });
    expect(problems).toEqual([
      'topics.card_activity.partitions must be a whole number in 1..10000, got 0',
      'topics.ghost: no feature group "ghost"',
      'model fraud_detector: request source "basket" is not declared',
      'model fraud_detector: inputs[0] "request:amount": no request source to read it from (declare one in requestInputs)',
      'model fraud_detector: inputs[1] "request:hour_of_day": no request source to read it from (declare one in requestInputs)',
      'model fraud_detector: inputs[2] "request:distance_from_home_km": no request source to read it from (declare one in requestInputs)',
      'model fraud_detector: labels.topic is not a topic name: "no topic!"',
      'model fraud_detector: gate.firstVersion must be register, stage or promote (a first version has nothing to canary or shadow against), got "canary"',
      'model fraud_detector: gate.metric rmse is not reported for binary models (auc, accuracy, logloss, brier)',
      'model fraud_detector: rollout.shadow must give predictions, durationMs or both',
      'model fraud_detector: rollout.rollback.maxErrorRate must be a share in 0..1, got 2',
      'model fraud_detector: rollout.rollback.maxLatencyP99Ms must be a positive number of ms, got 0',
    ]);
  });
});

describe('defineProject', () => {
  it('returns a valid project as declared and refuses an invalid one with PROJECT_INVALID listing each problem', () => {
    expect(defineProject(project)).toBe(project);
    let error: unknown;
    try {
      defineProject({ ...project, entities: [] });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(RheoError);
    expect((error as RheoError).code).toBe('PROJECT_INVALID');
    expect((error as RheoError).message).toBe(
      'project fraud is not valid:\n' +
        '  feature group card_activity: entity "card" is not declared (entities: none)\n' +
        '  feature group merchant_risk: entity "merchant" is not declared (entities: none)\n' +
        '  model fraud_detector: entity "card" is not declared\n' +
        '  model fraud_detector: entityKeys.merchant: entity "merchant" is not declared',
    );
    expect((error as RheoError).details?.problems).toHaveLength(4);
  });

  it('fills what a model leaves out from the documented defaults', () => {
    expect(driftOf({ drift: { thresholds: { warn: 0.05, alert: 0.3 } } })).toEqual({
      ...DRIFT_DEFAULTS,
      thresholds: { warn: 0.05, alert: 0.3 },
    });
    expect(toTrainingSpec(withModel({ training: {} }), 'fraud_detector')).toMatchObject({
      maxMissingRate: TRAINING_DEFAULTS.maxMissingRate,
      trials: TRAINING_DEFAULTS.trials,
      search: TRAINING_DEFAULTS.search,
    });
  });
});
