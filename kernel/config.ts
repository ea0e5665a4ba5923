/**
 * The one configuration module: every setting comes from an environment variable, is validated
 * with a typed schema, and defaults to the local stack on loopback (`npx rheo stack env` prints
 * the same values). Secrets are kept out of `describeConfig` so they never reach a log.
 */
import { z } from 'zod';

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/**
 * Shifts every local-stack port, so a second stack (a fresh clone's, a CI run's) can run beside a
 * developer's. The stack and the clients' defaults both read it, so they always agree.
 */
function portOffset(env: NodeJS.ProcessEnv): number {
  const raw = env.RHEO_STACK_PORT_OFFSET;
  if (raw === undefined || raw === '') return 0;
  const offset = Number(raw);
  if (!Number.isInteger(offset) || offset < 0 || offset > 20_000) {
    throw new ConfigError(`invalid configuration:\n  RHEO_STACK_PORT_OFFSET: expected an integer from 0 to 20000, got "${raw}"`);
  }
  return offset;
}

const OFFSET = portOffset(process.env);

/** Loopback ports of the local stack; chosen away from the services' defaults so a developer's own Kafka or Redis never collides. */
export const LOCAL_PORTS = {
  kafka: [19092 + OFFSET, 19094 + OFFSET, 19096 + OFFSET],
  kafkaController: [19093 + OFFSET, 19095 + OFFSET, 19097 + OFFSET],
  registry: 18081 + OFFSET,
  /** Apicurio's management interface (health, metrics); the stack only probes it. */
  registryManagement: 18082 + OFFSET,
  redis: 16379 + OFFSET,
  clickhouseHttp: 18123 + OFFSET,
  clickhouseNative: 19000 + OFFSET,
  clickhouseInterserver: 19009 + OFFSET,
} as const;

const list = z
  .string()
  .transform((value) =>
    value
      .split(',')
      .map((part) => part.trim())
      .filter(Boolean),
  )
  .pipe(z.array(z.string()).min(1));

const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((value) => value === 'true' || value === '1' || value === 'yes');

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

const EnvSchema = z.object({
  RHEO_KAFKA_BROKERS: list.default([`127.0.0.1:${LOCAL_PORTS.kafka[0]}`]),
  RHEO_KAFKA_CLIENT_ID: z.string().min(1).default('rheo'),
  RHEO_KAFKA_SSL: bool.default(false),
  RHEO_KAFKA_SSL_CA_FILE: z.string().optional(),
  RHEO_KAFKA_SSL_REJECT_UNAUTHORIZED: bool.default(true),
  RHEO_KAFKA_SASL_MECHANISM: z.enum(['plain', 'scram-sha-256', 'scram-sha-512']).optional(),
  RHEO_KAFKA_SASL_USERNAME: z.string().optional(),
  RHEO_KAFKA_SASL_PASSWORD: z.string().optional(),
  RHEO_KAFKA_CONNECTION_TIMEOUT_MS: int(100, 120_000).default(5_000),
  RHEO_KAFKA_REQUEST_TIMEOUT_MS: int(100, 300_000).default(30_000),
  RHEO_KAFKA_REPLICATION_FACTOR: int(1, 5).optional(),
  RHEO_SCHEMA_REGISTRY_URL: z.url().default(`http://127.0.0.1:${LOCAL_PORTS.registry}/apis/ccompat/v7`),
  RHEO_SCHEMA_REGISTRY_USERNAME: z.string().optional(),
  RHEO_SCHEMA_REGISTRY_PASSWORD: z.string().optional(),
  RHEO_REDIS_URL: z.string().min(1).default(`redis://127.0.0.1:${LOCAL_PORTS.redis}/0`),
  RHEO_CLICKHOUSE_URL: z.url().default(`http://127.0.0.1:${LOCAL_PORTS.clickhouseHttp}`),
  RHEO_CLICKHOUSE_DATABASE: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'a plain identifier')
    .default('rheo'),
  RHEO_CLICKHOUSE_USERNAME: z.string().default('default'),
  RHEO_CLICKHOUSE_PASSWORD: z.string().default(''),
  RHEO_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  RHEO_STACK_DIR: z.string().min(1).default('.stack'),
});

export type Env = z.infer<typeof EnvSchema>;

