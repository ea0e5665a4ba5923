/**
 * The archiver: every core event topic (predictions, feedback, model lifecycle, training, drift)
 * into its ClickHouse history table, through the shared runner.
 *
 * Stages: decode (the topic's contract) → transform (pure: event → table row) → sink (ClickHouse insert).
 * Run: `node processors/archiver/index.ts --from earliest|latest [--group-id <id>]`.
 */
import type { ClickHouseClient } from '../../kernel/clients.ts';
import { createClickHouse } from '../../kernel/clients.ts';
import type { RheoConfig } from '../../kernel/config.ts';
import { createKafka } from '../../kernel/kafka.ts';
import type { Logger } from '../../kernel/log.ts';
import type { Registry } from '../../kernel/metrics.ts';
import { runMain, type ServiceEnvironment } from '../../runtime/main.ts';
import { ProcessorRunner, type RunnerOptions } from '../../runtime/runner.ts';
import { type ProcessorSpec, statelessProcessor } from '../../runtime/types.ts';
import { contractNamed, SchemaCodec } from '../../schemas/index.ts';
import { ensureHistoryTables } from '../../tables/admin.ts';
import { ARCHIVED_TABLES, type ArchivedTable } from '../../tables/history.ts';
import { clickHouseRowSink } from './sink.ts';
import { archiveTransform, type TableRow } from './transform.ts';

export function archiverSpec(
  config: RheoConfig,
  client: ClickHouseClient,
  codec: SchemaCodec,
  tables: readonly ArchivedTable[] = ARCHIVED_TABLES,
): ProcessorSpec<Record<string, unknown>, TableRow> {
  const byTopic = new Map(tables.map((t) => [t.topic.name, t]));
  const readers = new Map(
    tables.map((t) => {
      const contract = contractNamed(t.topic.valueSchema ?? '');
      if (!contract) throw new Error(`topic ${t.topic.name} names no known contract`);
      return [t.topic.name, contract.type];
    }),
  );
  return {
    name: 'archiver',
    inputs: tables.map((t) => t.topic),
    async decode(raw) {
      const decoded = await codec.decode<Record<string, unknown>>(raw.value ?? new Uint8Array(), {
        reader: readers.get(raw.topic) as NonNullable<ReturnType<typeof readers.get>>,
      });
      return decoded.value;
    },
    supply: statelessProcessor(archiveTransform(byTopic)),
    sink: clickHouseRowSink(client, config.clickhouse.database),
  };
}

export async function createArchiver(
  config: RheoConfig,
  deps: { logger: Logger; metrics: Registry; client?: ClickHouseClient; codec?: SchemaCodec },
  options: Partial<RunnerOptions> = {},
): Promise<ProcessorRunner<Record<string, unknown>, TableRow>> {
  const client = deps.client ?? createClickHouse(config);
  await ensureHistoryTables(client, config.clickhouse.database);
  const codec = deps.codec ?? SchemaCodec.fromConfig(config.registry);
  const spec: ProcessorSpec<Record<string, unknown>, TableRow> = {
    ...archiverSpec(config, client, codec),
    // A client passed in belongs to the caller; the one made here closes with the runner.
    close: async () => {
      if (!deps.client) await client.close();
    },
  };
  return new ProcessorRunner(spec, {
    kafka: createKafka(config.kafka, deps.logger, 'archiver'),
    logger: deps.logger,
    metrics: deps.metrics,
    startFrom: 'earliest',
    ...options,
  });
}

export const archiverService = ({ config, logger, metrics, args }: ServiceEnvironment) =>
  createArchiver(config, { logger, metrics }, args);

if (import.meta.main) await runMain('archiver', archiverService);
