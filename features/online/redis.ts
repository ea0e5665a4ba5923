/**
 * The Redis adapter of the online store (layout in layout.ts, CAS script in cas.ts).
 *
 * A batch is first reduced to the newest row per entity (the CAS merge is a max, so the outcome is
 * the same and Redis does less), then sent as one pipeline of EVALSHA calls, each over a run of up to
 * `keysPerCall` keys: one round trip per batch, and Redis busy at most one short run at a time. (On a
 * Redis Cluster the runs would be formed per hash slot; the script's per-key logic needs nothing
 * else.) A script missing after a Redis restart (NOSCRIPT) is loaded and the failed calls re-sent.
 * Reads are one pipeline of GET calls, whatever the number of groups and entities.
 */
import { createHash } from 'node:crypto';
import type { Redis } from '../../kernel/clients.ts';
import { RheoError } from '../../kernel/errors.ts';
import { type FeatureGroupDecl, type FeatureRow, newestPerEntity, ttlMs } from '../declaration.ts';
import { CAS_REPLIES, CAS_SCRIPT, RETIME_SCRIPT } from './cas.ts';
import { DEFAULT_PREFIX, decodeEntry, encodeEntry, entityIdOf, entityKey, groupPattern, groupsKey } from './layout.ts';
import {
  emptyWriteResult,
  type OnlineEnsureReport,
  type OnlineGroupRecord,
  type OnlineReadRequest,
  type OnlineStore,
  type OnlineWriteResult,
} from './store.ts';

interface Script {
  text: string;
  sha: string;
}

function script(text: string): Script {
  return { text, sha: createHash('sha1').update(text).digest('hex') };
}

const CAS = script(CAS_SCRIPT);
const RETIME = script(RETIME_SCRIPT);

type PipelineResult = Array<[Error | null, unknown]>;

export interface RedisOnlineStoreOptions {
  /** Key prefix; default `rheo:features`. Tests use their own. */
  prefix?: string;
  /** Whether `close` disconnects the client (true when the store created it). */
  ownsClient?: boolean;
  /** Keys per SCAN page (ensure, entityIds, teardown). */
  scanCount?: number;
  /** Entity keys per CAS script call (each call is atomic, so this bounds how long Redis is busy with one); default 256. */
  keysPerCall?: number;
}

export class RedisOnlineStore implements OnlineStore {
  readonly name = 'redis';
  readonly prefix: string;
  readonly redis: Redis;
  readonly #ownsClient: boolean;
  readonly #scanCount: number;
  readonly #keysPerCall: number;

  constructor(redis: Redis, options: RedisOnlineStoreOptions = {}) {
    this.redis = redis;
    this.prefix = options.prefix ?? DEFAULT_PREFIX;
    this.#ownsClient = options.ownsClient ?? false;
    this.#scanCount = options.scanCount ?? 1000;
    this.#keysPerCall = options.keysPerCall ?? 256;
    // Connection errors surface as rejected commands (SINK_UNAVAILABLE); without a listener ioredis prints each one.
    if (redis.listenerCount('error') === 0) redis.on('error', () => undefined);
  }

  key(group: string, entityId: string): string {
    return entityKey(this.prefix, group, entityId);
  }

