/**
 * The fraud domain as an ordinary Rheo project: entities `card` and `merchant`, two feature groups
 * and the payment's request-time inputs (`features/`), and the `fraud_detector` model. Loaded the
 * way a user's project is (`loadProject('examples/fraud')`, `--project examples/fraud`); nothing in
 * Rheo's services names it. Inside this repository the helpers are imported by relative path (a
 * user's project imports `rheo`).
 */
import { defineProject } from '../../projects/declaration.ts';
import { cardActivity, merchantRisk, transactionRequest } from './features/index.ts';

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
      name: 'fraud_detector',
      description:
        'Scores card payments with the probability that they are fraudulent, from the payment itself, the card’s recent activity and the merchant’s chargeback history.',
      owner: 'fraud-team',
      entity: 'card',
      // The prediction is keyed by card; the merchant's id is read from the logged `merchant_id` input.
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
      task: { type: 'binary', positiveLabel: 'fraud', negativeLabel: 'legit', threshold: 0.5 },
      // training: the trainer's defaults as they are (TRAINING_DEFAULTS).
      // A passing version is staged and handed to the rollout controller (the policy below).
      gate: { action: 'rollout', firstVersion: 'promote', metric: 'auc', minimum: 0.65, maxRegression: 0.02 },
      drift: {
        bins: 10,
        window: { sizeMs: 3_600_000, slideMs: 3_600_000, latenessMs: 300_000 },
        thresholds: { warn: 0.1, alert: 0.25 },
        minSamples: 200,
        cooldownMs: 24 * 3_600_000,
      },
      // Sized for the demo's 30 payments/s: a few minutes from staged to promoted. Fraud labels are
      // rare (≈13%), so live AUC on a few hundred labels (and canary cards not production's) is noisy:
      // the margin is wider than the gate's.
      rollout: {
        shadow: { predictions: 300 },
        canary: { percent: 20, steps: [50, 100] },
        promote: { metric: 'auc', maxRegression: 0.08, minLabels: 300 },
        rollback: { maxErrorRate: 0.02, maxLatencyP99Ms: 250 },
        requireApproval: false,
      },
      intendedUse: 'Ranking card payments for review or step-up authentication; not a sole basis for declining a payment.',
      limitations:
        'Trained on labels known at training time: chargebacks arrive late, so the newest weeks under-count fraud. Merchant features need the merchant id with each prediction; where it is missing the training mean stands in. Not validated for card-present fraud.',
    },
  ],
});
