/**
 * The archiver: every core event topic (predictions, feedback, model lifecycle, training, drift)
 * into its ClickHouse history table, through the shared runner. Run: `node processors/archiver/index.ts`.
 */
import type { ClickHouseClient } from '../../kernel/clients.ts';
import { createClickHouse } from '../../kernel/clients.ts';
import { loadConfig, type RheoConfig } from '../../kernel/config.ts';
import { createKafka } from '../../kernel/kafka.ts';
import { createLogger, type Logger } from '../../kernel/log.ts';
import { createRegistry, type Registry } from '../../kernel/metrics.ts';
import { ProcessorRunner, type RunnerOptions, runUntilSignalled } from '../../runtime/runner.ts';
import type { ProcessorSpec } from '../../runtime/types.ts';
import { contractNamed, SchemaCodec } from '../../schemas/index.ts';
import { clickHouseRowSink } from './sink.ts';
import { createTableSql, OFFLINE_TABLES, type OfflineTable } from './tables.ts';
import { archiveTransform, type TableRow } from './transform.ts';

export async function ensureOfflineTables(
  client: ClickHouseClient,
  database: string,
  tables: readonly OfflineTable[] = OFFLINE_TABLES,
): Promise<void> {
  for (const table of tables) await client.command({ query: createTableSql(database, table) });
}

export function archiverSpec(
  config: RheoConfig,
  client: ClickHouseClient,
  codec: SchemaCodec,
  tables: readonly OfflineTable[] = OFFLINE_TABLES,
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
    transform: archiveTransform(byTopic),
    sink: clickHouseRowSink(client, config.clickhouse.database),
  };
}

export async function createArchiver(
  config: RheoConfig,
  deps: { logger: Logger; metrics: Registry; client?: ClickHouseClient; codec?: SchemaCodec },
  options: Partial<RunnerOptions> = {},
): Promise<ProcessorRunner<Record<string, unknown>, TableRow>> {
  const client = deps.client ?? createClickHouse(config);
  await ensureOfflineTables(client, config.clickhouse.database);
  const codec = deps.codec ?? SchemaCodec.fromConfig(config.registry);
  const spec = archiverSpec(config, client, codec);
  const close = spec.sink.close;
  spec.sink.close = async () => {
    await close?.();
    if (!deps.client) await client.close();
  };
  return new ProcessorRunner(spec, {
    kafka: createKafka(config.kafka, deps.logger, 'archiver'),
    logger: deps.logger,
    metrics: deps.metrics,
    startFrom: 'earliest',
    ...options,
  });
}

if (import.meta.main) {
  const config = loadConfig();
  const logger = createLogger('archiver', { level: config.logLevel });
  const runner = await createArchiver(config, { logger, metrics: createRegistry('archiver') });
  await runUntilSignalled(runner, logger);
}
