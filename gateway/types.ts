/**
 * What the gateway's plugins share: the services (as named Fastify decorators) and the per-route and
 * per-request fields the access hook sets. Fastify's own types are extended here, once.
 */

import type { Registry } from '../kernel/metrics.ts';
import type { RegistryFollower } from '../registry/follower.ts';
import type { RegistryWriter } from '../registry/writer.ts';
import type { ArtifactStore } from '../serving/artifacts/store.ts';
import type { ModelHost } from '../serving/host/host.ts';
import type { ScoringSources } from '../serving/scoring.ts';
import type { PredictionSink } from './prediction-log.ts';
import type { ServingSettings } from './settings.ts';

/** Who may call a route: anyone (health), a `predict` key, or an `admin` key. */
export type Access = 'public' | 'predict' | 'admin';

export interface Readiness {
  ready: boolean;
  checks: Record<string, { ok: boolean; detail?: unknown }>;
}

export interface GatewayServices {
  settings: ServingSettings;
  /** The host and online feature lookup predictions are scored from. */
  scoring: ScoringSources;
  host: ModelHost;
  follower: RegistryFollower;
  /** Absent when the gateway runs read-only (no management routes). */
  registry: RegistryWriter | undefined;
  store: ArtifactStore;
  predictions: PredictionSink;
  metrics: Registry;
  readiness: () => Readiness;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    access?: Access;
  }
  interface FastifyInstance {
    rheo: GatewayServices;
  }
  interface FastifyRequest {
    /** `user:<principal>` of the API key, set by the access hook. */
    actor: string;
    /** Epoch ms after which the request gets 504 and its result is discarded. */
    deadline: number;
  }
}
