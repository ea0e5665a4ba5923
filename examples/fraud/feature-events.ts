/**
 * Feature events of the demo's groups, computed from the generator's transactions the way a
 * streaming feature job would: `card_activity` after every transaction of a card (counts over 1 h and
 * 24 h, mean amount over 7 days), `merchant_risk` after every 5th transaction at a merchant
 * (chargeback rate over 30 days, counting only chargebacks already reported by then, so the feature
 * never knows a label before it exists). Event ids derive from the transaction, so producing the same
 * transactions twice yields the same events (and the stores keep one copy).
 */
import { createHash } from 'node:crypto';
import type { FeatureEventRecord } from '../../features/input.ts';
import type { Transaction } from './generator.ts';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

export interface DemoFeatureEvent {
  group: 'card_activity' | 'merchant_risk';
  event: FeatureEventRecord;
}

export interface FeatureEventOptions {
  /** How long after a transaction its features are produced (created_time − event_time); default 20 ms. */
  computeDelayMs?: number;
  /** How long after a fraudulent transaction its chargeback is known; default 1 h. */
  chargebackDelayMs?: number;
  /** Emit merchant_risk every n-th transaction of a merchant; default 5. */
  merchantEvery?: number;
}

/** A UUID-shaped id derived from a name (stable across runs). */
export function stableId(name: string): string {
  const hex = createHash('sha1').update(name).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-${((Number.parseInt(hex[16] as string, 16) & 0x3) | 0x8).toString(16)}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

export function* featureEvents(
  transactions: Iterable<Transaction>,
  options: FeatureEventOptions = {},
): Generator<DemoFeatureEvent> {
  const delay = options.computeDelayMs ?? 20;
  const chargebackDelay = options.chargebackDelayMs ?? HOUR;
  const every = options.merchantEvery ?? 5;
  const cards = new Map<string, Array<{ time: number; amount: number }>>();
  const merchants = new Map<string, { seen: number; history: Array<{ time: number; fraud: boolean }> }>();
  for (const tx of transactions) {
    const t = tx.eventTime;
    const history = cards.get(tx.cardId) ?? [];
    history.push({ time: t, amount: tx.amount });
    while (history.length > 0 && (history[0] as { time: number }).time <= t - 7 * DAY) history.shift();
    cards.set(tx.cardId, history);
    const within = (ms: number) => history.filter((h) => h.time > t - ms).length;
    yield {
      group: 'card_activity',
      event: {
        entity_id: tx.cardId,
        txn_count_1h: within(HOUR),
        txn_count_24h: within(DAY),
        amount_avg_7d: Math.round((history.reduce((sum, h) => sum + h.amount, 0) / history.length) * 100) / 100,
        event_time: t,
        created_time: t + delay,
        event_id: stableId(`card_activity/${tx.transactionId}`),
      },
    };

    const merchant = merchants.get(tx.merchantId) ?? { seen: 0, history: [] };
    merchant.seen++;
    merchant.history.push({ time: t, fraud: tx.isFraud });
    while (merchant.history.length > 0 && (merchant.history[0] as { time: number }).time <= t - 30 * DAY)
      merchant.history.shift();
    merchants.set(tx.merchantId, merchant);
    if (merchant.seen % every === 0) {
      const reported = merchant.history.filter((h) => h.fraud && h.time + chargebackDelay <= t).length;
      yield {
        group: 'merchant_risk',
        event: {
          entity_id: tx.merchantId,
          chargeback_rate_30d: Math.round((reported / merchant.history.length) * 10_000) / 10_000,
          txn_count_30d: merchant.history.length,
          category: tx.merchantCategory,
          event_time: t,
          created_time: t + delay,
          event_id: stableId(`merchant_risk/${tx.transactionId}`),
        },
      };
    }
  }
}
