/**
 * The online store's compare-and-set, as the Lua script Redis runs atomically per entity key, and the
 * same decision in TypeScript (`decide`, used by the in-memory store and the unit tests; the
 * conformance suite checks both agree on Redis).
 *
 * A stored row is replaced only by a newer one: greater (event_time, created_time, event_id), numbers
 * compared as numbers, event ids byte by byte (Lua's `<` on strings follows the server's locale, so
 * it is not used). Replacing deletes the old hash first, so a feature that became null disappears.
 * Whatever the outcome, the key gets the TTL passed in, counted from the event time of the row it
 * keeps: a changed TTL reaches every key a write touches, and an expiry in the past removes the key.
 */
import { compareVersions, type RowVersion } from '../declaration.ts';

export const CAS_SCRIPT = `
local function bytecmp(a, b)
  if a == b then return 0 end
  for i = 1, math.min(#a, #b) do
    local x, y = string.byte(a, i), string.byte(b, i)
    if x ~= y then
      if x < y then return -1 end
      return 1
    end
  end
  if #a < #b then return -1 end
  return 1
end
local key = KEYS[1]
local et, ct, id, ttl = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3], tonumber(ARGV[4])
local cur = redis.call('HMGET', key, '_et', '_ct', '_id')
if cur[1] then
  local cet, cct = tonumber(cur[1]), tonumber(cur[2])
  local order
  if et ~= cet then
    if et < cet then order = -1 else order = 1 end
  elseif ct ~= cct then
    if ct < cct then order = -1 else order = 1 end
  else
    order = bytecmp(id, cur[3] or '')
  end
  if order <= 0 then
    if ttl > 0 then redis.call('PEXPIREAT', key, string.format('%d', cet + ttl)) else redis.call('PERSIST', key) end
    if order == 0 then return 2 end
    return 0
  end
  redis.call('DEL', key)
end
redis.call('HSET', key, '_et', ARGV[1], '_ct', ARGV[2], '_id', id, unpack(ARGV, 5))
if ttl > 0 then redis.call('PEXPIREAT', key, string.format('%d', et + ttl)) end
return 1
`;

/** Recomputes one key's expiry from its stored event time and the TTL in ARGV[1] (0: none); 1 when the key exists. */
export const RETIME_SCRIPT = `
local et = redis.call('HGET', KEYS[1], '_et')
if not et then return 0 end
local ttl = tonumber(ARGV[1])
if ttl > 0 then redis.call('PEXPIREAT', KEYS[1], string.format('%d', tonumber(et) + ttl)) else redis.call('PERSIST', KEYS[1]) end
return 1
`;

export type CasOutcome = 'accepted' | 'stale' | 'duplicate';

/** What the script answers, by outcome. */
export const CAS_REPLIES: Readonly<Record<number, CasOutcome>> = { 0: 'stale', 1: 'accepted', 2: 'duplicate' };

/** The script's decision, in TypeScript: what happens when `incoming` meets the stored row (if any). */
export function decide(stored: RowVersion | null | undefined, incoming: RowVersion): CasOutcome {
  if (!stored) return 'accepted';
  const order = compareVersions(incoming, stored);
  return order > 0 ? 'accepted' : order === 0 ? 'duplicate' : 'stale';
}
