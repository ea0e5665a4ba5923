/**
 * The fraud model's request-time inputs: what only exists while a payment is being scored, so it
 * arrives with the prediction request instead of from a topic (no topic, online entry or table; the
 * prediction event records them).
 */
import type { RequestSourceDecl } from '../../../features/declaration.ts';

export const transactionRequest = Object.freeze({
  name: 'transaction',
  description: 'The payment being scored, as the gateway receives it.',
  features: Object.freeze([
    { name: 'amount', type: 'double', description: 'Amount of the payment, in EUR.' },
    { name: 'hour_of_day', type: 'long', description: 'Hour of the payment in UTC, 0..23.' },
    { name: 'distance_from_home_km', type: 'double', description: 'Distance from the card holder’s home, in km.' },
  ] as const),
} as const satisfies RequestSourceDecl);
