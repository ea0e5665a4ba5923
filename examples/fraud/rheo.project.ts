/**
 * The fraud domain as an ordinary Rheo project: entities `card` and `merchant`, the feature groups
 * and request inputs of `features/groups/`, and the `fraud_detector` model of `trainers/specs/`,
 * loaded the way a user's project is (`loadProject('examples/fraud')`). The groups and the model's
 * training knobs are imported from where the services still read them, so there is one declaration;
 * inside this repository the helpers are imported by relative path (a user's project imports `rheo`).
 */
import { cardActivity, merchantRisk, transactionRequest } from '../../features/groups/index.ts';
import { defineProject } from '../../projects/declaration.ts';
import { fraudDetector } from '../../trainers/specs/fraud-detector.ts';

const { decision, gate } = fraudDetector;
if (!decision) throw new Error('fraud_detector declares no decision rule');

export default defineProject({
  name: 'fraud',
  description: 'Card-payment fraud: the demo domain of Rheo.',
  entities: [
    { name: 'card', description: 'A payment card; its id is the card number token.', key: 'string' },
    { name: 'merchant', description: 'A merchant accepting card payments.', key: 'string' },
  ],
  featureGroups: [cardActivity, merchantRisk],
  requestInputs: [transactionRequest],
  models: [
    {
      name: fraudDetector.model,
      description: fraudDetector.description,
      owner: fraudDetector.owner,
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
      request: transactionRequest.name,
      labels: { from: 'predictions', topic: 'feedback' },
      task: {
        type: 'binary',
        positiveLabel: decision.positiveLabel,
        negativeLabel: decision.negativeLabel,
        threshold: decision.threshold,
      },
      training: {
        lookbackDays: fraudDetector.lookbackDays,
        maxRows: fraudDetector.maxRows,
        minRows: fraudDetector.minRows,
        maxMissingRate: fraudDetector.maxMissingRate,
        split: fraudDetector.split,
        defaults: fraudDetector.defaults,
        search: fraudDetector.search,
        trials: fraudDetector.trials,
      },
      gate: {
        action: gate.action,
        firstVersion: gate.firstVersion,
        metric: gate.metric,
        ...(gate.minimum === undefined ? {} : { minimum: gate.minimum }),
        maxRegression: gate.maxRegression,
      },
      drift: {
        bins: 10,
        window: { sizeMs: 3_600_000, slideMs: 3_600_000, latenessMs: 300_000 },
        thresholds: { warn: 0.1, alert: 0.25 },
        minSamples: 200,
        cooldownMs: 24 * 3_600_000,
      },
      rollout: {
        shadow: { predictions: 1_000 },
        canary: { percent: gate.canaryPercent, steps: [25, 50, 100] },
        promote: { metric: 'auc', maxRegression: 0.01, minLabels: 500 },
        rollback: { maxErrorRate: 0.02, maxLatencyP99Ms: 50 },
        requireApproval: false,
      },
      intendedUse: fraudDetector.intendedUse,
      limitations: fraudDetector.limitations,
    },
  ],
});
