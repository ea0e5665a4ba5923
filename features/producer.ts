/**
 * The typed producer for applications: feature events of one declared group to `features.<group>`,
 * validated against the declaration, keyed by entity id, Avro through the registry.
 *
 *   const producer = await FeatureProducer.create(config, cardActivity);
 *   await producer.send([{ entity_id: 'card-7', txn_count_1h: 2, txn_count_24h: 9, amount_avg_7d: 41.5, event_time: Date.now() }]);
 *   await producer.close();
 *
 * `event_id` and `created_time` are filled in when absent; a correction re-sends the same
 * `event_time` with a later `created_time`. Creating the producer registers the group's schema (BACKWARD;
 * an incompatible declaration fails here, before anything is produced).
 */
import type { RheoConfig } from '../kernel/config.ts';
import { RheoError } from '../kernel/errors.ts';
import { createKafka, createProducer, type Kafka, type Producer, type ProducerMessage } from '../kernel/kafka.ts';
import type { Logger } from '../kernel/log.ts';
import {
  type FeatureEvent,
  type FeatureEventInput,
  featureGroupContract,
  SchemaCodec,
  type TopicCodec,
} from '../schemas/index.ts';
import { featureTopic } from '../topics/catalogue.ts';
import type { FeatureGroupDecl } from './declaration.ts';
import { type FeatureEventRecord, parseFeatureInput } from './input.ts';

/** What an application sends: the group's typed event; `event_id` and `created_time` optional. */
export type FeatureProduceInput<D extends FeatureGroupDecl> = Omit<FeatureEventInput<D>, 'event_id' | 'created_time'> & {
  event_id?: string;
  created_time?: number;
};

export class FeatureProducer<D extends FeatureGroupDecl> {
  readonly group: D;
  readonly topic: string;
  readonly #codec: TopicCodec<FeatureEvent<D>, FeatureEventInput<D>>;
  readonly #producer: Producer;
  readonly #ownsProducer: boolean;

  private constructor(group: D, codec: TopicCodec<FeatureEvent<D>, FeatureEventInput<D>>, producer: Producer, owns: boolean) {
    this.group = group;
    this.topic = featureTopic(group.name).name;
    this.#codec = codec;
    this.#producer = producer;
    this.#ownsProducer = owns;
  }

  static async create<const D extends FeatureGroupDecl>(
    config: RheoConfig,
    group: D,
    deps: { logger?: Logger; kafka?: Kafka; producer?: Producer; codec?: SchemaCodec } = {},
  ): Promise<FeatureProducer<D>> {
    const codec = deps.codec ?? SchemaCodec.fromConfig(config.registry);
    const topicCodec = await codec.forTopic(featureTopic(group.name).name, featureGroupContract(group));
    const producer =
      deps.producer ?? createProducer(deps.kafka ?? createKafka(config.kafka, deps.logger, `features-${group.name}`));
    if (!deps.producer) await producer.connect();
    return new FeatureProducer(group, topicCodec, producer, !deps.producer);
  }

  /** Checks and encodes one event (sync); RheoError BAD_REQUEST or SCHEMA_VALIDATION_FAILED names what is wrong. */
  encode(event: FeatureProduceInput<D> | Readonly<Record<string, unknown>>): ProducerMessage {
    const parsed = parseFeatureInput(this.group, event as Record<string, unknown>);
    if ('problems' in parsed)
      throw new RheoError('BAD_REQUEST', `not a valid ${this.group.name} event: ${parsed.problems.join('; ')}`, {
        details: { problems: parsed.problems },
      });
    return this.encodeChecked(parsed.event);
  }

  /** Encodes an event `parseFeatureInput` already accepted. */
  encodeChecked(event: FeatureEventRecord): ProducerMessage {
    return { key: event.entity_id, value: this.#codec.encode(event as unknown as FeatureEventInput<D>) };
  }

  /** Sends events (all brokers in sync, acks=all); resolves once Kafka acknowledged every one. */
  async send(events: ReadonlyArray<FeatureProduceInput<D>>): Promise<{ sent: number }> {
    const messages = events.map((event) => this.encode(event));
    await this.sendMessages(messages);
    return { sent: messages.length };
  }

  async sendMessages(messages: ProducerMessage[], batchSize = 1000): Promise<void> {
    for (let i = 0; i < messages.length; i += batchSize)
      await this.#producer.send({ topic: this.topic, acks: -1, messages: messages.slice(i, i + batchSize) });
  }

  async close(): Promise<void> {
    if (this.#ownsProducer) await this.#producer.disconnect();
  }
}