export interface KafkaSettings {
  brokers: string[];
  clientId: string;
  ssl: false | { caFile?: string; rejectUnauthorized: boolean };
  sasl?: { mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512'; username: string; password: string };
  connectionTimeoutMs: number;
  requestTimeoutMs: number;
  /** Replication factor for topics we create; defaults to min(3, brokers in the cluster). */
  replicationFactor?: number;
}

export interface RheoConfig {
  kafka: KafkaSettings;
  registry: { url: string; auth?: { username: string; password: string } };
  redis: { url: string };
  clickhouse: { url: string; database: string; username: string; password: string };
  logLevel: Env['RHEO_LOG_LEVEL'];
  stackDir: string;
}

/** Parses and validates the environment; throws ConfigError naming every bad variable at once. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): RheoConfig {
  const parsed = EnvSchema.safeParse(pickRheoVariables(env));
  if (!parsed.success) {
    const reasons = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    throw new ConfigError(`invalid configuration:\n  ${reasons.join('\n  ')}`);
  }
  const e = parsed.data;
  if (e.RHEO_KAFKA_SASL_MECHANISM && (!e.RHEO_KAFKA_SASL_USERNAME || e.RHEO_KAFKA_SASL_PASSWORD === undefined)) {
    throw new ConfigError(
      'invalid configuration:\n  RHEO_KAFKA_SASL_MECHANISM is set, so RHEO_KAFKA_SASL_USERNAME and RHEO_KAFKA_SASL_PASSWORD are required',
    );
  }
  return {
    kafka: {
      brokers: e.RHEO_KAFKA_BROKERS,
      clientId: e.RHEO_KAFKA_CLIENT_ID,
      ssl: e.RHEO_KAFKA_SSL
        ? {
            rejectUnauthorized: e.RHEO_KAFKA_SSL_REJECT_UNAUTHORIZED,
            ...(e.RHEO_KAFKA_SSL_CA_FILE ? { caFile: e.RHEO_KAFKA_SSL_CA_FILE } : {}),
          }
        : false,
      ...(e.RHEO_KAFKA_SASL_MECHANISM
        ? {
            sasl: {
              mechanism: e.RHEO_KAFKA_SASL_MECHANISM,
              username: e.RHEO_KAFKA_SASL_USERNAME ?? '',
              password: e.RHEO_KAFKA_SASL_PASSWORD ?? '',
            },
          }
        : {}),
      connectionTimeoutMs: e.RHEO_KAFKA_CONNECTION_TIMEOUT_MS,
      requestTimeoutMs: e.RHEO_KAFKA_REQUEST_TIMEOUT_MS,
      ...(e.RHEO_KAFKA_REPLICATION_FACTOR ? { replicationFactor: e.RHEO_KAFKA_REPLICATION_FACTOR } : {}),
    },
    registry: {
      url: e.RHEO_SCHEMA_REGISTRY_URL.replace(/\/+$/, ''),
      ...(e.RHEO_SCHEMA_REGISTRY_USERNAME
        ? { auth: { username: e.RHEO_SCHEMA_REGISTRY_USERNAME, password: e.RHEO_SCHEMA_REGISTRY_PASSWORD ?? '' } }
        : {}),
    },
    redis: { url: e.RHEO_REDIS_URL },
    clickhouse: {
      url: e.RHEO_CLICKHOUSE_URL,
      database: e.RHEO_CLICKHOUSE_DATABASE,
      username: e.RHEO_CLICKHOUSE_USERNAME,
      password: e.RHEO_CLICKHOUSE_PASSWORD,
    },
    logLevel: e.RHEO_LOG_LEVEL,
    stackDir: e.RHEO_STACK_DIR,
  };
}

/** A loggable view of the configuration: passwords replaced, URLs stripped of credentials. */
export function describeConfig(config: RheoConfig): Record<string, unknown> {
  return {
    kafka: { ...config.kafka, sasl: config.kafka.sasl ? { ...config.kafka.sasl, password: '[redacted]' } : undefined },
    registry: { url: stripCredentials(config.registry.url), auth: config.registry.auth ? '[redacted]' : undefined },
    redis: { url: stripCredentials(config.redis.url) },
    clickhouse: { ...config.clickhouse, password: config.clickhouse.password ? '[redacted]' : '' },
    logLevel: config.logLevel,
  };
}

function stripCredentials(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//[redacted]@');
}

// Empty strings mean "unset" so that `RHEO_X= cmd` falls back to the default instead of failing validation.
function pickRheoVariables(env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    if (name.startsWith('RHEO_') && value !== undefined && value !== '') out[name] = value;
  }
  return out;
}
