/**
 * A run's progress as `training.runs` events (key: run id): STARTED, PROGRESS after every epoch of
 * every trial, then COMPLETED or FAILED. The outcome of a run is one fact, so COMPLETED has an id
 * derived from the run id: a run that is redelivered and finished again produces the same event id,
 * and the archive keeps one copy.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { Kafka, Producer } from '../kernel/kafka.ts';
import { createProducer } from '../kernel/kafka.ts';
import {
  CONTRACTS,
  type RunCompletedInput,
  type RunFailedInput,
  type RunProgressInput,
  type RunStartedInput,
  type SchemaCodec,
  type TopicCodec,
  type TrainingRunEvent,
  type TrainingRunEventInput,
} from '../schemas/index.ts';
import { TOPICS } from '../topics/catalogue.ts';

export interface RunEventSink {
  /** Resolves once the event is durable (acks=all). */
  publish(event: TrainingRunEventInput): Promise<void>;
  close?(): Promise<void>;
}

/** A UUID derived from a name (version-5 layout, SHA-1): the same name gives the same id. */
export function nameUuid(name: string): string {
  const h = createHash('sha1').update(`rheo:${name}`).digest('hex');
  const variant = ((Number.parseInt(h[16] as string, 16) & 0x3) | 0x8).toString(16);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

export interface RunIdentity {
  runId: string;
  model: string;
  requestId: string | null;
}

function base(
  id: RunIdentity,
  type: TrainingRunEvent['event_type'],
  eventId: string = randomUUID(),
  now = Date.now(),
): TrainingRunEventInput {
  return {
    event_id: eventId,
    event_time: now,
    run_id: id.runId,
    model_name: id.model,
    request_id: id.requestId,
    event_type: type,
    started: null,
    progress: null,
    completed: null,
    failed: null,
  };
}

export const runEvents = {
  started: (id: RunIdentity, started: RunStartedInput): TrainingRunEventInput => ({ ...base(id, 'STARTED'), started }),
  progress: (id: RunIdentity, progress: RunProgressInput): TrainingRunEventInput => ({ ...base(id, 'PROGRESS'), progress }),
  completed: (id: RunIdentity, completed: RunCompletedInput): TrainingRunEventInput => ({
    ...base(id, 'COMPLETED', nameUuid(`training-run/${id.runId}/completed`)),
    completed,
  }),
  failed: (id: RunIdentity, failed: RunFailedInput): TrainingRunEventInput => ({ ...base(id, 'FAILED'), failed }),
};

/** Produces run events to `training.runs`, Avro through the registry. */
export class KafkaRunEvents implements RunEventSink {
  readonly #producer: Producer;
  readonly #codec: TopicCodec<TrainingRunEvent, TrainingRunEventInput>;

  private constructor(producer: Producer, codec: TopicCodec<TrainingRunEvent, TrainingRunEventInput>) {
    this.#producer = producer;
    this.#codec = codec;
  }

  static async create(kafka: Kafka, codec: SchemaCodec): Promise<KafkaRunEvents> {
    const topic = await codec.forTopic(TOPICS.trainingRuns.name, CONTRACTS.TrainingRunEvent);
    const producer = createProducer(kafka);
    await producer.connect();
    return new KafkaRunEvents(producer, topic);
  }

  async publish(event: TrainingRunEventInput): Promise<void> {
    await this.#producer.send({
      topic: TOPICS.trainingRuns.name,
      acks: -1,
      messages: [{ key: event.run_id, value: this.#codec.encode(event) }],
    });
  }

  async close(): Promise<void> {
    await this.#producer.disconnect().catch(() => undefined);
  }
}

/** Keeps events in memory (tests, and the CLI when asked not to publish). */
export class MemoryRunEvents implements RunEventSink {
  readonly events: TrainingRunEventInput[] = [];
  async publish(event: TrainingRunEventInput): Promise<void> {
    this.events.push(event);
  }
}
