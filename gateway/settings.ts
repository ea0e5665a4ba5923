/**
 * Settings of the registry, serving and scoring components, from `RHEO_*` environment variables with
 * typed validation and defaults for the local stack — the same pattern as `kernel/config.ts`, which
 * owns the cluster connections; this module adds only what serving needs. Secrets (API keys, S3
 * credentials) never appear in `describeServingSettings`.
 */
import { isAbsolute, join } from 'node:path';
import { z } from 'zod';
import { ConfigError, type RheoConfig } from '../kernel/config.ts';
import { FileArtifactStore } from '../serving/artifacts/fs.ts';
import { parseS3Location, S3ArtifactStore } from '../serving/artifacts/s3.ts';
import { ArtifactResolver, type ArtifactStore } from '../serving/artifacts/store.ts';

export type Scope = 'predict' | 'admin';

export interface ApiKey {
  /** Who the key belongs to; registry decisions made with it are attributed to `user:<principal>`. */
  principal: string;
  key: string;
  scopes: Scope[];
}

export interface ServingSettings {
  artifacts:
    | { kind: 'file'; root: string }
    | {
        kind: 's3';
        bucket: string;
        prefix: string;
        endpoint: string;
        region: string;
        virtualHosted: boolean;
        credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
      };
  gateway: {
    host: string;
    port: number;
    apiKeys: ApiKey[];
    /** True when the built-in local keys are in use (refused on a non-loopback host). */
    defaultKeys: boolean;
    rateLimit: { perSecond: number; burst: number };
    bodyLimitBytes: number;
    batchBodyLimitBytes: number;
    requestTimeoutMs: number;
    maxInstances: number;
    maxBatchInstances: number;
    /** Brokers the prediction log produces to; defaults to RHEO_KAFKA_BROKERS. */
    predictionBrokers: string[];
    predictionBufferMax: number;
  };
  host: {
    maxSessions: number;
    maxBatchRows: number;
    lingerMs: number;
    retryDelayMs: number;
    /** Models this instance serves (RHEO_SERVE_MODELS); undefined = every registered model. */
    models: string[] | undefined;
  };
  scorer: { batchSize: number; lingerMs: number; chunkRecords: number };
}

/** Local-stack keys, so `rheo gateway` and the demo work out of the box on loopback. Never valid off loopback. */
export const LOCAL_API_KEYS: readonly ApiKey[] = [
  { principal: 'local-admin', key: 'rheo-local-admin-key', scopes: ['admin', 'predict'] },
  { principal: 'local-predict', key: 'rheo-local-predict-key', scopes: ['predict'] },
];

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const bool = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');

const ServingEnv = z.object({
  RHEO_ARTIFACT_STORE: z.string().optional(),
  RHEO_S3_ENDPOINT: z.url().default('https://s3.amazonaws.com'),
  RHEO_S3_REGION: z.string().min(1).default('us-east-1'),
  RHEO_S3_ACCESS_KEY_ID: z.string().optional(),
  RHEO_S3_SECRET_ACCESS_KEY: z.string().optional(),
  RHEO_S3_SESSION_TOKEN: z.string().optional(),
  RHEO_S3_VIRTUAL_HOSTED: bool.default(false),
  RHEO_GATEWAY_HOST: z.string().min(1).default('127.0.0.1'),
  RHEO_GATEWAY_PORT: int(0, 65535).default(8080),
  RHEO_GATEWAY_API_KEYS: z.string().optional(),
  RHEO_GATEWAY_RATE_LIMIT_PER_SECOND: int(1, 10_000_000).default(20_000),
  RHEO_GATEWAY_RATE_LIMIT_BURST: int(1, 10_000_000).optional(),
  RHEO_GATEWAY_BODY_LIMIT_BYTES: int(1024, 64 * 1024 * 1024).default(256 * 1024),
  RHEO_GATEWAY_BATCH_BODY_LIMIT_BYTES: int(1024, 256 * 1024 * 1024).default(16 * 1024 * 1024),
  RHEO_GATEWAY_REQUEST_TIMEOUT_MS: int(10, 600_000).default(2_000),
  RHEO_GATEWAY_MAX_INSTANCES: int(1, 100_000).default(256),
  RHEO_GATEWAY_MAX_BATCH_INSTANCES: int(1, 1_000_000).default(20_000),
  RHEO_GATEWAY_PREDICTION_BROKERS: z.string().optional(),
  RHEO_GATEWAY_PREDICTION_BUFFER: int(100, 10_000_000).default(100_000),
  RHEO_MODEL_CACHE_SIZE: int(1, 1000).default(16),
  RHEO_MODEL_BATCH_ROWS: int(1, 100_000).default(512),
  RHEO_MODEL_LINGER_MS: int(0, 1000).default(0),
  RHEO_MODEL_RETRY_MS: int(100, 3_600_000).default(30_000),
  RHEO_SERVE_MODELS: z.string().optional(),
  RHEO_SCORER_BATCH_SIZE: int(1, 100_000).default(1024),
  RHEO_SCORER_LINGER_MS: int(0, 10_000).default(5),
  RHEO_SCORER_CHUNK_RECORDS: int(1, 100_000).default(2000),
});

