/**
 * The gateway: one Fastify app, one plugin per area (access, errors, health, predict, OIP v2, model
 * reads, model lifecycle, model traffic, and the feature store's routes when present), with the shared
 * services as the `rheo` decorator; the model plugins declare it and the access and errors plugins as
 * dependencies, so registering them out of order fails at start.
 * `buildGatewayApp` assembles the HTTP side from services (tests pass their own); `createGateway`
 * wires the services to the cluster — registry follower, model host, prediction log — and starts
 * them in the background, so `/healthz` answers at once and `/readyz` turns true when traffic can flow.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import swagger from '@fastify/swagger';
import Fastify, { type FastifyInstance, LogController } from 'fastify';
import type { RheoConfig } from '../kernel/config.ts';
import { errorMessage, RheoError, rheoError } from '../kernel/errors.ts';
import { createAdmin, createKafka, type Kafka } from '../kernel/kafka.ts';
import type { Logger } from '../kernel/log.ts';
import { createRegistry, Gauge, Histogram, LATENCY_BUCKETS_S, type Registry } from '../kernel/metrics.ts';
import { type RetryOptions, retry } from '../kernel/retry.ts';
import { RegistryClient } from '../registry/client.ts';
import { CONTRACTS, SchemaCodec } from '../schemas/index.ts';
import { createFollowingHost } from '../serving/host/following.ts';
import type { FeatureLookup } from '../serving/scoring.ts';
import { TOPICS } from '../topics/catalogue.ts';
import { accessPlugin } from './access.ts';
import { errorsPlugin } from './errors.ts';
import { healthRoutes } from './health.ts';
import { modelLifecycleRoutes } from './models/lifecycle.ts';
import { modelReadRoutes } from './models/reads.ts';
import { modelTrafficRoutes } from './models/traffic.ts';
import { oipRoutes } from './oip.ts';
import { predictRoutes } from './predict.ts';
import { PredictionLog } from './prediction-log.ts';
import { openArtifactStore, type ServingSettings } from './settings.ts';
import type { GatewayServices, Readiness } from './types.ts';

export type { FeatureLookup, GatewayServices };

/** Extra route plugins (e.g. the feature store's `featuresRoutes`), registered after the core ones. */
export type RoutePlugin = (app: FastifyInstance) => Promise<void>;

export async function buildGatewayApp(
  services: GatewayServices,
  options: { logger?: Logger; plugins?: RoutePlugin[] } = {},
): Promise<FastifyInstance> {
  const g = services.settings.gateway;
  const app = Fastify({
    ...(options.logger ? { loggerInstance: options.logger } : {}),
    logController: new LogController({ disableRequestLogging: true }),
    // No child logger per request (it costs more than the hot path's own work); request.log is the gateway's logger.
    childLoggerFactory: (logger) => logger,
    bodyLimit: g.bodyLimitBytes,
    requestTimeout: Math.max(g.requestTimeoutMs * 5, 10_000),
    keepAliveTimeout: 65_000,
    return503OnClosing: true,
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && /^[A-Za-z0-9_.:-]{1,128}$/.test(given) ? given : randomUUID();
    },
    ajv: {
      customOptions: { removeAdditional: false, coerceTypes: false, useDefaults: true, allErrors: false, allowUnionTypes: true },
    },
  });
  app.decorate('rheo', services);
  // JSON only: any other body type is a 415, not a string that fails validation.
  app.removeContentTypeParser('text/plain');
  const requestSeconds = new Histogram({
    name: 'rheo_gateway_request_seconds',
    help: 'Gateway request latency by route and status class.',
    labelNames: ['route', 'status'],
    buckets: LATENCY_BUCKETS_S,
    registers: [services.metrics],
  });
  app.addHook('onResponse', async (request, reply) => {
    requestSeconds.observe(
      { route: request.routeOptions.url ?? 'unknown', status: `${Math.floor(reply.statusCode / 100)}xx` },
      reply.elapsedTime / 1000,
    );
  });
  await app.register(errorsPlugin);
  await app.register(accessPlugin, { apiKeys: g.apiKeys, rateLimit: g.rateLimit, requestTimeoutMs: g.requestTimeoutMs });
  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'Rheo gateway',
        description: 'Predictions, Open Inference Protocol v2, and model management.',
        version: '0.1.0',
      },
      components: {
        securitySchemes: {
          apiKey: { type: 'apiKey', in: 'header', name: 'x-api-key' },
          bearer: { type: 'http', scheme: 'bearer' },
        },
      },
      security: [{ apiKey: [] }, { bearer: [] }],
    },
  });
  await app.register(healthRoutes);
  await app.register(predictRoutes);
  await app.register(oipRoutes);
  await app.register(modelReadRoutes);
  await app.register(modelLifecycleRoutes);
  await app.register(modelTrafficRoutes);
  for (const plugin of options.plugins ?? []) await app.register(plugin);
  app.get('/openapi.json', { config: { access: 'predict' }, schema: { hide: true } }, async () => app.swagger());
  return app as unknown as FastifyInstance;
}

