/**
 * Client factories for the stores, built from the one config. Callers own the lifecycle (`quit`/`close`).
 */
import { type ClickHouseClient, createClient } from '@clickhouse/client';
import { Redis } from 'ioredis';
import type { RheoConfig } from './config.ts';

export type { ClickHouseClient, Redis };

export function createRedis(
  config: RheoConfig,
  options: { lazyConnect?: boolean; maxRetriesPerRequest?: number | null } = {},
): Redis {
  return new Redis(config.redis.url, {
    lazyConnect: options.lazyConnect ?? false,
    // A failing command rejects quickly so the runner can pause and retry with its own backoff.
    maxRetriesPerRequest: options.maxRetriesPerRequest === undefined ? 2 : options.maxRetriesPerRequest,
    enableOfflineQueue: true,
    connectTimeout: 5_000,
    retryStrategy: (attempt) => Math.min(200 * attempt, 2_000),
  });
}

/**
 * ClickHouse over HTTP. `database` is optional so that bootstrap code can create the database first.
 * No client-side settings beyond what ClickHouse 18.16 understands are sent.
 */
export function createClickHouse(
  config: RheoConfig,
  options: { database?: string | null; requestTimeoutMs?: number } = {},
): ClickHouseClient {
  const database = options.database === undefined ? config.clickhouse.database : options.database;
  return createClient({
    url: config.clickhouse.url,
    username: config.clickhouse.username,
    password: config.clickhouse.password,
    ...(database ? { database } : {}),
    request_timeout: options.requestTimeoutMs ?? 30_000,
    compression: { request: false, response: false },
    application: 'rheo',
  });
}
