/**
 * The demo domain's model: card-payment fraud. Request-time inputs of the payment, the card's recent
 * activity and the merchant's chargeback history, all as of the payment's time. The merchant's id
 * is read from the labeled prediction's `merchant_id` input (the prediction is keyed by card).
 */
import { transactionRequest } from '../../features/groups/request-inputs.ts';
import { TRAINER_DEFAULTS, type TrainingSpec } from '../spec.ts';

export const fraudDetector: TrainingSpec = {
  model: 'fraud_detector',
  description:
    'Scores card payments with the probability that they are fraudulent, from the payment itself, the card’s recent activity and the merchant’s chargeback history.',
  owner: 'fraud-team',
  task: 'binary',
  entity: 'card',
  entityKeys: { merchant: 'merchant_id' },
  features: [
    'amount',
    'hour_of_day',
    'distance_from_home_km',
    'card_activity:txn_count_1h',
    'card_activity:txn_count_24h',
    'card_activity:amount_avg_7d',
    'merchant_risk:chargeback_rate_30d',
  ],
  requestInputs: transactionRequest,
  labels: 'predictions',
  outputName: 'probability',
  decision: { threshold: 0.5, positiveLabel: 'fraud', negativeLabel: 'legit' },
  ...TRAINER_DEFAULTS,
  gate: {
    action: 'canary',
    firstVersion: 'promote',
    metric: 'auc',
    minimum: 0.65,
    maxRegression: 0.01,
    canaryPercent: 10,
  },
  intendedUse: 'Ranking card payments for review or step-up authentication; not a sole basis for declining a payment.',
  limitations:
    'Trained on labels known at training time: chargebacks arrive late, so the newest weeks under-count fraud. Merchant features need the merchant id with each prediction; where it is missing the training mean stands in. Not validated for card-present fraud.',
};