  async ensure(group: FeatureGroupDecl): Promise<OnlineEnsureReport> {
    const ttlSeconds = group.ttlSeconds ?? null;
    const previousText = await this.#call('reading the group registry', () =>
      this.redis.hget(groupsKey(this.prefix), group.name),
    );
    const previous = previousText ? (JSON.parse(previousText) as { ttlSeconds: number | null }) : undefined;
    let entriesRetimed = 0;
    // Unknown before (entries may predate the record) or TTL changed: recompute every entry's expiry.
    if (previous === undefined || previous.ttlSeconds !== ttlSeconds) {
      for await (const keys of this.#scan(group.name)) {
        const pipeline = this.redis.pipeline();
        for (const key of keys) pipeline.evalsha(RETIME.sha, 1, key, String(ttlMs(group) ?? 0));
        const results = await this.#exec(pipeline, RETIME, (i) => [1, keys[i] as string, String(ttlMs(group) ?? 0)]);
        entriesRetimed += results.filter(([, reply]) => reply === 1).length;
      }
    }
    const record = { version: group.version, ttlSeconds, features: group.features.map((f) => f.name) };
    await this.#call('recording the group', () => this.redis.hset(groupsKey(this.prefix), group.name, JSON.stringify(record)));
    return { group: group.name, previousTtlSeconds: previous?.ttlSeconds, ttlSeconds, entriesRetimed };
  }

  /** What `ensure` last recorded of the group (TTL, version, features), or undefined when nothing; reads only. */
  async recorded(group: string): Promise<OnlineGroupRecord | undefined> {
    const text = await this.#call('reading the group registry', () => this.redis.hget(groupsKey(this.prefix), group));
    return text ? (JSON.parse(text) as OnlineGroupRecord) : undefined;
  }

  async writeBatch(group: FeatureGroupDecl, rows: readonly FeatureRow[]): Promise<OnlineWriteResult> {
    const result = emptyWriteResult();
    if (rows.length === 0) return result;
    const newest = newestPerEntity(rows);
    // Rows that lost to a newer row of the same batch are stale by construction.
    result.stale += rows.length - newest.length;
    const ttl = String(ttlMs(group) ?? 0);
    // One script call per run of keys, all calls in one pipeline: one round trip per batch.
    const calls: Array<Array<string | number>> = [];
    for (let start = 0; start < newest.length; start += this.#keysPerCall) {
      const run = newest.slice(start, start + this.#keysPerCall);
      calls.push([
        run.length,
        ...run.map((row) => this.key(group.name, row.entityId)),
        ttl,
        ...run.map((row) => encodeEntry(row, group.features)),
      ]);
    }
    const pipeline = this.redis.pipeline();
    for (const args of calls) pipeline.evalsha(CAS.sha, ...(args as [number, ...string[]]));
    const replies = await this.#exec(pipeline, CAS, (i) => calls[i] as Array<string | number>);
    for (const [, reply] of replies) {
      for (const code of reply as number[]) {
        const outcome = CAS_REPLIES[Number(code)];
        if (!outcome) throw new RheoError('SINK_UNAVAILABLE', `Redis CAS answered ${String(code)}`);
        result[outcome]++;
      }
    }
    return result;
  }

  async read(requests: readonly OnlineReadRequest[]): Promise<Array<Array<FeatureRow | null>>> {
    const pipeline = this.redis.pipeline();
    for (const request of requests)
      for (const entityId of request.entityIds) pipeline.get(this.key(request.group.name, entityId));
    if (pipeline.length === 0) return requests.map(() => []);
    const results = (await this.#call('reading features', () => pipeline.exec())) as PipelineResult;
    let index = 0;
    return requests.map((request) => {
      const wanted = request.features
        ? request.group.features.filter((f) => request.features?.includes(f.name))
        : request.group.features;
      return request.entityIds.map((entityId) => {
        const [error, text] = results[index++] as [Error | null, string | null];
        if (error) throw unavailable('reading features', error);
        return decodeEntry(entityId, wanted, text);
      });
    });
  }

  async *entityIds(group: FeatureGroupDecl): AsyncIterable<string[]> {
    for await (const keys of this.#scan(group.name)) yield keys.map((key) => entityIdOf(this.prefix, group.name, key));
  }

  async teardown(group: FeatureGroupDecl): Promise<void> {
    for await (const keys of this.#scan(group.name)) await this.#call('deleting entries', () => this.redis.unlink(...keys));
    await this.#call('forgetting the group', () => this.redis.hdel(groupsKey(this.prefix), group.name));
  }

  async close(): Promise<void> {
    if (this.#ownsClient) await this.redis.quit().catch(() => this.redis.disconnect());
  }

  async *#scan(group: string): AsyncIterable<string[]> {
    let cursor = '0';
    const pattern = groupPattern(this.prefix, group);
    do {
      const [next, keys] = await this.#call('scanning keys', () =>
        this.redis.scan(cursor, 'MATCH', pattern, 'COUNT', this.#scanCount),
      );
      cursor = next;
      if (keys.length > 0) yield keys;
    } while (cursor !== '0');
  }

  /** Runs a pipeline of EVALSHA calls; calls that failed with NOSCRIPT are re-sent once the script is loaded. */
  async #exec(
    pipeline: ReturnType<Redis['pipeline']>,
    which: Script,
    argsOf: (index: number) => Array<string | number>,
  ): Promise<PipelineResult> {
    const results = (await this.#call('running the CAS script', () => pipeline.exec())) as PipelineResult;
    const missing = results.flatMap(([error], i) => (error && /NOSCRIPT/.test(error.message) ? [i] : []));
    if (missing.length > 0) {
      await this.#call('loading the CAS script', () => this.redis.script('LOAD', which.text));
      const retry = this.redis.pipeline();
      for (const i of missing) retry.evalsha(which.sha, ...(argsOf(i) as [number, string, ...string[]]));
      const again = (await this.#call('running the CAS script', () => retry.exec())) as PipelineResult;
      missing.forEach((i, j) => {
        results[i] = again[j] as [Error | null, unknown];
      });
    }
    const failed = results.find(([error]) => error);
    if (failed?.[0]) throw unavailable('running the CAS script', failed[0]);
    return results;
  }

  async #call<T>(what: string, action: () => Promise<T>): Promise<T> {
    try {
      return await action();
    } catch (error) {
      throw unavailable(what, error);
    }
  }
}

function unavailable(what: string, error: unknown): RheoError {
  if (error instanceof RheoError) return error;
  return new RheoError('SINK_UNAVAILABLE', `Redis failed ${what}: ${error instanceof Error ? error.message : String(error)}`, {
    cause: error,
  });
}
