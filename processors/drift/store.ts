/**
 * The drift processor's window store, in Redis: what makes a restart (even kill -9) give the same
 * reports as an uninterrupted run, and lets instances share partitions.
 *
 *   <ns>:part:<p>      hash {next, state}   a partition's open windows and the offset they include up to
 *   <ns>:wm            hash p → maxT        each partition's event time (largest seen)
 *   <ns>:pending       zset fragment → end  windows closed on at least one partition, not yet reported
 *   <ns>:frag:<f>      hash p → counts      the partitions' sealed fragments of window f
 *   <ns>:dlq           hash slot → n        undecodable records per closed slot, all partitions
 *   <ns>:cool          hash model → end     end of the window behind the model's last retraining request
 *   <ns>:lock          string               one instance reports at a time
 *
 * `persist` applies a chunk atomically (one Lua script) and only on top of the state the chunk was
 * computed from (compare-and-set on `next`): a chunk redelivered after a crash finds its effect already
 * there and is acknowledged without counting twice. The runner commits the Kafka offset after this
 * write, so Redis is never behind the committed offset. Losing the store loses nothing that cannot be
 * rebuilt: reset the consumer group to the earliest offset under a new namespace and replay.
 */
import type { Redis } from '../../kernel/clients.ts';
import { type Fragment, fragmentKey, type PartitionState, type PartitionWrite } from './transform.ts';

const PERSIST_SCRIPT = `
local function cmp(a, b)
  if #a ~= #b then if #a < #b then return -1 end return 1 end
  for i = 1, #a do
    local x, y = string.byte(a, i), string.byte(b, i)
    if x ~= y then if x < y then return -1 end return 1 end
  end
  return 0
end
local cur = redis.call('HGET', KEYS[1], 'next')
if cur then
  if cmp(cur, ARGV[2]) >= 0 then return 'already' end
  if cur ~= ARGV[1] then return 'conflict' end
elseif ARGV[1] ~= '' then
  return 'conflict'
end
redis.call('HSET', KEYS[1], 'next', ARGV[2], 'state', ARGV[3])
if ARGV[5] ~= '' then redis.call('HSET', KEYS[2], ARGV[4], ARGV[5]) end
local n = tonumber(ARGV[6])
local a = 7
for i = 1, n do
  redis.call('HSET', KEYS[4 + i], ARGV[4], ARGV[a + 2])
  redis.call('ZADD', KEYS[3], ARGV[a + 1], ARGV[a])
  a = a + 3
end
while a <= #ARGV do
  redis.call('HINCRBY', KEYS[4], ARGV[a], ARGV[a + 1])
  a = a + 2
end
return 'applied'
`;

const UNLOCK_SCRIPT = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;

export type PersistOutcome = 'applied' | 'already' | 'conflict';

export interface DueWindow {
  /** The fragment key `model|version|start`. */
  member: string;
  model: string;
  version: string;
  start: number;
  end: number;
}

export function parseMember(member: string, end: number): DueWindow {
  const [model, version, start] = member.split('|');
  return {
    member,
    model: decodeURIComponent(model ?? ''),
    version: decodeURIComponent(version ?? ''),
    start: Number(start),
    end,
  };
}

export class DriftStore {
  readonly namespace: string;
  readonly #redis: Redis;

  /** `namespace` scopes every key: `<prefix>:<group>:<topic>`, so test runs and groups never meet. */
  constructor(redis: Redis, namespace: string) {
    this.#redis = redis;
    this.namespace = namespace;
  }

