/** Merchant risk: how often a merchant's payments turn out to be fraud, and what it sells. */
import { defineFeatureGroup } from '../../../features/declaration.ts';

export const merchantRisk = defineFeatureGroup({
  name: 'merchant_risk',
  entity: 'merchant',
  description: 'Chargeback history and category of a merchant, recomputed as its transactions are labelled.',
  owner: 'risk-team',
  version: 1,
  ttlSeconds: 30 * 24 * 3600,
  features: [
    {
      name: 'chargeback_rate_30d',
      type: 'double',
      description: 'Share of the merchant’s transactions over 30 days that were charged back (0..1).',
    },
    { name: 'txn_count_30d', type: 'long', description: 'Transactions at the merchant over the last 30 days.' },
    { name: 'category', type: 'string', description: 'Merchant category, e.g. grocery, travel, online.' },
  ],
} as const);
