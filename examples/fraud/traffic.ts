/**
 * Live traffic of the fraud domain, as a payment system would send it to a running Rheo: every payment
 * happens now (event time = the clock, so no feature is ever "from the future"), its card and merchant
 * features go to their feature topics (the streaming feature job, `FeatureJob`), and a moment later it
 * is scored — most through `predictions.requests` (the streaming scorer), a share through the
 * gateway's HTTP API. Its fraud label follows after `labelDelayMs` on `feedback`, keyed by the
 * prediction id it got. `shift` changes the distribution (amounts inflate), as the world does.
 *
 * Only Rheo's public surfaces are used: Kafka topics with their registered Avro contracts, and HTTP.
 */
import { randomUUID } from 'node:crypto';
import { FeatureProducer } from '../../features/producer.ts';
import type { RheoConfig } from '../../kernel/config.ts';
import { createKafka, createProducer, type Producer } from '../../kernel/kafka.ts';
import type { Logger } from '../../kernel/log.ts';
import { rng } from '../../kernel/random.ts';
import { CONTRACTS, type FeedbackInput, type PredictionRequestInput, SchemaCodec, type TopicCodec } from '../../schemas/index.ts';
import { TOPICS } from '../../topics/catalogue.ts';
import { FeatureJob } from './feature-events.ts';
import { cardActivity, merchantRisk } from './features/index.ts';
import { fraudSignal, type Transaction, transactions } from './generator.ts';

export interface TrafficOptions {
  model: string;
  seed: number;
  /** Payments per second. */
  ratePerS: number;
  /** Share of payments scored through the gateway (the rest through the streaming scorer). */
  gatewayShare: number;
  gatewayUrl: string;
  apiKey: string;
  /** How long after a payment its label is known. */
  labelDelayMs: number;
  /** How long after its features a payment is scored (the materializer lands them meanwhile). */
  scoreDelayMs?: number;
}

export interface TrafficStats {
  payments: number;
  viaScorer: number;
  viaGateway: number;
  gatewayErrors: number;
  labels: number;
  frauds: number;
  amountInflation: number;
  lastError: string | null;
}

interface Pending {
  at: number;
  run: () => Promise<void>;
}

