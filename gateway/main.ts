/**
 * Runs the gateway as a process: `rheo gateway` or `node gateway/main.ts`. Listens at once (health
 * answers, readiness follows), reads online features from Redis through the feature store, and on
 * SIGTERM/SIGINT stops accepting, finishes requests in flight, flushes the prediction log and exits.
 */

import { RedisOnlineStore } from '../features/online/redis.ts';
import type { FeatureRegistry } from '../features/registry.ts';
import { createClickHouse, createRedis } from '../kernel/clients.ts';
import { loadConfig, type RheoConfig } from '../kernel/config.ts';
import { createLogger, type Logger } from '../kernel/log.ts';
import { openProject } from '../projects/context.ts';
import { onlineFeatureLookup } from '../serving/feature-lookup.ts';
import { featuresRoutes } from './features.ts';
import { clickHouseMonitoringStore, monitoringRoutes } from './monitoring.ts';
import { createGateway, type Gateway } from './server.ts';
import { describeServingSettings, loadServingSettings, type ServingSettings } from './settings.ts';

export interface RunningGateway extends Gateway {
  url: string;
}

/**
 * Starts a gateway with the feature store's Redis reader and routes, features resolved against the
 * project's groups; resolves once it listens.
 */
export async function startGateway(
  config: RheoConfig,
  settings: ServingSettings,
  logger: Logger,
  options: { features: FeatureRegistry; port?: number; host?: string },
): Promise<RunningGateway> {
  const redis = createRedis(config, { lazyConnect: true });
  const online = new RedisOnlineStore(redis, { ownsClient: true });
  const { features } = options;
  const clickhouse = createClickHouse(config);
  const gateway = await createGateway(config, settings, {
    logger,
    features: onlineFeatureLookup(online, features),
    plugins: [
      async (app) => void (await app.register(featuresRoutes, { online, registry: features })),
      async (app) =>
        void (await app.register(monitoringRoutes, { store: clickHouseMonitoringStore(clickhouse, config.clickhouse.database) })),
    ],
  });
  const url = await gateway.app.listen({
    host: options.host ?? settings.gateway.host,
    port: options.port ?? settings.gateway.port,
  });
  logger.info({ url, settings: describeServingSettings(settings) }, 'gateway listening');
  return {
    ...gateway,
    url,
    async close() {
      await gateway.close();
      redis.disconnect();
      await clickhouse.close();
    },
  };
}

/** Runs until SIGTERM/SIGINT, then closes gracefully. `project`: the `--project` folder, if given. */
export async function runGateway(
  options: { port?: number; host?: string; project?: string; onListening?: (url: string) => void } = {},
): Promise<void> {
  const { project: projectFlag, onListening, ...listen } = options;
  const project = await openProject({ flag: projectFlag });
  const config = loadConfig();
  const settings = loadServingSettings(config);
  const logger = createLogger('gateway', { level: config.logLevel });
  const gateway = await startGateway(config, settings, logger, { ...listen, features: project.features });
  onListening?.(gateway.url);
  await new Promise<void>((resolve) => {
    const stop = (signal: NodeJS.Signals) => {
      logger.info({ signal }, 'signal received; draining');
      process.off('SIGTERM', stop);
      process.off('SIGINT', stop);
      gateway.close().then(resolve, (error: unknown) => {
        logger.error({ err: error }, 'gateway close failed');
        resolve();
      });
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  });
  logger.info('gateway stopped');
}

if (import.meta.main) {
  await runGateway({ onListening: (url) => process.stdout.write(`rheo gateway listening on ${url}\n`) });
}