export function loadServingSettings(config: RheoConfig, env: NodeJS.ProcessEnv = process.env): ServingSettings {
  const raw: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (k.startsWith('RHEO_') && v !== undefined && v !== '') raw[k] = v;
  const parsed = ServingEnv.safeParse(raw);
  if (!parsed.success) {
    throw new ConfigError(
      `invalid configuration:\n  ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('\n  ')}`,
    );
  }
  const e = parsed.data;
  const store = e.RHEO_ARTIFACT_STORE ?? join(config.stackDir, 'artifacts');
  let artifacts: ServingSettings['artifacts'];
  if (store.startsWith('s3://')) {
    if (!e.RHEO_S3_ACCESS_KEY_ID || !e.RHEO_S3_SECRET_ACCESS_KEY)
      throw new ConfigError(
        'invalid configuration:\n  RHEO_ARTIFACT_STORE is s3://, so RHEO_S3_ACCESS_KEY_ID and RHEO_S3_SECRET_ACCESS_KEY are required',
      );
    const { bucket, prefix } = parseS3Location(store);
    artifacts = {
      kind: 's3',
      bucket,
      prefix,
      endpoint: e.RHEO_S3_ENDPOINT,
      region: e.RHEO_S3_REGION,
      virtualHosted: e.RHEO_S3_VIRTUAL_HOSTED,
      credentials: {
        accessKeyId: e.RHEO_S3_ACCESS_KEY_ID,
        secretAccessKey: e.RHEO_S3_SECRET_ACCESS_KEY,
        ...(e.RHEO_S3_SESSION_TOKEN ? { sessionToken: e.RHEO_S3_SESSION_TOKEN } : {}),
      },
    };
  } else {
    const path = store.replace(/^file:\/\//, '');
    artifacts = { kind: 'file', root: isAbsolute(path) ? path : join(process.cwd(), path) };
  }
  const apiKeys = e.RHEO_GATEWAY_API_KEYS ? parseApiKeys(e.RHEO_GATEWAY_API_KEYS) : [...LOCAL_API_KEYS];
  const defaultKeys = !e.RHEO_GATEWAY_API_KEYS;
  if (defaultKeys && !isLoopback(e.RHEO_GATEWAY_HOST))
    throw new ConfigError(
      `invalid configuration:\n  RHEO_GATEWAY_HOST is ${e.RHEO_GATEWAY_HOST}, off loopback: set RHEO_GATEWAY_API_KEYS (the built-in local keys only work on 127.0.0.1)`,
    );
  return {
    artifacts,
    gateway: {
      host: e.RHEO_GATEWAY_HOST,
      port: e.RHEO_GATEWAY_PORT,
      apiKeys,
      defaultKeys,
      rateLimit: {
        perSecond: e.RHEO_GATEWAY_RATE_LIMIT_PER_SECOND,
        burst: e.RHEO_GATEWAY_RATE_LIMIT_BURST ?? 2 * e.RHEO_GATEWAY_RATE_LIMIT_PER_SECOND,
      },
      bodyLimitBytes: e.RHEO_GATEWAY_BODY_LIMIT_BYTES,
      batchBodyLimitBytes: e.RHEO_GATEWAY_BATCH_BODY_LIMIT_BYTES,
      requestTimeoutMs: e.RHEO_GATEWAY_REQUEST_TIMEOUT_MS,
      maxInstances: e.RHEO_GATEWAY_MAX_INSTANCES,
      maxBatchInstances: e.RHEO_GATEWAY_MAX_BATCH_INSTANCES,
      predictionBrokers: e.RHEO_GATEWAY_PREDICTION_BROKERS
        ? e.RHEO_GATEWAY_PREDICTION_BROKERS.split(',')
            .map((b) => b.trim())
            .filter(Boolean)
        : config.kafka.brokers,
      predictionBufferMax: e.RHEO_GATEWAY_PREDICTION_BUFFER,
    },
    host: {
      maxSessions: e.RHEO_MODEL_CACHE_SIZE,
      maxBatchRows: e.RHEO_MODEL_BATCH_ROWS,
      lingerMs: e.RHEO_MODEL_LINGER_MS,
      retryDelayMs: e.RHEO_MODEL_RETRY_MS,
      models:
        !e.RHEO_SERVE_MODELS || e.RHEO_SERVE_MODELS.trim() === '*'
          ? undefined
          : e.RHEO_SERVE_MODELS.split(',')
              .map((m) => m.trim())
              .filter(Boolean),
    },
    scorer: { batchSize: e.RHEO_SCORER_BATCH_SIZE, lingerMs: e.RHEO_SCORER_LINGER_MS, chunkRecords: e.RHEO_SCORER_CHUNK_RECORDS },
  };
}

/** `principal:key:scope+scope,…` (scopes: `predict`, `admin`; admin implies predict). */
export function parseApiKeys(text: string): ApiKey[] {
  const keys = text
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean)
    .map((entry) => {
      const [principal, key, scopeText = 'predict', ...rest] = entry.split(':');
      if (!principal || !key || rest.length > 0 || !/^[A-Za-z0-9_.@-]+$/.test(principal))
        throw new ConfigError('invalid configuration:\n  RHEO_GATEWAY_API_KEYS entries are principal:key[:scope+scope]');
      if (key.length < 16)
        throw new ConfigError(
          `invalid configuration:\n  RHEO_GATEWAY_API_KEYS: the key of ${principal} is shorter than 16 characters`,
        );
      const scopes = scopeText.split('+').map((s) => s.trim());
      for (const s of scopes)
        if (s !== 'predict' && s !== 'admin')
          throw new ConfigError(`invalid configuration:\n  RHEO_GATEWAY_API_KEYS: unknown scope "${s}"`);
      const set = new Set(scopes as Scope[]);
      if (set.has('admin')) set.add('predict');
      return { principal, key, scopes: [...set] };
    });
  if (keys.length === 0) throw new ConfigError('invalid configuration:\n  RHEO_GATEWAY_API_KEYS is empty');
  return keys;
}

