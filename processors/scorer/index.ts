/**
 * The streaming scorer: `predictions.requests` → micro-batched ONNX → `predictions`, on the shared
 * runner. It follows the registry like a gateway (same fold, same model host, same routing), and
 * joins its consumer group only once the registry is folded and the production models are loaded,
 * so the first records find their models. Batch size (rows per runtime call) and linger (how long a
 * batch waits for more rows) come from RHEO_SCORER_BATCH_SIZE and RHEO_SCORER_LINGER_MS.
 *
 * Stages: decode (PredictionRequest) → enrich (model inference, transform.ts `scoreRequests`) →
 * transform (pure: Prediction events in input order, failures refused) → sink (Kafka, acks=all).
 *
 * Run: `node processors/scorer/index.ts --from earliest|latest [--group-id <id>]`.
 */

import { RedisOnlineStore } from '../../features/online/redis.ts';
import { loadServingSettings, type ServingSettings } from '../../gateway/settings.ts';
import { createRedis } from '../../kernel/clients.ts';
import type { RheoConfig } from '../../kernel/config.ts';
import { createKafka } from '../../kernel/kafka.ts';
import type { Logger } from '../../kernel/log.ts';
import type { Registry } from '../../kernel/metrics.ts';
import type { RegistryFollower } from '../../registry/follower.ts';
import { type RunnableService, runMain, type ServiceEnvironment } from '../../runtime/main.ts';
import type { Readiness } from '../../runtime/ops.ts';
import { ProcessorRunner, type RunnerOptions } from '../../runtime/runner.ts';
import type { ProcessorSpec } from '../../runtime/types.ts';
import { CONTRACTS, type PredictionInput, type PredictionRequest, SchemaCodec } from '../../schemas/index.ts';
import { onlineFeatureLookup } from '../../serving/feature-lookup.ts';
import { createFollowingHost } from '../../serving/host/following.ts';
import type { ModelHost } from '../../serving/host/host.ts';
import type { FeatureLookup } from '../../serving/scoring.ts';
import { TOPICS } from '../../topics/catalogue.ts';
import { kafkaPredictionSink } from './sink.ts';
import { type RequestEntities, type ScoredRequest, scoreRequests, scorerTransform } from './transform.ts';

export interface Scorer {
  runner: ProcessorRunner<PredictionRequest, PredictionInput, ScoredRequest>;
  host: ModelHost;
  follower: RegistryFollower;
  /** Folds the registry, loads production models, connects the sink, then joins the group. */
  start(): Promise<void>;
  stop(reason?: string): Promise<void>;
  finished(): Promise<void>;
  /** Ready when the runner is a group member, the registry log is folded and every production model is loaded. */
  readiness(): Readiness;
}

export async function createScorer(
  config: RheoConfig,
  settings: ServingSettings,
  deps: { logger: Logger; metrics: Registry; features?: FeatureLookup; entities?: RequestEntities },
  options: Partial<RunnerOptions> = {},
): Promise<Scorer> {
  const { logger, metrics } = deps;
  const kafka = createKafka(config.kafka, logger, 'scorer');
  const codec = SchemaCodec.fromConfig(config.registry);
  const predictions = await codec.forTopic(TOPICS.predictions.name, CONTRACTS.Prediction);
  const { follower, host } = createFollowingHost({
    kafka,
    codec,
    logger,
    metrics,
    settings,
    session: { maxBatchRows: settings.scorer.batchSize, lingerMs: settings.scorer.lingerMs },
  });
  const sink = kafkaPredictionSink(kafka, predictions);
  const reader = CONTRACTS.PredictionRequest.type;
  const scoring = { host, features: deps.features };
  const spec: ProcessorSpec<PredictionRequest, PredictionInput, ScoredRequest> = {
    name: 'scorer',
    inputs: [TOPICS.predictionRequests],
    async decode(raw) {
      return (await codec.decode<PredictionRequest>(raw.value ?? new Uint8Array(), { reader })).value;
    },
    supply: () => ({ enrich: scoreRequests(scoring, undefined, deps.entities), transform: scorerTransform }),
    sink,
    close: async () => {
      await follower.stop();
      await host.close();
    },
  };
  const runner = new ProcessorRunner(spec, {
    kafka,
    logger,
    metrics,
    startFrom: 'latest',
    maxChunkRecords: settings.scorer.chunkRecords,
    ...options,
  });
  return {
    runner,
    host,
    follower,
    async start() {
      await follower.start();
      await follower.waitUntilCaughtUp();
      await host.update(follower.state);
      await sink.connect();
      await runner.start();
    },
    stop: (reason) => runner.stop(reason),
    finished: () => runner.finished(),
    readiness() {
      const consuming = runner.readiness();
      const models = host.status();
      return {
        ready: consuming.ready && follower.caughtUp && models.ready,
        checks: {
          ...consuming.checks,
          registry: {
            ok: follower.caughtUp,
            detail: { position: String(follower.position), models: follower.state.models.size },
          },
          models: { ok: models.ready, detail: models.models },
        },
      };
    },
  };
}

/** The scorer as a service: online features from Redis, resolved against the project's groups. */
export async function scorerService({ config, logger, metrics, args, project }: ServiceEnvironment): Promise<RunnableService> {
  const { features, project: decl } = await project();
  // Other entities' ids come from the request inputs the project names (entityKeys).
  const entities: RequestEntities = new Map(
    decl.models.filter((m) => m.entityKeys).map((m) => [m.name, { entity: m.entity, keys: m.entityKeys ?? {} }] as const),
  );
  const online = new RedisOnlineStore(createRedis(config, { lazyConnect: true }), { ownsClient: true });
  const scorer = await createScorer(
    config,
    loadServingSettings(config),
    { logger, metrics, features: onlineFeatureLookup(online, features), entities },
    args,
  ).catch(async (error: unknown) => {
    await online.close();
    throw error;
  });
  return {
    start: () => scorer.start(),
    stop: (reason) => scorer.stop(reason),
    finished: () => scorer.finished().finally(() => online.close()),
    readiness: () => scorer.readiness(),
  };
}

if (import.meta.main) await runMain('scorer', scorerService);