export interface Gateway {
  app: FastifyInstance;
  services: GatewayServices;
  /** Resolves when the background start (topics, registry fold, first model loads) finished. */
  started: Promise<void>;
  close(): Promise<void>;
}

export interface CreateGatewayOptions {
  logger: Logger;
  metrics?: Registry;
  features?: FeatureLookup;
  plugins?: RoutePlugin[];
}

export async function createGateway(
  config: RheoConfig,
  settings: ServingSettings,
  options: CreateGatewayOptions,
): Promise<Gateway> {
  const { logger } = options;
  const metrics = options.metrics ?? createRegistry('gateway');
  const kafka = createKafka(config.kafka, logger, 'gateway');
  const codec = SchemaCodec.fromConfig(config.registry);
  const { follower, host } = createFollowingHost({
    kafka,
    codec,
    logger,
    metrics,
    settings,
    session: { maxBatchRows: settings.host.maxBatchRows, lingerMs: settings.host.lingerMs },
  });
  const registry = new RegistryClient({ kafka, codec, logger, follower });
  const predictions = new PredictionLog({
    kafka: createKafka({ ...config.kafka, brokers: settings.gateway.predictionBrokers }, logger, 'gateway-predictions'),
    codec: () => codec.forTopic(TOPICS.predictions.name, CONTRACTS.Prediction),
    logger,
    metrics,
    maxBuffered: settings.gateway.predictionBufferMax,
  });
  const checks = { topics: false, registry: false, writer: false };
  const readyGauge = new Gauge({
    name: 'rheo_gateway_ready',
    help: '1 when the gateway is ready for traffic.',
    registers: [metrics],
  });
  const readiness = (): Readiness => {
    const models = host.status();
    const ready = checks.topics && follower.caughtUp && models.ready;
    readyGauge.set(ready ? 1 : 0);
    return {
      ready,
      checks: {
        topics: { ok: checks.topics },
        registry: { ok: follower.caughtUp, detail: { position: String(follower.position), models: follower.state.models.size } },
        models: { ok: models.ready, detail: models.models },
        registry_writer: { ok: checks.writer },
        prediction_log: { ok: true, detail: predictions.stats },
      },
    };
  };
  const services: GatewayServices = {
    settings,
    scoring: { host, features: options.features },
    host,
    follower,
    registry,
    store: openArtifactStore(settings),
    predictions,
    metrics,
    readiness,
  };
  const app = await buildGatewayApp(services, { logger, ...(options.plugins ? { plugins: options.plugins } : {}) });
  const stopping = new AbortController();
  // Start-up waits for the cluster as long as the gateway runs: every failure is worth another try.
  const untilStopped: RetryOptions = {
    attempts: Number.POSITIVE_INFINITY,
    initialDelayMs: 500,
    maxDelayMs: 5_000,
    signal: stopping.signal,
    shouldRetry: () => true,
  };

  const started = (async () => {
    predictions.start();
    try {
      // Topics first: nothing else makes sense without them. Retried until they exist.
      await retry(
        async () => {
          const missing = await missingTopics(kafka, [TOPICS.modelsLifecycle.name, TOPICS.predictions.name]);
          if (missing.length > 0) throw rheoError('KAFKA_TOPIC_MISSING', { topic: missing.join(', ') }, { details: { missing } });
        },
        {
          ...untilStopped,
          onRetry: (error, attempt) => {
            if (error instanceof RheoError && error.code === 'KAFKA_TOPIC_MISSING')
              logger.warn({ missing: error.details?.missing }, 'topics missing; run `rheo topics ensure`');
            else logger.warn({ attempt, err: errorMessage(error) }, 'cannot reach Kafka yet');
          },
        },
      );
      checks.topics = true;
      await retry(
        async () => {
          await follower.start();
          await follower.waitUntilCaughtUp(120_000);
          await host.update(follower.state);
          await registry.start();
        },
        {
          ...untilStopped,
          onRetry: async (error, attempt) => {
            logger.warn({ attempt, err: errorMessage(error) }, 'registry not followed yet; retrying');
            await follower.stop();
          },
        },
      );
      checks.writer = true;
    } catch (error) {
      // Closing while the cluster is still away ends start-up; anything else is a real failure.
      if (!stopping.signal.aborted) throw error;
    }
    readiness();
  })();
  started.catch((error: unknown) => logger.error({ err: error }, 'gateway start failed'));

  return {
    app,
    services,
    started,
    async close() {
      stopping.abort();
      await app.close();
      await predictions.close();
      await registry.close();
      await follower.stop();
      await host.close();
      // A start-up step that was in flight may have opened a client after its close above: once it
      // has ended (the abort ends its retries), close again, so nothing keeps the process alive.
      const settled = await Promise.race([started.catch(() => undefined).then(() => true), delay(15_000, false, { ref: false })]);
      if (!settled) logger.warn('gateway start-up still running 15 s after close');
      await registry.close();
      await follower.stop();
    },
  };
}

/** The topics among `names` that the cluster does not have. */
async function missingTopics(kafka: Kafka, names: readonly string[]): Promise<string[]> {
  const admin = createAdmin(kafka);
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    return names.filter((t) => !existing.has(t));
  } finally {
    await admin.disconnect();
  }
}