function isLoopback(host: string): boolean {
  return host === '127.0.0.1' || host === '::1' || host === 'localhost';
}

/** The configured store (where new artifacts are written). */
export function openArtifactStore(settings: ServingSettings): ArtifactStore {
  const a = settings.artifacts;
  if (a.kind === 'file') return new FileArtifactStore(a.root);
  return new S3ArtifactStore({
    endpoint: a.endpoint,
    bucket: a.bucket,
    prefix: a.prefix,
    region: a.region,
    credentials: a.credentials,
    virtualHosted: a.virtualHosted,
  });
}

/** Reads artifacts from the configured store, and `file:` URIs from any shared path. */
export function artifactResolver(settings: ServingSettings): ArtifactResolver {
  const store = openArtifactStore(settings);
  return new ArtifactResolver(
    store.scheme === 'file'
      ? [store]
      : [store, new FileArtifactStore(settings.artifacts.kind === 'file' ? settings.artifacts.root : '/')],
  );
}

/** The host's serving-pool filter for these settings. */
export function servesFilter(settings: ServingSettings): ((model: string) => boolean) | undefined {
  const models = settings.host.models;
  if (!models) return undefined;
  const set = new Set(models);
  return (model) => set.has(model);
}

/** A loggable view: no keys, no credentials. */
export function describeServingSettings(settings: ServingSettings): Record<string, unknown> {
  const a = settings.artifacts;
  return {
    artifacts: a.kind === 'file' ? a : { kind: 's3', bucket: a.bucket, prefix: a.prefix, endpoint: a.endpoint, region: a.region },
    gateway: {
      ...settings.gateway,
      apiKeys: settings.gateway.apiKeys.map((k) => ({ principal: k.principal, scopes: k.scopes })),
    },
    host: settings.host,
    scorer: settings.scorer,
  };
}
