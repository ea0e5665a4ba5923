/**
 * The feedback joiner: `feedback` → labels joined to their predictions (by prediction id, or by entity
 * and time when the label names none) → ClickHouse `rheo.prediction_outcomes`; live quality per model,
 * version and variant over event-time windows in the `rheo.model_quality_hourly` view and as Prometheus
 * gauges.
 *
 * Join state: none in the process. Predictions are looked up in ClickHouse `rheo.predictions` (the
 * archiver keeps it; replayable from the topic), waiting while a prediction has not landed yet. Outcomes
 * are deduplicated by prediction event id, so restarts and redeliveries never double count.
 *
 * Run: `node processors/feedback-joiner/index.ts --from earliest|latest [--group-id <id>]`.
 */

import { type ClickHouseClient, createClickHouse } from '../../kernel/clients.ts';
import { loadConfig, type RheoConfig } from '../../kernel/config.ts';
import { createKafka } from '../../kernel/kafka.ts';
import { createLogger, type Logger } from '../../kernel/log.ts';
import { createRegistry, type Registry } from '../../kernel/metrics.ts';
import { parseProcessorArgs } from '../../runtime/args.ts';
import { ProcessorRunner, type RunnerOptions, runUntilSignalled } from '../../runtime/runner.ts';
import type { ProcessorSpec } from '../../runtime/types.ts';
import { CONTRACTS, type Feedback, SchemaCodec } from '../../schemas/index.ts';
import { TOPICS, type TopicEntry } from '../../topics/catalogue.ts';
import type { LabelEvent } from './join.ts';
import { createJoinerMetrics } from './metrics.ts';
import { DEFAULT_JOINER_SETTINGS, type JoinerSettings, joinerSink } from './sink.ts';
import { ensureMonitoringTables } from './tables.ts';
import { joinTransform } from './transform.ts';

export function joinerSpec(deps: {
  codec: SchemaCodec;
  sink: ProcessorSpec<Feedback, LabelEvent>['sink'];
  input?: TopicEntry;
}): ProcessorSpec<Feedback, LabelEvent> {
  return {
    name: 'feedback-joiner',
    inputs: [deps.input ?? TOPICS.feedback],
    async decode(raw) {
      return (await deps.codec.decode<Feedback>(raw.value ?? new Uint8Array(), { reader: CONTRACTS.Feedback.type })).value;
    },
    transform: joinTransform,
    sink: deps.sink,
  };
}

export interface JoinerOptions extends Partial<Omit<RunnerOptions, 'startFrom' | 'kafka' | 'logger' | 'metrics'>> {
  startFrom: 'earliest' | 'latest';
  input?: TopicEntry;
  settings?: Partial<JoinerSettings>;
}

export async function createFeedbackJoiner(
  config: RheoConfig,
  deps: { logger: Logger; metrics: Registry; client?: ClickHouseClient; codec?: SchemaCodec },
  options: JoinerOptions,
): Promise<ProcessorRunner<Feedback, LabelEvent>> {
  const { input, settings, ...runnerOptions } = options;
  const client = deps.client ?? createClickHouse(config);
  const database = config.clickhouse.database;
  await ensureMonitoringTables(client, database);
  const sink = joinerSink({
    client,
    database,
    settings: { ...DEFAULT_JOINER_SETTINGS, ...settings },
    logger: deps.logger.child({ processor: 'feedback-joiner' }),
    metrics: createJoinerMetrics(deps.metrics),
    close: async () => {
      if (!deps.client) await client.close();
    },
  });
  return new ProcessorRunner(
    joinerSpec({ codec: deps.codec ?? SchemaCodec.fromConfig(config.registry), sink, ...(input ? { input } : {}) }),
    {
      kafka: createKafka(config.kafka, deps.logger, 'feedback-joiner'),
      logger: deps.logger,
      metrics: deps.metrics,
      ...runnerOptions,
      startFrom: options.startFrom,
    },
  );
}

if (import.meta.main) {
  const args = parseProcessorArgs(process.argv.slice(2));
  const config = loadConfig();
  const logger = createLogger('feedback-joiner', { level: config.logLevel });
  const runner = await createFeedbackJoiner(config, { logger, metrics: createRegistry('feedback-joiner') }, args);
  await runUntilSignalled(runner, logger);
}
