/**
 * The kernel's configuration: the cluster connections, the local stack and the log level, declared
 * as settings schemas (`kernel/settings.ts`) with defaults for the local stack on loopback (`npx
 * rheo stack env` prints the same values). Components declare their own schemas the same way.
 * Secrets are kept out of `describeConfig` so they never reach a log.
 */
import { DEFAULT_LOG_LEVEL, LOG_SETTINGS, type LogLevel } from './log.ts';
import {
  bool,
  configInvalid,
  duration,
  type Environment,
  int,
  list,
  load,
  oneOf,
  optional,
  processEnvironment,
  type Settings,
  text,
  url,
  variable,
} from './settings.ts';

/**
 * Where the local stack lives and how its ports are shifted. The stack (`deploy/local`) and the
 * clients' defaults both load these, so they always agree. The offset lets a second stack (a fresh
 * clone's, a CI run's) run beside a developer's.
 */
export const STACK_SETTINGS = {
  RHEO_STACK_DIR: variable(text(), {
    default: '.stack',
    description: 'where the local stack keeps its data, logs and pids',
  }),
  RHEO_STACK_PORT_OFFSET: variable(int(0, 20_000), {
    default: 0,
    description: 'shifts every local-stack port (and the client defaults with them)',
  }),
} as const;

export interface LocalPorts {
  readonly kafka: readonly [number, number, number];
  readonly kafkaController: readonly [number, number, number];
  readonly registry: number;
  /** Apicurio's management interface (health, metrics); the stack only probes it. */
  readonly registryManagement: number;
  readonly redis: number;
  readonly clickhouseHttp: number;
  readonly clickhouseNative: number;
  readonly clickhouseInterserver: number;
}

/** Loopback ports of the local stack shifted by `offset`; chosen away from the services' defaults so a developer's own Kafka or Redis never collides. */
export function localPorts(offset: number): LocalPorts {
  return {
    kafka: [19092 + offset, 19094 + offset, 19096 + offset],
    kafkaController: [19093 + offset, 19095 + offset, 19097 + offset],
    registry: 18081 + offset,
    registryManagement: 18082 + offset,
    redis: 16379 + offset,
    clickhouseHttp: 18123 + offset,
    clickhouseNative: 19000 + offset,
    clickhouseInterserver: 19009 + offset,
  };
}

/** The local stack's ports for the offset `env` asks for (`RHEO_STACK_PORT_OFFSET`). */
export function localPortsFrom(env: Environment = processEnvironment()): LocalPorts {
  return localPorts(load(STACK_SETTINGS, env).RHEO_STACK_PORT_OFFSET);
}

/** The local stack's directory `env` names (`RHEO_STACK_DIR`). */
export function stackDirFrom(env: Environment = processEnvironment()): string {
  return load(STACK_SETTINGS, env).RHEO_STACK_DIR;
}

/** The cluster connections, with defaults pointing at a local stack on `ports`. */
export function connectionSettings(ports: LocalPorts) {
  return {
    RHEO_KAFKA_BROKERS: variable(list, {
      default: [`127.0.0.1:${ports.kafka[0]}`],
      description: 'comma-separated bootstrap brokers',
    }),
    RHEO_KAFKA_CLIENT_ID: variable(text(), { default: 'rheo', description: 'client id prefix' }),
    RHEO_KAFKA_SSL: variable(bool, { default: false, description: 'TLS to the brokers' }),
    RHEO_KAFKA_SSL_CA_FILE: optional(text(), { description: 'CA bundle for TLS to the brokers' }),
    RHEO_KAFKA_SSL_REJECT_UNAUTHORIZED: variable(bool, {
      default: true,
      description: 'refuse brokers whose certificate does not verify',
    }),
    RHEO_KAFKA_SASL_MECHANISM: optional(oneOf(['plain', 'scram-sha-256', 'scram-sha-512']), {
      description: 'SASL mechanism; needs RHEO_KAFKA_SASL_USERNAME and RHEO_KAFKA_SASL_PASSWORD',
    }),
    RHEO_KAFKA_SASL_USERNAME: optional(text(), { description: 'SASL user' }),
    RHEO_KAFKA_SASL_PASSWORD: optional(text(), { description: 'SASL password (never logged)' }),
    RHEO_KAFKA_CONNECTION_TIMEOUT_MS: variable(duration(100, 120_000), {
      default: 5_000,
      description: 'how long a broker connection may take',
    }),
    RHEO_KAFKA_REQUEST_TIMEOUT_MS: variable(duration(100, 300_000), {
      default: 30_000,
      description: 'how long a broker request may take',
    }),
    RHEO_KAFKA_REPLICATION_FACTOR: optional(int(1, 5), {
      description: 'replication factor of topics Rheo creates',
      documentedDefault: 'min(3, brokers)',
    }),
    RHEO_SCHEMA_REGISTRY_URL: variable(url, {
      default: `http://127.0.0.1:${ports.registry}/apis/ccompat/v7`,
      description: 'Confluent-compatible schema registry',
    }),
    RHEO_SCHEMA_REGISTRY_USERNAME: optional(text(), { description: 'registry basic-auth user' }),
    RHEO_SCHEMA_REGISTRY_PASSWORD: optional(text(), { description: 'registry basic-auth password (never logged)' }),
    RHEO_REDIS_URL: variable(text(), { default: `redis://127.0.0.1:${ports.redis}/0`, description: 'online store' }),
    RHEO_CLICKHOUSE_URL: variable(url, { default: `http://127.0.0.1:${ports.clickhouseHttp}`, description: 'offline store' }),
    RHEO_CLICKHOUSE_DATABASE: variable(text({ pattern: /^[A-Za-z_][A-Za-z0-9_]*$/, patternName: 'a plain identifier' }), {
      default: 'rheo',
      description: 'offline store database',
    }),
    RHEO_CLICKHOUSE_USERNAME: variable(text(), { default: 'default', description: 'offline store user' }),
    // Empty means unset, and unset is the default '': ClickHouse's local `default` user has no password.
    RHEO_CLICKHOUSE_PASSWORD: variable(text(), {
      default: '',
      description: 'offline store password (never logged)',
      documentedDefault: 'empty',
    }),
  } as const;
}

/** Every variable the kernel configuration reads. */
export function kernelSettings(ports: LocalPorts) {
  return { ...STACK_SETTINGS, ...LOG_SETTINGS, ...connectionSettings(ports) } as const;
}

export type Env = Settings<ReturnType<typeof kernelSettings>>;

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
  logLevel: LogLevel;
  stackDir: string;
}

/**
 * Loads and validates the kernel's variables; throws one CONFIG_INVALID naming every bad one. The
 * port offset is loaded first, since the other defaults depend on it.
 */
export function loadConfig(env: Environment = processEnvironment()): RheoConfig {
  const e = load(kernelSettings(localPortsFrom(env)), env);
  if (e.RHEO_KAFKA_SASL_MECHANISM && (!e.RHEO_KAFKA_SASL_USERNAME || e.RHEO_KAFKA_SASL_PASSWORD === undefined)) {
    throw configInvalid([
      'RHEO_KAFKA_SASL_MECHANISM is set, so RHEO_KAFKA_SASL_USERNAME and RHEO_KAFKA_SASL_PASSWORD are required',
    ]);
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
    logLevel: e.RHEO_LOG_LEVEL ?? DEFAULT_LOG_LEVEL,
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
