/** Card activity: how a card has been spending lately. Recomputed on every transaction of the card. */
import { defineFeatureGroup } from '../../../features/declaration.ts';

export const cardActivity = defineFeatureGroup({
  name: 'card_activity',
  entity: 'card',
  description: 'Recent spending of a payment card, recomputed from its transactions each time it is used.',
  owner: 'fraud-team',
  version: 1,
  // A card idle for a week has no recent activity worth serving; the 7-day average is the longest window.
  ttlSeconds: 7 * 24 * 3600,
  features: [
    {
      name: 'txn_count_1h',
      type: 'long',
      description: 'Transactions of the card in the hour up to the event, this one included.',
    },
    {
      name: 'txn_count_24h',
      type: 'long',
      description: 'Transactions of the card in the 24 hours up to the event, this one included.',
    },
    {
      name: 'amount_avg_7d',
      type: 'double',
      nullable: true,
      description: 'Mean transaction amount over the 7 days up to the event, in EUR; null before the first transaction.',
    },
  ],
} as const);
