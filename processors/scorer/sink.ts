/**
 * The scorer's sink: Prediction events produced to `predictions` (key: entity id) by idempotent
 * producers with acks=all. `write` resolves only when Kafka acknowledged every record, so the runner
 * commits the input offsets after the outputs are durable (at-least-once; event ids make replays
 * recognisable).
 *
 * An idempotent producer has one request in flight, so one producer serialises every partition's
 * chunk behind one round trip. With `producers` > 1 the sink keeps a pool and sends each entity's
 * records through the same producer (by a hash of the key), so concurrent chunks overlap their round
 * trips while per-key order still holds. The default is 1: on the 2-core reference machine a pool
 * measured slower (more contention), so it is for hosts with cores to spare.
 */
import { errorMessage, RheoError } from '../../kernel/errors.ts';
import { createProducer, type Kafka, type Producer, type ProducerMessage } from '../../kernel/kafka.ts';
import type { Sink } from '../../runtime/types.ts';
import type { Prediction, PredictionInput, TopicCodec } from '../../schemas/index.ts';
import { fnv1a32 } from '../../serving/routing.ts';

export interface KafkaPredictionSink extends Sink<PredictionInput> {
  connect(): Promise<void>;
}

const encoder = new TextEncoder();

export function kafkaPredictionSink(
  kafka: Kafka,
  codec: TopicCodec<Prediction, PredictionInput>,
  options: { producers?: number } = {},
): KafkaPredictionSink {
  const size = Math.max(1, options.producers ?? 1);
  let producers: Producer[] | undefined;
  let connecting: Promise<void> | undefined;
  const connect = () => {
    connecting ??= (async () => {
      const pool = Array.from({ length: size }, () => createProducer(kafka));
      await Promise.all(pool.map((p) => p.connect()));
      producers = pool;
    })().catch((error: unknown) => {
      connecting = undefined;
      throw new RheoError('SINK_UNAVAILABLE', `prediction producers cannot connect: ${errorMessage(error)}`, { cause: error });
    });
    return connecting;
  };
  return {
    name: 'kafka:predictions',
    connect,
    async write(writes) {
      if (!producers) await connect();
      const pool = producers as Producer[];
      const groups: ProducerMessage[][] = pool.map(() => []);
      for (const p of writes)
        (groups[fnv1a32(encoder.encode(p.entity_id)) % pool.length] as ProducerMessage[]).push({
          key: p.entity_id,
          value: codec.encode(p),
        });
      try {
        await Promise.all(
          groups.map((messages, i) =>
            messages.length ? (pool[i] as Producer).send({ topic: codec.topic, acks: -1, messages }) : undefined,
          ),
        );
      } catch (error) {
        throw new RheoError('SINK_UNAVAILABLE', `producing ${writes.length} predictions failed: ${errorMessage(error)}`, {
          cause: error,
        });
      }
    },
    async close() {
      await Promise.all((producers ?? []).map((p) => p.disconnect()));
    },
  };
}
