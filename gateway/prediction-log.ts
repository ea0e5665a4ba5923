/**
 * The gateway's prediction log: every prediction goes to the `predictions` topic, but a reply never
 * waits for Kafka. `append` only queues (bounded); a background loop encodes and produces batches
 * (idempotent producer, acks=all). While Kafka is unreachable the queue holds what fits; what does not
 * fit, or what Kafka finally refuses, is dropped and counted (`rheo_gateway_predictions_lost_total`)
 * — a loss is visible, never hidden, and never slows the answers.
 */
import { errorMessage } from '../kernel/errors.ts';
import { createProducer, type Kafka, type Producer } from '../kernel/kafka.ts';
import type { Logger } from '../kernel/log.ts';
import { Counter, Gauge, type Registry } from '../kernel/metrics.ts';
import { retry } from '../kernel/retry.ts';
import type { Prediction, PredictionInput, TopicCodec } from '../schemas/index.ts';

export interface PredictionLogOptions {
  kafka: Kafka;
  /** Resolves the `predictions` codec (registers the schema); retried until it works. */
  codec: () => Promise<TopicCodec<Prediction, PredictionInput>>;
  logger: Logger;
  metrics: Registry;
  /** Predictions held while Kafka is slow or away; beyond it, the oldest are dropped and counted. */
  maxBuffered?: number;
  maxBatch?: number;
  flushIntervalMs?: number;
}

export interface PredictionSink {
  append(prediction: PredictionInput): void;
}

export class PredictionLog implements PredictionSink {
  readonly #options: Required<Omit<PredictionLogOptions, 'kafka' | 'codec' | 'logger' | 'metrics'>>;
  readonly #kafka: Kafka;
  readonly #resolveCodec: () => Promise<TopicCodec<Prediction, PredictionInput>>;
  readonly #log: Logger;
  readonly #logged: Counter;
  readonly #lost: Counter<'reason'>;
  readonly #buffered: Gauge;
  readonly #connected: Gauge;
  #queue: PredictionInput[] = [];
  #producer: Producer | undefined;
  #codec: TopicCodec<Prediction, PredictionInput> | undefined;
  #ready = false;
  #stopping = false;
  /** Aborted by `close`: ends the wait for Kafka at start. */
  readonly #closing = new AbortController();
  #wake: (() => void) | undefined;
  #loop: Promise<void> | undefined;
  #lostTotal = 0;
  #loggedTotal = 0;

