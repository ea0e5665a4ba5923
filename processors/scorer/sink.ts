/**
 * The scorer's sink: Prediction events produced to `predictions` (key: entity id) by an idempotent
 * producer with acks=all. `write` resolves only when Kafka acknowledged every record, so the runner
 * commits the input offsets after the outputs are durable (at-least-once; event ids make replays
 * recognisable).
 */
import { errorMessage, RheoError } from '../../kernel/errors.ts';
import { createProducer, type Kafka, type Producer } from '../../kernel/kafka.ts';
import type { Prediction, PredictionInput, TopicCodec } from '../../schemas/index.ts';
import type { Sink } from '../runtime/types.ts';

export interface KafkaPredictionSink extends Sink<PredictionInput> {
  connect(): Promise<void>;
}

export function kafkaPredictionSink(kafka: Kafka, codec: TopicCodec<Prediction, PredictionInput>): KafkaPredictionSink {
  let producer: Producer | undefined;
  let connecting: Promise<void> | undefined;
  const connect = () => {
    connecting ??= (async () => {
      const p = createProducer(kafka);
      await p.connect();
      producer = p;
    })().catch((error: unknown) => {
      connecting = undefined;
      throw new RheoError('SINK_UNAVAILABLE', `prediction producer cannot connect: ${errorMessage(error)}`, { cause: error });
    });
    return connecting;
  };
  return {
    name: 'kafka:predictions',
    connect,
    async write(writes) {
      if (!producer) await connect();
      const messages = writes.map((p) => ({ key: p.entity_id, value: codec.encode(p) }));
      try {
        await (producer as Producer).send({ topic: codec.topic, acks: -1, messages });
      } catch (error) {
        throw new RheoError('SINK_UNAVAILABLE', `producing ${messages.length} predictions failed: ${errorMessage(error)}`, {
          cause: error,
        });
      }
    },
    async close() {
      await producer?.disconnect();
    },
  };
}
