/**
 * The demo's one domain: card payments and fraud. A seeded generator of transactions with a known
 * signal (fraud is likelier for large amounts, night hours and far-from-home payments, and at risky
 * merchants), so tests, benchmarks and the demo loop can check that models learn what is there.
 */
import { rng } from '../../kernel/random.ts';

export interface Transaction {
  transactionId: string;
  cardId: string;
  merchantId: string;
  merchantCategory: string;
  amount: number;
  hourOfDay: number;
  distanceFromHomeKm: number;
  merchantRisk: number;
  eventTime: number;
  /** The generator's true fraud probability (the signal). */
  fraudProbability: number;
  isFraud: boolean;
}

export interface GeneratorOptions {
  seed: number;
  cards?: number;
  merchants?: number;
  startTime?: number;
  /** Mean gap between transactions, ms. */
  meanGapMs?: number;
  /** Multiplies every amount: the demo's distribution shift. */
  amountInflation?: number;
}

const CATEGORIES = ['grocery', 'fuel', 'electronics', 'travel', 'restaurants', 'online'] as const;

/** Logistic of the known signal; exported so tests can compare a model's scores with the truth. */
export function fraudSignal(t: Pick<Transaction, 'amount' | 'hourOfDay' | 'distanceFromHomeKm' | 'merchantRisk'>): number {
  const night = t.hourOfDay < 6 ? 1 : 0;
  const z = -4.2 + 0.9 * Math.log1p(t.amount / 50) + 1.1 * night + 0.012 * t.distanceFromHomeKm + 3.0 * t.merchantRisk;
  return 1 / (1 + Math.exp(-z));
}

export function* transactions(options: GeneratorOptions): Generator<Transaction> {
  const random = rng(options.seed);
  const cards = options.cards ?? 500;
  const merchants = options.merchants ?? 80;
  const inflation = options.amountInflation ?? 1;
  const merchantRisk = Array.from({ length: merchants }, () => random() ** 3);
  const merchantCategory = Array.from(
    { length: merchants },
    () => CATEGORIES[Math.floor(random() * CATEGORIES.length)] as string,
  );
  let time = options.startTime ?? Date.UTC(2026, 10, 1);
  const meanGap = options.meanGapMs ?? 1_000;
  for (let i = 0; ; i++) {
    time += Math.round(-Math.log(1 - random()) * meanGap);
    const card = Math.floor(random() * cards);
    const merchant = Math.floor(random() * merchants);
    // Log-normal amounts around 40, with a long tail.
    const amount = Math.round(Math.exp(3.7 + 0.9 * gaussian(random)) * inflation * 100) / 100;
    const hourOfDay = new Date(time).getUTCHours();
    const distanceFromHomeKm = Math.round(-Math.log(1 - random()) * 15 * 10) / 10;
    const base = { amount, hourOfDay, distanceFromHomeKm, merchantRisk: merchantRisk[merchant] as number };
    const fraudProbability = fraudSignal(base);
    yield {
      transactionId: `tx-${options.seed}-${i}`,
      cardId: `card-${card}`,
      merchantId: `merchant-${merchant}`,
      merchantCategory: merchantCategory[merchant] as string,
      ...base,
      eventTime: time,
      fraudProbability,
      isFraud: random() < fraudProbability,
    };
  }
}

function gaussian(random: () => number): number {
  // Box–Muller; 1 - random() avoids log(0).
  return Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
}

export function take<T>(iterable: Iterable<T>, count: number): T[] {
  const out: T[] = [];
  for (const item of iterable) {
    if (out.length >= count) break;
    out.push(item);
  }
  return out;
}