  constructor(options: PredictionLogOptions) {
    this.#kafka = options.kafka;
    this.#resolveCodec = options.codec;
    this.#log = options.logger.child({ component: 'prediction-log' });
    this.#options = {
      maxBuffered: options.maxBuffered ?? 100_000,
      maxBatch: options.maxBatch ?? 2_000,
      flushIntervalMs: options.flushIntervalMs ?? 20,
    };
    this.#logged = new Counter({
      name: 'rheo_gateway_predictions_logged_total',
      help: 'Predictions acknowledged by Kafka.',
      registers: [options.metrics],
    });
    this.#lost = new Counter({
      name: 'rheo_gateway_predictions_lost_total',
      help: 'Predictions answered but never logged to Kafka, by reason (buffer_full, kafka_error, shutdown).',
      labelNames: ['reason'],
      registers: [options.metrics],
    });
    this.#buffered = new Gauge({
      name: 'rheo_gateway_prediction_log_buffered',
      help: 'Predictions waiting to be produced.',
      registers: [options.metrics],
    });
    this.#connected = new Gauge({
      name: 'rheo_gateway_prediction_log_connected',
      help: '1 when the prediction log reaches Kafka.',
      registers: [options.metrics],
    });
  }

  /** Starts the background loop; never waits for Kafka. */
  start(): void {
    this.#loop ??= this.#run();
  }

  get stats(): { logged: number; lost: number; buffered: number; connected: boolean } {
    return { logged: this.#loggedTotal, lost: this.#lostTotal, buffered: this.#queue.length, connected: this.#ready };
  }

  append(prediction: PredictionInput): void {
    if (this.#stopping) {
      this.#drop(1, 'shutdown');
      return;
    }
    if (this.#queue.length >= this.#options.maxBuffered) {
      // Keep the newest: drop the oldest one.
      this.#queue.shift();
      this.#drop(1, 'buffer_full');
    }
    this.#queue.push(prediction);
    if (this.#ready && this.#queue.length >= this.#options.maxBatch) this.#wake?.();
  }

  #drop(count: number, reason: 'buffer_full' | 'kafka_error' | 'shutdown'): void {
    this.#lost.inc({ reason }, count);
    this.#lostTotal += count;
  }

  async #connect(): Promise<void> {
    try {
      await retry(
        async () => {
          this.#codec ??= await this.#resolveCodec();
          const producer = createProducer(this.#kafka);
          await producer.connect();
          // Closed while connecting: `close` has already run, so this producer is ours to end.
          if (this.#closing.signal.aborted) {
            await producer.disconnect().catch(() => undefined);
            return;
          }
          this.#producer = producer;
        },
        {
          // Waits for Kafka as long as the gateway runs; every failure is worth another try.
          attempts: Number.POSITIVE_INFINITY,
          initialDelayMs: 250,
          maxDelayMs: 5_000,
          signal: this.#closing.signal,
          shouldRetry: () => true,
          onRetry: (error, attempt) => {
            this.#connected.set(0);
            if (attempt === 1 || attempt % 10 === 0)
              this.#log.warn(
                { attempt, err: errorMessage(error) },
                'prediction log cannot reach Kafka; predictions are answered and buffered',
              );
          },
        },
      );
    } catch (error) {
      // Closed before Kafka was reached: there is no producer, and the queue is counted lost by `close`.
      if (this.#closing.signal.aborted) return;
      throw error;
    }
    if (this.#closing.signal.aborted) return;
    this.#ready = true;
    this.#connected.set(1);
    this.#log.info('prediction log connected to Kafka');
  }

  #pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.#wake = done;
    });
  }

  async #run(): Promise<void> {
    await this.#connect();
    while (!this.#stopping || this.#queue.length > 0) {
      if (this.#queue.length === 0) {
        if (this.#stopping) break;
        await this.#pause(this.#options.flushIntervalMs);
        continue;
      }
      if (!this.#producer) break;
      const batch = this.#queue.splice(0, this.#options.maxBatch);
      this.#buffered.set(this.#queue.length);
      await this.#send(batch);
    }
  }

  async #send(batch: PredictionInput[]): Promise<void> {
    const codec = this.#codec as TopicCodec<Prediction, PredictionInput>;
    const messages: Array<{ key: string; value: Buffer }> = [];
    for (const p of batch) {
      try {
        messages.push({ key: p.entity_id, value: codec.encode(p) });
      } catch (error) {
        this.#drop(1, 'kafka_error');
        this.#log.error({ err: errorMessage(error) }, 'prediction does not encode; dropped');
      }
    }
    const producer = this.#producer as Producer;
    try {
      await retry(
        async ({ bail }) => {
          try {
            await producer.send({ topic: codec.topic, acks: -1, timeout: 5_000, messages });
          } catch (error) {
            this.#ready = false;
            this.#connected.set(0);
            // Keep trying while there is room to buffer behind this batch; give up on it when the queue is full or we stop.
            if (this.#stopping || this.#queue.length + messages.length > this.#options.maxBuffered) bail(error);
            throw error;
          }
        },
        { attempts: 20, initialDelayMs: 100, maxDelayMs: 2_000, shouldRetry: () => true },
      );
    } catch (error) {
      this.#drop(messages.length, 'kafka_error');
      this.#log.error({ lost: messages.length, err: errorMessage(error) }, 'predictions could not be produced; counted as lost');
      return;
    }
    this.#logged.inc(messages.length);
    this.#loggedTotal += messages.length;
    if (!this.#ready) {
      this.#ready = true;
      this.#connected.set(1);
      this.#log.info('prediction log reaches Kafka again');
    }
  }

  /** Flushes what is queued (up to `timeoutMs`), counts the rest as lost, disconnects. */
  async close(timeoutMs = 5_000): Promise<void> {
    this.#stopping = true;
    this.#closing.abort();
    this.#wake?.();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.#loop ?? Promise.resolve(),
      new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs))),
    ]);
    clearTimeout(timer);
    if (this.#queue.length > 0) this.#drop(this.#queue.splice(0).length, 'shutdown');
    await this.#producer?.disconnect().catch(() => undefined);
  }
}

/** Discards predictions (for tests and benchmarks that measure serving alone). */
export const discardPredictions: PredictionSink = { append() {} };