export class FraudTraffic {
  readonly #options: TrafficOptions;
  readonly #log: Logger;
  readonly #producer: Producer;
  readonly #cards: FeatureProducer<typeof cardActivity>;
  readonly #merchants: FeatureProducer<typeof merchantRisk>;
  readonly #requests: TopicCodec<unknown, PredictionRequestInput>;
  readonly #feedback: TopicCodec<unknown, FeedbackInput>;
  readonly #features: FeatureJob;
  readonly #payments: Generator<Transaction>;
  readonly #random: () => number;
  readonly #queue: Pending[] = [];
  readonly #stats: TrafficStats = {
    payments: 0,
    viaScorer: 0,
    viaGateway: 0,
    gatewayErrors: 0,
    labels: 0,
    frauds: 0,
    amountInflation: 1,
    lastError: null,
  };
  #timer: NodeJS.Timeout | undefined;
  #inFlight: Promise<void> = Promise.resolve();
  #last = Date.now();
  #carry = 0;

  private constructor(
    options: TrafficOptions,
    log: Logger,
    parts: {
      producer: Producer;
      cards: FeatureProducer<typeof cardActivity>;
      merchants: FeatureProducer<typeof merchantRisk>;
      requests: TopicCodec<unknown, PredictionRequestInput>;
      feedback: TopicCodec<unknown, FeedbackInput>;
    },
  ) {
    this.#options = options;
    this.#log = log;
    this.#producer = parts.producer;
    this.#cards = parts.cards;
    this.#merchants = parts.merchants;
    this.#requests = parts.requests;
    this.#feedback = parts.feedback;
    this.#features = new FeatureJob({ chargebackDelayMs: options.labelDelayMs, merchantOnFirst: true });
    this.#payments = transactions({ seed: options.seed, meanGapMs: 1 });
    this.#random = rng(options.seed + 1);
  }

  static async connect(config: RheoConfig, logger: Logger, options: TrafficOptions): Promise<FraudTraffic> {
    const kafka = createKafka(config.kafka, logger, 'traffic');
    const codec = SchemaCodec.fromConfig(config.registry);
    const producer = createProducer(kafka);
    await producer.connect();
    const cards = await FeatureProducer.create(config, cardActivity, { kafka, codec });
    const merchants = await FeatureProducer.create(config, merchantRisk, { kafka, codec });
    const requests = await codec.forTopic(TOPICS.predictionRequests.name, CONTRACTS.PredictionRequest);
    const feedback = await codec.forTopic(TOPICS.feedback.name, CONTRACTS.Feedback);
    return new FraudTraffic(options, logger.child({ component: 'traffic' }), { producer, cards, merchants, requests, feedback });
  }

  get stats(): Readonly<TrafficStats> {
    return { ...this.#stats };
  }

  /** From now on amounts are `inflation` times larger (fraud follows the known signal on the new amounts). */
  shift(inflation: number): void {
    this.#stats.amountInflation = inflation;
  }

  start(): void {
    if (this.#timer) return;
    this.#last = Date.now();
    this.#timer = setInterval(() => {
      // One tick at a time: a slow broker slows the traffic rather than piling it up.
      this.#inFlight = this.#inFlight.then(() => this.#tick()).catch((error: unknown) => this.#fail(error));
    }, 100);
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#inFlight;
    await Promise.allSettled([this.#producer.disconnect(), this.#cards.close(), this.#merchants.close()]);
  }

  #fail(error: unknown): void {
    this.#stats.lastError = error instanceof Error ? error.message : String(error);
    this.#log.warn({ err: this.#stats.lastError }, 'traffic tick failed');
  }

  async #tick(): Promise<void> {
    const now = Date.now();
    const due = (this.#options.ratePerS * (now - this.#last)) / 1000 + this.#carry;
    this.#last = now;
    const count = Math.floor(due);
    this.#carry = due - count;
    const payments: Transaction[] = [];
    for (let i = 0; i < count; i++) payments.push(this.#payment(now));
    if (payments.length > 0) {
      const events = payments.flatMap((t) => this.#features.next(t));
      const of = (group: string) => events.filter((e) => e.group === group).map((e) => e.event);
      await Promise.all([
        this.#cards.sendMessages(of('card_activity').map((e) => this.#cards.encodeChecked(e))),
        this.#merchants.sendMessages(of('merchant_risk').map((e) => this.#merchants.encodeChecked(e))),
      ]);
      const scoreAt = now + (this.#options.scoreDelayMs ?? 300);
      this.#queue.push({ at: scoreAt, run: () => this.#score(payments) });
    }
    while (this.#queue.length > 0 && (this.#queue[0] as Pending).at <= now) await (this.#queue.shift() as Pending).run();
  }

  #payment(now: number): Transaction {
    const t = this.#payments.next().value as Transaction;
    const amount = Math.round(t.amount * this.#stats.amountInflation * 100) / 100;
    const hourOfDay = new Date(now).getUTCHours();
    const fraudProbability = fraudSignal({ ...t, amount, hourOfDay });
    const isFraud = this.#random() < fraudProbability;
    this.#stats.payments++;
    if (isFraud) this.#stats.frauds++;
    return { ...t, transactionId: randomUUID(), amount, hourOfDay, eventTime: now, fraudProbability, isFraud };
  }

  /** Scores the payments (scorer or gateway), then schedules their labels. */
  async #score(payments: Transaction[]): Promise<void> {
    const viaGateway: Transaction[] = [];
    const viaScorer: Transaction[] = [];
    for (const t of payments) (this.#random() < this.#options.gatewayShare ? viaGateway : viaScorer).push(t);
    const labels: Array<{ predictionId: string; t: Transaction }> = viaScorer.map((t) => ({ predictionId: t.transactionId, t }));
    if (viaScorer.length > 0) {
      await this.#producer.send({
        topic: TOPICS.predictionRequests.name,
        acks: -1,
        messages: viaScorer.map((t) => ({ key: t.cardId, value: this.#requests.encode(this.#request(t)) })),
      });
      this.#stats.viaScorer += viaScorer.length;
    }
    // Concurrent, as independent clients would call: one slow answer does not hold up the tick's others.
    const ids = await Promise.all(viaGateway.map((t) => this.#predictThroughGateway(t)));
    viaGateway.forEach((t, i) => {
      const id = ids[i];
      if (id) labels.push({ predictionId: id, t });
    });
    const at = Date.now() + this.#options.labelDelayMs;
    if (labels.length > 0) this.#queue.push({ at, run: () => this.#label(labels) });
    this.#queue.sort((a, b) => a.at - b.at);
  }

  #request(t: Transaction): PredictionRequestInput {
    return {
      // The request id is the prediction id the label will quote.
      event_id: t.transactionId,
      event_time: t.eventTime,
      entity_id: t.cardId,
      model_name: this.#options.model,
      model_version: null,
      inputs: {
        amount: t.amount,
        hour_of_day: t.hourOfDay,
        distance_from_home_km: t.distanceFromHomeKm,
        merchant_id: t.merchantId,
      },
      source: 'fraud-traffic',
    };
  }

  async #predictThroughGateway(t: Transaction): Promise<string | undefined> {
    try {
      const response = await fetch(`${this.#options.gatewayUrl}/v1/predict`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-api-key': this.#options.apiKey },
        body: JSON.stringify({
          model: this.#options.model,
          entity_id: t.cardId,
          entities: { card: t.cardId, merchant: t.merchantId },
          inputs: { amount: t.amount, hour_of_day: t.hourOfDay, distance_from_home_km: t.distanceFromHomeKm },
          request_time: t.eventTime,
        }),
        signal: AbortSignal.timeout(5_000),
      });
      const body = (await response.json().catch(() => ({}))) as { predictions?: Array<{ prediction_id?: string }> };
      const id = body.predictions?.[0]?.prediction_id;
      if (!response.ok || !id) {
        this.#stats.gatewayErrors++;
        return undefined;
      }
      this.#stats.viaGateway++;
      return id;
    } catch {
      this.#stats.gatewayErrors++;
      return undefined;
    }
  }

  async #label(labels: Array<{ predictionId: string; t: Transaction }>): Promise<void> {
    const now = Date.now();
    await this.#producer.send({
      topic: TOPICS.feedback.name,
      acks: -1,
      messages: labels.map(({ predictionId, t }) => ({
        key: predictionId,
        value: this.#feedback.encode({
          event_id: randomUUID(),
          event_time: now,
          prediction_id: predictionId,
          entity_id: t.cardId,
          label: t.isFraud ? 1 : 0,
          observed_time: now,
          label_source: 'chargeback',
        }),
      })),
    });
    this.#stats.labels += labels.length;
  }
}