  #key(...parts: Array<string | number>): string {
    return [this.namespace, ...parts].join(':');
  }

  async load(partition: number): Promise<PartitionState | undefined> {
    const state = await this.#redis.hget(this.#key('part', partition), 'state');
    return state === null ? undefined : (JSON.parse(state) as PartitionState);
  }

  async persist(write: PartitionWrite): Promise<PersistOutcome> {
    const { state, sealed, sealedDlq, partition } = write;
    const keys = [
      this.#key('part', partition),
      this.#key('wm'),
      this.#key('pending'),
      this.#key('dlq'),
      ...sealed.map((f) => this.#fragKey(f)),
    ];
    const args: Array<string | number> = [
      write.base ?? '',
      state.next ?? '',
      JSON.stringify(state),
      partition,
      state.maxT === null ? '' : state.maxT,
      sealed.length,
    ];
    for (const f of sealed) args.push(memberOf(f), f.end, JSON.stringify(f));
    for (const d of sealedDlq) args.push(d.slot, d.count);
    return (await this.#redis.eval(PERSIST_SCRIPT, keys.length, ...keys, ...args)) as PersistOutcome;
  }

  #fragKey(f: Pick<Fragment, 'model' | 'version' | 'start'> | string): string {
    return this.#key('frag', typeof f === 'string' ? f : memberOf(f));
  }

  /** Largest event time per partition (only partitions that have seen a record). */
  async watermarks(): Promise<Map<number, number>> {
    const all = await this.#redis.hgetall(this.#key('wm'));
    return new Map(Object.entries(all).map(([p, t]) => [Number(p), Number(t)]));
  }

  /** Windows closed somewhere with end ≤ `threshold`, by end then key. */
  async due(threshold: number, limit: number): Promise<DueWindow[]> {
    const flat = Number.isFinite(limit)
      ? await this.#redis.zrangebyscore(this.#key('pending'), '-inf', threshold, 'WITHSCORES', 'LIMIT', 0, limit)
      : await this.#redis.zrangebyscore(this.#key('pending'), '-inf', threshold, 'WITHSCORES');
    const out: DueWindow[] = [];
    for (let i = 0; i < flat.length; i += 2) out.push(parseMember(flat[i] as string, Number(flat[i + 1])));
    return out.sort((a, b) => a.end - b.end || (a.member < b.member ? -1 : a.member > b.member ? 1 : 0));
  }

  async pendingCount(): Promise<number> {
    return this.#redis.zcard(this.#key('pending'));
  }

  /** The sealed fragments of one window, by partition order. */
  async fragments(member: string): Promise<Fragment[]> {
    const all = await this.#redis.hgetall(this.#fragKey(member));
    return Object.entries(all)
      .sort(([a], [b]) => Number(a) - Number(b))
      .map(([, json]) => JSON.parse(json) as Fragment);
  }

  async dlqSlots(): Promise<Map<number, number>> {
    const all = await this.#redis.hgetall(this.#key('dlq'));
    return new Map(Object.entries(all).map(([slot, n]) => [Number(slot), Number(n)]));
  }

  async lastRequest(model: string): Promise<number | null> {
    const end = await this.#redis.hget(this.#key('cool'), model);
    return end === null ? null : Number(end);
  }

  /** Reported windows leave the store; the models' cool-down marks move; slots no window needs go. */
  async finish(members: readonly string[], requested: ReadonlyMap<string, number>, pruneSlots: readonly number[]): Promise<void> {
    const tx = this.#redis.multi();
    if (members.length > 0) {
      tx.zrem(this.#key('pending'), ...members);
      tx.del(...members.map((m) => this.#fragKey(m)));
    }
    for (const [model, end] of requested) tx.hset(this.#key('cool'), model, String(end));
    if (pruneSlots.length > 0) tx.hdel(this.#key('dlq'), ...pruneSlots.map(String));
    await tx.exec();
  }

  async lock(token: string, ttlMs: number): Promise<boolean> {
    return (await this.#redis.set(this.#key('lock'), token, 'PX', ttlMs, 'NX')) === 'OK';
  }

  async unlock(token: string): Promise<void> {
    await this.#redis.eval(UNLOCK_SCRIPT, 1, this.#key('lock'), token);
  }

  /** Removes every key of the namespace (tests and benchmarks clean up after themselves). */
  async clear(): Promise<void> {
    let cursor = '0';
    do {
      const [next, keys] = await this.#redis.scan(cursor, 'MATCH', `${this.namespace}:*`, 'COUNT', 500);
      cursor = next;
      if (keys.length > 0) await this.#redis.del(...keys);
    } while (cursor !== '0');
  }
}

function memberOf(f: Pick<Fragment, 'model' | 'version' | 'start'>): string {
  return fragmentKey(f.model, f.version, f.start);
}
