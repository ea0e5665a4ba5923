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
 * Stages: decode (Feedback) → enrich (the label's candidate predictions from ClickHouse, waiting while
 * they have not landed, lookup.ts) → transform (pure: outcome or unmatched rows) → sink (ClickHouse).
 *
 * Run: `node processors/feedback-joiner/index.ts --from earliest|latest [--group-id <id>]`.
 */

import { type ClickHouseClient, createClickHouse } from '../../kernel/clients.ts';
import type { RheoConfig } from '../../kernel/config.ts';
import { createKafka } from '../../kernel/kafka.ts';
import type { Logger } from '../../kernel/log.ts';
import type { Registry } from '../../kernel/metrics.ts';
import { runMain, type ServiceEnvironment } from '../../runtime/main.ts';
import { ProcessorRunner, type RunnerOptions } from '../../runtime/runner.ts';
import type { ProcessorSpec, Sink } from '../../runtime/types.ts';
import { CONTRACTS, type Feedback, SchemaCodec } from '../../schemas/index.ts';
import { ensureMonitoringTables } from '../../tables/admin.ts';
import { TOPICS, type TopicEntry } from '../../topics/catalogue.ts';
import { DEFAULT_JOINER_SETTINGS, type JoinerSettings, labelLookup } from './lookup.ts';
import { createJoinerMetrics } from './metrics.ts';
import { joinerSink } from './sink.ts';
import { type JoinerWrite, joinTransform, type LabelWithCandidates } from './transform.ts';

/**
 * The processor as the runner sees it. Each partition gets its own lookup (it remembers when it first
 * saw each label still waiting for its prediction).
 */
export function joinerSpec(deps: {
  codec: SchemaCodec;
  client: ClickHouseClient;
  database: string;
  settings: JoinerSettings;
  sink: Sink<JoinerWrite>;
  input?: TopicEntry;
  now?: () => number;
  close?: () => Promise<void>;
}): ProcessorSpec<Feedback, JoinerWrite, LabelWithCandidates> {
  const { client, database, settings } = deps;
  const transform = joinTransform(settings);
  return {
    name: 'feedback-joiner',
    inputs: [deps.input ?? TOPICS.feedback],
    async decode(raw) {
      return (await deps.codec.decode<Feedback>(raw.value ?? new Uint8Array(), { reader: CONTRACTS.Feedback.type })).value;
    },
    supply: () => ({
      enrich: labelLookup({ client, database, settings, ...(deps.now ? { now: deps.now } : {}) }),
      transform,
    }),
    sink: deps.sink,
    ...(deps.close ? { close: deps.close } : {}),
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
): Promise<ProcessorRunner<Feedback, JoinerWrite, LabelWithCandidates>> {
  const { input, settings, ...runnerOptions } = options;
  const client = deps.client ?? createClickHouse(config);
  const database = config.clickhouse.database;
  await ensureMonitoringTables(client, database);
  const merged = { ...DEFAULT_JOINER_SETTINGS, ...settings };
  const sink = joinerSink({
    client,
    database,
    settings: merged,
    logger: deps.logger.child({ processor: 'feedback-joiner' }),
    metrics: createJoinerMetrics(deps.metrics),
  });
  const spec = joinerSpec({
    codec: deps.codec ?? SchemaCodec.fromConfig(config.registry),
    client,
    database,
    settings: merged,
    sink,
    ...(input ? { input } : {}),
    // A client passed in belongs to the caller; the one made here closes with the runner.
    close: async () => {
      if (!deps.client) await client.close();
    },
  });
  return new ProcessorRunner(spec, {
    kafka: createKafka(config.kafka, deps.logger, 'feedback-joiner'),
    logger: deps.logger,
    metrics: deps.metrics,
    ...runnerOptions,
    startFrom: options.startFrom,
  });
}

export const feedbackJoinerService = ({ config, logger, metrics, args }: ServiceEnvironment) =>
  createFeedbackJoiner(config, { logger, metrics }, args);

if (import.meta.main) await runMain('feedback-joiner', feedbackJoinerService);
