/**
 * The registry's write side: decide a command against the folded state (refusing illegal ones with
 * no event), produce its events to `models.lifecycle` in one batch (acks=all, one partition, so they
 * are appended together), then read them back through the follower — so the caller gets the state
 * that includes its own decision, or an error if a concurrent command won the race.
 */
import type { RheoConfig } from '../kernel/config.ts';
import { RheoError } from '../kernel/errors.ts';
import { createKafka, createProducer, type Kafka, type Producer } from '../kernel/kafka.ts';
import type { Logger } from '../kernel/log.ts';
import {
  CONTRACTS,
  type ModelInput,
  type ModelLifecycleEvent,
  type ModelLifecycleEventInput,
  type ModelOutput,
  type ModelVersionRegistered,
  SchemaCodec,
  type TopicCodec,
} from '../schemas/index.ts';
import type { ArtifactStore } from '../serving/artifacts/store.ts';
import { TOPICS } from '../topics/catalogue.ts';
import { decide, type RegistryCommand } from './commands.ts';
import { RegistryFollower } from './follower.ts';
import { refusalCode } from './rules.ts';
import { DEFAULT_POLICY, type RegistryPolicy, type RegistryState } from './types.ts';

export interface RegistryClientOptions {
  kafka: Kafka;
  codec: SchemaCodec;
  logger: Logger;
  policy?: RegistryPolicy;
  /** A running follower to share (the gateway's); otherwise the client starts its own. */
  follower?: RegistryFollower;
}

/** What `register` needs besides the artifact bytes; everything else gets a sensible default. */
export interface RegisterRequest {
  model: string;
  version: string;
  actor: string;
  inputs: Array<Pick<ModelInput, 'name' | 'type'> & { feature_group?: string | null }>;
  outputs: ModelOutput[];
  metrics?: Record<string, number>;
  params?: ModelVersionRegistered['params'];
  lineage?: Partial<ModelVersionRegistered['lineage']>;
  baseline?: ModelVersionRegistered['baseline'];
  modelCard?: string;
  createdTime?: number;
  reason?: string;
}

export interface CommandResult {
  events: ModelLifecycleEvent[];
  state: RegistryState;
}

export class RegistryClient {
  readonly follower: RegistryFollower;
  readonly #codec: SchemaCodec;
  readonly #kafka: Kafka;
  readonly #log: Logger;
  readonly #policy: RegistryPolicy;
  readonly #ownsFollower: boolean;
  #producer: Producer | undefined;
  #topic: TopicCodec<ModelLifecycleEvent, ModelLifecycleEventInput> | undefined;

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

  async start(): Promise<void> {
    this.#topic = await this.#codec.forTopic(TOPICS.modelsLifecycle.name, CONTRACTS.ModelLifecycleEvent);
    this.#producer = createProducer(this.#kafka);
    await this.#producer.connect();
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
    const lost = state.ignored.find((i) => events.some((e) => e.event_id === i.eventId));
    if (lost) throw new RheoError(refusalCode(lost.reason), `a concurrent change won: ${lost.reason}`);
    this.#log.info(
      { command: command.kind, model: command.model, events: events.map((e) => e.event_type) },
      'registry command applied',
    );
    return { events, state };
  }

  /** Stores the artifact (content-addressed) and registers the version pointing at it. */
  async register(store: ArtifactStore, bytes: Uint8Array, request: RegisterRequest): Promise<CommandResult> {
    const artifact = await store.put(bytes, { extension: '.onnx' });
    return this.execute({
      kind: 'register',
      model: request.model,
      version: request.version,
      actor: request.actor,
      spec: registrationSpec(artifact, request),
      ...(request.reason ? { reason: request.reason } : {}),
    });
  }

  async close(): Promise<void> {
    await this.#producer?.disconnect().catch(() => undefined);
    if (this.#ownsFollower) await this.follower.stop();
  }
}

/** The REGISTERED section for an artifact already stored. */
export function registrationSpec(
  artifact: { uri: string; sha256: string; size: number },
  request: RegisterRequest,
): ModelVersionRegistered {
  const lineage = request.lineage ?? {};
  return {
    framework: 'onnx',
    artifact_uri: artifact.uri,
    sha256: artifact.sha256,
    size_bytes: artifact.size,
    inputs: request.inputs.map((i) => ({ name: i.name, type: i.type, feature_group: i.feature_group ?? null })),
    outputs: request.outputs,
    metrics: request.metrics ?? {},
    params: request.params ?? {},
    lineage: {
      run_id: lineage.run_id ?? null,
      training_set_query: lineage.training_set_query ?? 'uploaded',
      training_set_hash: lineage.training_set_hash ?? '',
      row_count: lineage.row_count ?? 0,
      data_start: lineage.data_start ?? null,
      data_end: lineage.data_end ?? null,
      parent_version: lineage.parent_version ?? null,
      code_version: lineage.code_version ?? null,
      seed: lineage.seed ?? null,
    },
    baseline: request.baseline ?? { features: [], prediction: null },
    model_card: request.modelCard ?? '',
    author: request.actor,
    created_time: request.createdTime ?? Date.now(),
  };
}
