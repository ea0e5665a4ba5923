/**
 * The feature materializer: `features.<group>` topics → the online store (Redis, newest per entity)
 * and the offline store (ClickHouse, every event), through the shared runner. Offsets commit only
 * after both stores acknowledged; invalid records go to `features.<group>.dlq`; N instances share the
 * topics' partitions as one consumer group (`rheo.materializer`).
 *
 * Stages: decode (resolved into the group's declared schema) → transform (pure: event → feature write)
 * → sink (Redis compare-and-set and ClickHouse insert, both acknowledged).
 *
 * Run: `node processors/materializer/index.ts --from earliest|latest [--group-id <id>]`. Where a new
 * consumer group starts is required, never implied.
 */

import type { FeatureGroupDecl } from '../../features/declaration.ts';
import { ClickHouseOfflineStore } from '../../features/offline/clickhouse.ts';
import type { OfflineStore } from '../../features/offline/store.ts';
import { RedisOnlineStore } from '../../features/online/redis.ts';
import type { OnlineStore } from '../../features/online/store.ts';
import { createClickHouse, createRedis } from '../../kernel/clients.ts';
import type { RheoConfig } from '../../kernel/config.ts';
import { createKafka } from '../../kernel/kafka.ts';
import type { Logger } from '../../kernel/log.ts';
import type { Registry } from '../../kernel/metrics.ts';
import { runMain, type ServiceEnvironment } from '../../runtime/main.ts';
import { ProcessorRunner, type RunnerOptions } from '../../runtime/runner.ts';
import { type ProcessorSpec, statelessProcessor } from '../../runtime/types.ts';
import { type AvroType, featureGroupContract, SchemaCodec } from '../../schemas/index.ts';
import { featureTopic } from '../../topics/catalogue.ts';
import { createMaterializerMetrics, featureStoresSink, type MaterializerMetrics } from './sink.ts';
import { type FeatureWrite, materializeTransform } from './transform.ts';

export type { FeatureWrite } from './transform.ts';

export type FeatureEventValue = Readonly<Record<string, unknown>>;

export function materializerSpec(
  groups: readonly FeatureGroupDecl[],
  deps: {
    codec: SchemaCodec;
    online: OnlineStore;
    offline: OfflineStore;
    metrics?: MaterializerMetrics;
    /** Runs when the runner stops (closing stores the caller wants closed with it). */
    close?: () => Promise<void>;
  },
): ProcessorSpec<FeatureEventValue, FeatureWrite> {
  const byTopic = new Map(groups.map((g) => [featureTopic(g.name).name, g]));
  const readers = new Map<string, AvroType>(groups.map((g) => [featureTopic(g.name).name, featureGroupContract(g).type]));
  return {
    name: 'materializer',
    inputs: groups.map((g) => featureTopic(g.name)),
    async decode(raw) {
      // Resolved into the declared schema: older writers get defaults, newer fields are dropped.
      const decoded = await deps.codec.decode<FeatureEventValue>(raw.value ?? new Uint8Array(), {
        reader: readers.get(raw.topic) as AvroType,
      });
      return decoded.value;
    },
    supply: statelessProcessor(materializeTransform(byTopic)),
    sink: featureStoresSink(new Map(groups.map((g) => [g.name, g])), deps.online, deps.offline, deps.metrics),
    ...(deps.close ? { close: deps.close } : {}),
  };
}

export interface MaterializerOptions extends Partial<Omit<RunnerOptions, 'startFrom'>> {
  /** Where a new consumer group starts reading. Required. */
  startFrom: 'earliest' | 'latest';
  /** Groups to materialize (a project's `featureGroups`). */
  groups: readonly FeatureGroupDecl[];
  /** Redis key prefix (default `rheo:features`) and ClickHouse table prefix (default `features_`). */
  onlinePrefix?: string;
  tablePrefix?: string;
}

export async function createMaterializer(
  config: RheoConfig,
  deps: { logger: Logger; metrics: Registry; online?: OnlineStore; offline?: OfflineStore; codec?: SchemaCodec },
  options: MaterializerOptions,
): Promise<ProcessorRunner<FeatureEventValue, FeatureWrite>> {
  const { groups, onlinePrefix, tablePrefix, ...runnerOptions } = options;
  const online =
    deps.online ??
    new RedisOnlineStore(createRedis(config), { ownsClient: true, ...(onlinePrefix ? { prefix: onlinePrefix } : {}) });
  const offline =
    deps.offline ??
    new ClickHouseOfflineStore(createClickHouse(config), {
      database: config.clickhouse.database,
      ownsClient: true,
      ...(tablePrefix ? { tablePrefix } : {}),
    });
  // Refuse to start on a declaration the stores cannot hold; create what is missing (idempotent).
  for (const group of groups) {
    await offline.ensure(group);
    await online.ensure(group);
  }
  const spec = materializerSpec(groups, {
    codec: deps.codec ?? SchemaCodec.fromConfig(config.registry),
    online,
    offline,
    metrics: createMaterializerMetrics(deps.metrics),
    // Stores passed in belong to the caller; the ones made here close with the runner.
    close: async () => {
      await Promise.allSettled([deps.online ? undefined : online.close(), deps.offline ? undefined : offline.close()]);
    },
  });
  return new ProcessorRunner(spec, {
    kafka: createKafka(config.kafka, deps.logger, 'materializer'),
    logger: deps.logger,
    metrics: deps.metrics,
    maxChunkRecords: 5000,
    partitionsConsumedConcurrently: 6,
    ...runnerOptions,
  });
}

/** The materializer as a service: every feature group of the project. */
export const materializerService = async ({ config, logger, metrics, args, project }: ServiceEnvironment) =>
  createMaterializer(config, { logger, metrics }, { ...args, groups: (await project()).project.featureGroups });

if (import.meta.main) await runMain('materializer', materializerService);
