/** Helpers for serving tests on the real stack: registry client, gateways scoped to the test's models, topic tails. */
import { randomUUID } from 'node:crypto';
import { createGateway, type Gateway } from '../../gateway/server.ts';
import type { ServingSettings } from '../../gateway/settings.ts';
import type { RheoConfig } from '../../kernel/config.ts';
import { type Admin, createAdmin, createConsumer, type Kafka } from '../../kernel/kafka.ts';
import type { Logger } from '../../kernel/log.ts';
import { createRegistry } from '../../kernel/metrics.ts';
import type { RegistryClient } from '../../registry/client.ts';
import { CONTRACTS, type Prediction, SchemaCodec } from '../../schemas/index.ts';
import type { ArtifactStore } from '../../serving/artifacts/store.ts';
import { FRAUD_FEATURES, fraudModelBytes } from './models.ts';

export const PREDICT_KEY = 'rheo-local-predict-key';
export const ADMIN_KEY = 'rheo-local-admin-key';

export interface TestGateway extends Gateway {
  url: string;
}

/** A gateway on a free port serving only `models` (other tests' models never affect its readiness). */
export async function startTestGateway(
  config: RheoConfig,
  settings: ServingSettings,
  logger: Logger,
  models: string[],
  overrides: Partial<ServingSettings['gateway']> = {},
): Promise<TestGateway> {
  const scoped: ServingSettings = {
    ...settings,
    gateway: { ...settings.gateway, port: 0, ...overrides },
    host: { ...settings.host, models, retryDelayMs: 60_000 },
  };
  const gateway = await createGateway(config, scoped, {
    logger,
    metrics: createRegistry('test-gateway', { defaultMetrics: false }),
  });
  const url = await gateway.app.listen({ host: '127.0.0.1', port: 0 });
  return { ...gateway, url };
}

export async function registerFraudModel(
  client: RegistryClient,
  store: ArtifactStore,
  model: string,
  version: string,
  bias: number,
  extra: { params?: Record<string, number | string> } = {},
) {
  return client.register(store, fraudModelBytes({ bias }), {
    model,
    version,
    actor: 'user:alice',
    inputs: FRAUD_FEATURES.map((name) => ({ name, type: 'DOUBLE' as const })),
    outputs: [{ name: 'probability', type: 'DOUBLE' }],
    ...(extra.params ? { params: extra.params } : {}),
  });
}

export async function promote(client: RegistryClient, model: string, version: string) {
  await client.execute({ kind: 'request', model, version, to: 'PRODUCTION', actor: 'user:alice' });
  return client.execute({ kind: 'approve', model, version, actor: 'user:bob' });
}

/** The score the test fraud model gives: sigmoid(w·x + bias) with the fixture's weights. */
export function fraudScore(bias: number, x: Record<(typeof FRAUD_FEATURES)[number], number>): number {
  const w = [0.01, -0.05, 0.02, 3];
  const z = FRAUD_FEATURES.reduce((sum, name, i) => sum + (w[i] as number) * x[name], bias);
  return 1 / (1 + Math.exp(-z));
}

export async function post(url: string, path: string, body: unknown, key = PREDICT_KEY, headers: Record<string, string> = {}) {
  const response = await fetch(`${url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': key, ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await response.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = text;
  }
  return { status: response.status, body: json as Record<string, unknown> & { predictions?: Array<Record<string, unknown>> } };
}

/**
 * Reads a topic from its end at `start()` onwards (a fresh group whose offsets are set to the ends),
 * so tests see only what they produced, however long the topic is.
 */
export class TopicTail<T = Prediction> {
  readonly #kafka: Kafka;
  readonly #topic: string;
  readonly #codec: SchemaCodec;
  readonly #groupId = `test.tail.${randomUUID()}`;
  readonly records: Array<{ partition: number; offset: string; key: string | null; value: T }> = [];
  #stop: (() => Promise<void>) | undefined;

  constructor(kafka: Kafka, config: RheoConfig, topic: string) {
    this.#kafka = kafka;
    this.#topic = topic;
    this.#codec = SchemaCodec.fromConfig(config.registry);
  }

  async start(): Promise<void> {
    const admin: Admin = createAdmin(this.#kafka);
    await admin.connect();
    try {
      const ends = await admin.fetchTopicOffsets(this.#topic);
      await admin.setOffsets({
        groupId: this.#groupId,
        topic: this.#topic,
        partitions: ends.map((e) => ({ partition: e.partition, offset: e.high })),
      });
    } finally {
      await admin.disconnect();
    }
    const consumer = createConsumer(this.#kafka, { groupId: this.#groupId, maxWaitTimeInMs: 200 });
    await consumer.connect();
    await consumer.subscribe({ topics: [this.#topic] });
    const reader = CONTRACTS.Prediction.type;
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        for (const m of batch.messages) {
          if (!m.value) continue;
          const value = (await this.#codec.decode<T>(m.value, this.#topic === 'predictions' ? { reader } : {})).value;
          this.records.push({ partition: batch.partition, offset: m.offset, key: m.key ? m.key.toString() : null, value });
        }
      },
    });
    this.#stop = () => consumer.disconnect();
  }

  async stop(): Promise<void> {
    await this.#stop?.();
  }
}
