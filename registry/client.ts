/**
 * The registry's Kafka-backed writer (`RegistryWriter`): decide a command against the folded state
 * (refusing illegal ones with no event), produce its events to `models.lifecycle` in one batch
 * (acks=all, one partition, so they are appended together), then read them back through the follower
 * — so the caller gets the state that includes its own decision, or an error if a concurrent command
 * won the race.
 */
import type { RheoConfig } from '../kernel/config.ts';
import { createKafka, createProducer, type Kafka, type Producer } from '../kernel/kafka.ts';
import type { Logger } from '../kernel/log.ts';
import {
  CONTRACTS,
  type ModelLifecycleEvent,
  type ModelLifecycleEventInput,
  SchemaCodec,
  type TopicCodec,
} from '../schemas/index.ts';
import type { ArtifactStore } from '../serving/artifacts/store.ts';
import { TOPICS } from '../topics/catalogue.ts';
import { decide, type RegistryCommand } from './commands.ts';
import { RegistryFollower } from './follower.ts';
import { DEFAULT_POLICY, type RegistryPolicy, type RegistryState } from './types.ts';
import {
  assertApplied,
  type CommandResult,
  type RegisterRequest,
  type RegisterResult,
  type RegistryWriter,
  storeAndRegister,
} from './writer.ts';

export interface RegistryClientOptions {
  kafka: Kafka;
  codec: SchemaCodec;
  logger: Logger;
  policy?: RegistryPolicy;
  /** A running follower to share (the gateway's); otherwise the client starts its own. */
  follower?: RegistryFollower;
}

export class RegistryClient implements RegistryWriter {
  readonly follower: RegistryFollower;
  readonly #codec: SchemaCodec;
  readonly #kafka: Kafka;
  readonly #log: Logger;
  readonly #policy: RegistryPolicy;
  readonly #ownsFollower: boolean;
  #producer: Producer | undefined;
  #topic: TopicCodec<ModelLifecycleEvent, ModelLifecycleEventInput> | undefined;
  /** The start in flight, so a close that races it waits and then disconnects what it connected. */
  #starting: Promise<void> | undefined;
  #closed = false;

  constructor(options: RegistryClientOptions) {
    this.#kafka = options.kafka;
    this.#codec = options.codec;
    this.#log = options.logger.child({ component: 'registry-client' });
    this.#policy = options.policy ?? DEFAULT_POLICY;
    this.#ownsFollower = !options.follower;
    this.follower =
      options.follower ??
      new RegistryFollower({ kafka: options.kafka, codec: options.codec, logger: options.logger, policy: this.#policy });
  }

  /** A client on the configured cluster, with its own follower, caught up. */
  static async connect(config: RheoConfig, logger: Logger): Promise<RegistryClient> {
    const client = new RegistryClient({
      kafka: createKafka(config.kafka, logger, 'registry'),
      codec: SchemaCodec.fromConfig(config.registry),
      logger,
    });
    await client.start();
    return client;
  }

  start(): Promise<void> {
    if (this.#closed) return Promise.reject(new Error('registry client closed'));
    const starting = this.#start();
    this.#starting = starting.catch(() => undefined);
    return starting;
  }

  async #start(): Promise<void> {
    this.#topic = await this.#codec.forTopic(TOPICS.modelsLifecycle.name, CONTRACTS.ModelLifecycleEvent);
    if (this.#closed) throw new Error('registry client closed');
    const producer = createProducer(this.#kafka);
    this.#producer = producer;
    await producer.connect();
    if (this.#closed) throw new Error('registry client closed');
    if (this.#ownsFollower) await this.follower.start();
    await this.follower.waitUntilCaughtUp();
  }

  get state(): RegistryState {
    return this.follower.state;
  }

  /** Decides, produces and reads back a command. Throws (producing nothing) when it breaks a rule. */
  async execute(command: RegistryCommand): Promise<CommandResult> {
    if (!this.#producer || !this.#topic) throw new Error('registry client not started');
    const events = decide(this.follower.state, command, { policy: this.#policy });
    await this.#producer.send({
      topic: TOPICS.modelsLifecycle.name,
      acks: -1,
      messages: events.map((event) => ({
        key: event.model_name,
        value: (this.#topic as TopicCodec<ModelLifecycleEvent, ModelLifecycleEventInput>).encode(event),
      })),
    });
    const state = await this.follower.waitForEvents(events.map((e) => e.event_id));
    assertApplied(state, events);
    this.#log.info(
      { command: command.kind, model: command.model, events: events.map((e) => e.event_type) },
      'registry command applied',
    );
    return { events, state };
  }

  /** Stores the artifact (content-addressed) and registers the version pointing at it. */
  register(store: ArtifactStore, bytes: Uint8Array, request: RegisterRequest): Promise<RegisterResult> {
    return storeAndRegister(this, store, bytes, request);
  }

  async close(): Promise<void> {
    // A start still connecting would otherwise leave a live producer behind and keep the process up.
    this.#closed = true;
    await this.#starting;
    await this.#producer?.disconnect().catch(() => undefined);
    if (this.#ownsFollower) await this.follower.stop();
  }
}
