/**
 * Settings of the registry, serving and scoring components, declared as a settings schema
 * (`kernel/settings.ts`) with defaults for the local stack; `kernel/config.ts` owns the cluster
 * connections and this module adds only what serving needs. Secrets (API keys, S3 credentials)
 * never appear in `describeServingSettings`.
 */
import { isAbsolute, join } from 'node:path';
import type { RheoConfig } from '../kernel/config.ts';
import {
  bool,
  configInvalid,
  duration,
  type Environment,
  int,
  list,
  load,
  optional,
  processEnvironment,
  text,
  url,
  variable,
} from '../kernel/settings.ts';
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

const KIB = 1024;
const MIB = 1024 * KIB;

export const SERVING_SETTINGS = {
  RHEO_ARTIFACT_STORE: optional(text(), {
    description: 'a shared path, or `s3://bucket/prefix`',
    documentedDefault: '<RHEO_STACK_DIR>/artifacts',
  }),
  RHEO_S3_ENDPOINT: variable(url, { default: 'https://s3.amazonaws.com', description: 'S3 endpoint of an s3:// store' }),
  RHEO_S3_REGION: variable(text(), { default: 'us-east-1', description: 'S3 region' }),
  RHEO_S3_ACCESS_KEY_ID: optional(text(), { description: 'S3 access key id; required for an s3:// store' }),
  RHEO_S3_SECRET_ACCESS_KEY: optional(text(), { description: 'S3 secret key; required for an s3:// store (never logged)' }),
  RHEO_S3_SESSION_TOKEN: optional(text(), { description: 'S3 session token (never logged)' }),
  RHEO_S3_VIRTUAL_HOSTED: variable(bool, { default: false, description: 'virtual-hosted-style S3 URLs instead of path style' }),
  RHEO_GATEWAY_HOST: variable(text(), { default: '127.0.0.1', description: 'where the gateway listens' }),
  RHEO_GATEWAY_PORT: variable(int(0, 65535), { default: 8080, description: 'the gateway port' }),
  RHEO_GATEWAY_API_KEYS: optional(text(), {
    description: '`principal:key:scope[+scope],…`; required off loopback',
    documentedDefault: 'the two local keys',
  }),
  RHEO_GATEWAY_RATE_LIMIT_PER_SECOND: variable(int(1, 10_000_000), {
    default: 20_000,
    description: 'token bucket refill per API key',
  }),
  RHEO_GATEWAY_RATE_LIMIT_BURST: optional(int(1, 10_000_000), {
    description: 'token bucket size per API key',
    documentedDefault: '2× the rate',
  }),
  RHEO_GATEWAY_BODY_LIMIT_BYTES: variable(int(KIB, 64 * MIB), { default: 256 * KIB, description: '413 above' }),
  RHEO_GATEWAY_BATCH_BODY_LIMIT_BYTES: variable(int(KIB, 256 * MIB), {
    default: 16 * MIB,
    description: '413 above, for batch routes',
  }),
  RHEO_GATEWAY_REQUEST_TIMEOUT_MS: variable(duration(10, 600_000), { default: 2_000, description: 'request deadline' }),
  RHEO_GATEWAY_MAX_INSTANCES: variable(int(1, 100_000), { default: 256, description: 'instances per predict call' }),
  RHEO_GATEWAY_MAX_BATCH_INSTANCES: variable(int(1, 1_000_000), { default: 20_000, description: 'instances per batch call' }),
  RHEO_GATEWAY_PREDICTION_BROKERS: optional(list, {
    description: 'brokers of the prediction log',
    documentedDefault: 'RHEO_KAFKA_BROKERS',
  }),
  RHEO_GATEWAY_PREDICTION_BUFFER: variable(int(100, 10_000_000), {
    default: 100_000,
    description: 'predictions buffered while Kafka is away',
  }),
  RHEO_MODEL_CACHE_SIZE: variable(int(1, 1000), { default: 16, description: 'ONNX sessions kept in memory' }),
  RHEO_MODEL_BATCH_ROWS: variable(int(1, 100_000), { default: 512, description: 'micro-batch rows per runtime call' }),
  RHEO_MODEL_LINGER_MS: variable(duration(0, 1000), { default: 0, description: 'micro-batch linger' }),
  RHEO_MODEL_RETRY_MS: variable(duration(100, 3_600_000), { default: 30_000, description: 'retry of a refused version' }),
  RHEO_SERVE_MODELS: optional(text(), { description: 'models this instance serves (`*` for all)', documentedDefault: 'all' }),
  RHEO_SCORER_BATCH_SIZE: variable(int(1, 100_000), { default: 1024, description: 'streaming scorer rows per runtime call' }),
  RHEO_SCORER_LINGER_MS: variable(duration(0, 10_000), { default: 5, description: 'streaming scorer linger' }),
  RHEO_SCORER_CHUNK_RECORDS: variable(int(1, 100_000), { default: 2000, description: 'streaming scorer records per chunk' }),
} as const;

export function loadServingSettings(config: RheoConfig, env: Environment = processEnvironment()): ServingSettings {
  const e = load(SERVING_SETTINGS, env);
  const store = e.RHEO_ARTIFACT_STORE ?? join(config.stackDir, 'artifacts');
  let artifacts: ServingSettings['artifacts'];
  if (store.startsWith('s3://')) {
    if (!e.RHEO_S3_ACCESS_KEY_ID || !e.RHEO_S3_SECRET_ACCESS_KEY)
      throw configInvalid(['RHEO_ARTIFACT_STORE is s3://, so RHEO_S3_ACCESS_KEY_ID and RHEO_S3_SECRET_ACCESS_KEY are required']);
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
    throw configInvalid([
      `RHEO_GATEWAY_HOST is ${e.RHEO_GATEWAY_HOST}, off loopback: set RHEO_GATEWAY_API_KEYS (the built-in local keys only work on 127.0.0.1)`,
    ]);
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
      predictionBrokers: e.RHEO_GATEWAY_PREDICTION_BROKERS ?? config.kafka.brokers,
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
        throw configInvalid(['RHEO_GATEWAY_API_KEYS entries are principal:key[:scope+scope]']);
      if (key.length < 16) throw configInvalid([`RHEO_GATEWAY_API_KEYS: the key of ${principal} is shorter than 16 characters`]);
      const scopes = scopeText.split('+').map((s) => s.trim());
      for (const s of scopes)
        if (s !== 'predict' && s !== 'admin') throw configInvalid([`RHEO_GATEWAY_API_KEYS: unknown scope "${s}"`]);
      const set = new Set(scopes as Scope[]);
      if (set.has('admin')) set.add('predict');
      return { principal, key, scopes: [...set] };
    });
  if (keys.length === 0) throw configInvalid(['RHEO_GATEWAY_API_KEYS is empty']);
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
