/**
 * Request-time inputs: features that only exist when a payment is being scored, so they arrive with
 * the prediction request instead of from a topic. Declared here, next to the materialized groups, so
 * the gateway, the model input schema and the trainers name and type them the same way; they have no
 * topic, no online entry and no offline table (the prediction event records them).
 */
import type { FeatureDecl } from '../declaration.ts';

export interface RequestSourceDecl {
  readonly name: string;
  readonly description: string;
  readonly features: readonly FeatureDecl[];
}

export const transactionRequest = Object.freeze({
  name: 'transaction',
  description: 'The payment being scored, as the gateway receives it.',
  features: Object.freeze([
    { name: 'amount', type: 'double', description: 'Amount of the payment, in EUR.' },
    { name: 'hour_of_day', type: 'long', description: 'Hour of the payment in UTC, 0..23.' },
    { name: 'distance_from_home_km', type: 'double', description: 'Distance from the card holder’s home, in km.' },
  ] as const),
} as const satisfies RequestSourceDecl);
