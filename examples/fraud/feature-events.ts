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
  /** Also emit it on a merchant's first transaction, so a new merchant has features before it is scored (live traffic). */
  merchantOnFirst?: boolean;
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
  const job = new FeatureJob(options);
  for (const tx of transactions) yield* job.next(tx);
}

/** The streaming feature job, one transaction at a time (live traffic feeds it as payments happen). */
export class FeatureJob {
  readonly #delay: number;
  readonly #chargebackDelay: number;
  readonly #every: number;
  readonly #onFirst: boolean;
  readonly #cards = new Map<string, Array<{ time: number; amount: number }>>();
  readonly #merchants = new Map<string, { seen: number; history: Array<{ time: number; fraud: boolean }> }>();

  constructor(options: FeatureEventOptions = {}) {
    this.#delay = options.computeDelayMs ?? 20;
    this.#chargebackDelay = options.chargebackDelayMs ?? HOUR;
    this.#every = options.merchantEvery ?? 5;
    this.#onFirst = options.merchantOnFirst ?? false;
  }

  /** The feature events a transaction causes: its card's, and every n-th time its merchant's. */
  next(tx: Transaction): DemoFeatureEvent[] {
    const out: DemoFeatureEvent[] = [];
    const t = tx.eventTime;
    const delay = this.#delay;
    const history = this.#cards.get(tx.cardId) ?? [];
    history.push({ time: t, amount: tx.amount });
    while (history.length > 0 && (history[0] as { time: number }).time <= t - 7 * DAY) history.shift();
    this.#cards.set(tx.cardId, history);
    const within = (ms: number) => history.filter((h) => h.time > t - ms).length;
    out.push({
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
    });

    const merchant = this.#merchants.get(tx.merchantId) ?? { seen: 0, history: [] };
    merchant.seen++;
    merchant.history.push({ time: t, fraud: tx.isFraud });
    while (merchant.history.length > 0 && (merchant.history[0] as { time: number }).time <= t - 30 * DAY)
      merchant.history.shift();
    this.#merchants.set(tx.merchantId, merchant);
    if (merchant.seen % this.#every === 0 || (this.#onFirst && merchant.seen === 1)) {
      const reported = merchant.history.filter((h) => h.fraud && h.time + this.#chargebackDelay <= t).length;
      out.push({
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
      });
    }
    return out;
  }
}
