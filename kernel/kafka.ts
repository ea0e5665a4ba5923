/**
 * The only module that imports the Kafka client library. Everything else (runner, producers,
 * topic admin, tests) goes through these factories, so replacing kafkajs touches this file and the
 * runner's binding, never a processor.
 */
import { readFileSync } from 'node:fs';
import {
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
import type { KafkaSettings } from './config.ts';
import type { Logger } from './log.ts';

export type { Batch, EachBatchPayload, IHeaders, KafkaMessage, Message as ProducerMessage, RecordMetadata } from 'kafkajs';
export type { Admin, Consumer, Producer };

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
      if (entry.level <= logLevel.ERROR && !isTransientBrokerError(extra.error)) logger.error(fields, message);
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
