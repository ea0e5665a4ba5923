/**
 * The only module that imports the Kafka client library. Everything else (runner, producers,
 * topic admin, tests) goes through these factories, so replacing kafkajs touches this file and the
 * runner's binding, never a processor.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { promisify } from 'node:util';
import { zstdCompress, zstdDecompress } from 'node:zlib';
import kafkajs, {
  type Admin,
  type Consumer,
  type ConsumerConfig,
  Kafka,
  type KafkaConfig,
  logLevel,
  Partitioners,
  type Producer,
  type ProducerConfig,
} from 'kafkajs';
import { compressFrame, decompressFrame } from 'lz4-napi';
import type { KafkaSettings } from './config.ts';
import type { Logger } from './log.ts';

export type { Batch, EachBatchPayload, IHeaders, KafkaMessage, Message as ProducerMessage, RecordMetadata } from 'kafkajs';
export type { Admin, Consumer, Producer };

/**
 * Record-batch compression beyond kafkajs's built-in GZIP, so topics written by other producers
 * (Java clients and Kafka Connect default to lz4, snappy or zstd; librdkafka/kcat likewise) can be
 * read. Chosen to install from the npm registry alone, with no compiler and no download at install
 * time (kafkajs-lz4's `lz4` runs node-gyp, which fetches Node headers; `@kafkajs/zstd` builds native
 * code; `@mongodb-js/zstd` fetches its binary with prebuild-install):
 * - LZ4: `lz4-napi` (Rust lz4_flex, prebuilt per platform as npm optional dependencies), Kafka's
 *   LZ4 frame format both ways.
 * - Snappy: `kafkajs-snappy` (the KafkaJS project's codec, pure-JS snappyjs), which reads both the
 *   xerial framing Java producers write and the raw blocks librdkafka writes.
 * - ZSTD: Node's own `node:zlib` zstd (Node >= 22.15), no dependency at all.
 * Measured here (one ~0.8 MB record-like buffer, 2 cores): decompression at ~510 MB/s for lz4-napi
 * (the pure-JS lz4js: ~160), ~320 for snappy, ~80 for zstd, about gunzip's ~80 MB/s, which kafkajs
 * already pays for GZIP topics; none is the bottleneck beside Avro decoding.
 *
 * `CompressionCodecs` is kafkajs's process-wide registry, written once here at module load. That
 * global is acceptable: it is the only way kafkajs takes codecs, this module is the only importer
 * of kafkajs (so every client in the process is made after this ran), each entry is keyed by the
 * protocol's compression id whose meaning is fixed by Kafka, and registering the same codec twice
 * (a second import of this module) replaces it with an identical one.
 */
export const KAFKA_CODECS = registerCompressionCodecs();

function registerCompressionCodecs(): readonly string[] {
  // From the module object: Node's ESM view of kafkajs (CommonJS) does not list these two as named exports.
  const { CompressionCodecs, CompressionTypes } = kafkajs;
  // kafkajs-snappy ships no types; its one export makes a codec.
  const snappy = createRequire(import.meta.url)('kafkajs-snappy') as () => Codec;
  const zstd = { compress: promisify(zstdCompress), decompress: promisify(zstdDecompress) };
  const lz4Codec = (): Codec => ({
    compress: (encoder) => compressFrame(encoder.buffer),
    decompress: (buffer) => decompressFrame(buffer),
  });
  const zstdCodec = (): Codec => ({
    compress: (encoder) => zstd.compress(encoder.buffer),
    decompress: (buffer) => zstd.decompress(buffer),
  });
  CompressionCodecs[CompressionTypes.LZ4] = lz4Codec;
  CompressionCodecs[CompressionTypes.Snappy] = snappy;
  CompressionCodecs[CompressionTypes.ZSTD] = zstdCodec;
  return ['gzip', 'lz4', 'snappy', 'zstd'];
}

/** A kafkajs compression codec: `compress` gets kafkajs's encoder, whose `buffer` is the batch's records. */
interface Codec {
  compress(encoder: { buffer: Buffer }): Promise<Buffer>;
  decompress(buffer: Buffer): Promise<Buffer>;
}

export function kafkaClientConfig(settings: KafkaSettings, logger?: Logger, clientIdSuffix?: string): KafkaConfig {
  const config: KafkaConfig = {
    clientId: clientIdSuffix ? `${settings.clientId}-${clientIdSuffix}` : settings.clientId,
    brokers: settings.brokers,
    connectionTimeout: settings.connectionTimeoutMs,
    requestTimeout: settings.requestTimeoutMs,
    // Retries inside kafkajs stay short: our runner and retrier own the longer, observable backoff.
    retry: { initialRetryTime: 200, retries: 8, maxRetryTime: 5_000 },
    logLevel: logLevel.WARN,
    logCreator: () => (entry) => {
      if (!logger) return;
      const { message, ...extra } = entry.log;
      const fields = { kafka: entry.namespace, ...extra };
      // kafkajs warns on every idempotent producer that retries are limited: we limit them on purpose.
      if (message.startsWith('Limiting retries for the idempotent producer')) logger.debug(fields, message);
      else if (entry.level <= logLevel.ERROR && !isTransientBrokerError(extra.error)) logger.error(fields, message);
      else if (entry.level <= logLevel.WARN) logger.warn(fields, message);
      else logger.debug(fields, message);
    },
  };
  if (settings.ssl) {
    config.ssl = {
      rejectUnauthorized: settings.ssl.rejectUnauthorized,
      ...(settings.ssl.caFile ? { ca: [readFileSync(settings.ssl.caFile, 'utf8')] } : {}),
    };
  }
  if (settings.sasl) {
    const { mechanism, username, password } = settings.sasl;
    config.sasl = { mechanism, username, password } as KafkaConfig['sasl'];
  }
  return config;
}

/**
 * Broker answers kafkajs logs at ERROR although it retries them itself and they pass on their own
 * (a coordinator loading or moving, a rebalance, a leader election): logged as warnings, so an error
 * line means something an operator should look at.
 */
const TRANSIENT_BROKER_ERRORS = [
  'The coordinator is loading',
  'The group coordinator is not available',
  'This is not the correct coordinator',
  'The group is rebalancing',
  'There is no leader for this topic-partition',
  'This server is not the leader for that topic-partition',
];

export function isTransientBrokerError(error: unknown): boolean {
  return typeof error === 'string' && TRANSIENT_BROKER_ERRORS.some((text) => error.startsWith(text));
}

export function createKafka(settings: KafkaSettings, logger?: Logger, clientIdSuffix?: string): Kafka {
  return new Kafka(kafkaClientConfig(settings, logger, clientIdSuffix));
}

export function createProducer(kafka: Kafka, config: ProducerConfig = {}): Producer {
  // Idempotent producer: broker-side dedup of retried batches keeps per-partition order and no duplicates from retries.
  // The default (murmur2, Java-compatible) partitioner, named so kafkajs does not warn about its v2 change.
  return kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    allowAutoTopicCreation: false,
    createPartitioner: Partitioners.DefaultPartitioner,
    ...config,
  });
}

export function createConsumer(kafka: Kafka, config: ConsumerConfig): Consumer {
  return kafka.consumer({ allowAutoTopicCreation: false, ...config });
}

export function createAdmin(kafka: Kafka): Admin {
  return kafka.admin();
}

export type { Kafka };
