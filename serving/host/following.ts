/**
 * The serving side of the registry, as the gateway and the scorers all need it: a follower of
 * `models.lifecycle` and a ModelHost that reloads whenever the folded state changes.
 */

import { artifactResolver, type ServingSettings, servesFilter } from '../../gateway/settings.ts';
import type { Kafka } from '../../kernel/kafka.ts';
import type { Logger } from '../../kernel/log.ts';
import type { Registry } from '../../kernel/metrics.ts';
import { RegistryFollower } from '../../registry/follower.ts';
import type { SchemaCodec } from '../../schemas/index.ts';
import { ModelHost } from './host.ts';

export function createFollowingHost(deps: {
  kafka: Kafka;
  codec: SchemaCodec;
  logger: Logger;
  metrics: Registry;
  settings: ServingSettings;
  /** Micro-batching of one host's sessions (the gateway and the streaming scorer tune it differently). */
  session: { maxBatchRows: number; lingerMs: number };
}): { follower: RegistryFollower; host: ModelHost } {
  const { kafka, codec, logger, metrics, settings } = deps;
  const follower = new RegistryFollower({ kafka, codec, logger });
  const serves = servesFilter(settings);
  const host = new ModelHost({
    artifacts: artifactResolver(settings),
    logger,
    metrics,
    maxSessions: settings.host.maxSessions,
    retryDelayMs: settings.host.retryDelayMs,
    ...(serves ? { serves } : {}),
    session: deps.session,
  });
  follower.onChange((state) => void host.update(state));
  return { follower, host };
}
