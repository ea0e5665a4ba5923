/**
 * The online store's compare-and-set: the Lua script Redis runs atomically over a run of entity keys
 * (KEYS; ARGV[1] the TTL in ms, 0 for none; ARGV[1 + k] the new entry of KEYS[k] in the layout of
 * layout.ts), answering per key 1 (accepted), 0 (stale) or 2 (duplicate); and the same decision in
 * TypeScript (`decide`, used by the in-memory store and unit tests; the conformance suite checks
 * Redis agrees).
 *
 * An entry is replaced only by a newer one: greater (event_time, created_time, event_id), numbers
 * compared as numbers, event ids byte by byte (Lua's `<` on strings follows the server's locale, so
 * it is not used). Two calls per key: GET the stored entry's header, then either SET the new entry
 * with its expiry (PXAT event_time + TTL) in one command, or keep the stored one and give it the TTL
 * passed in, counted from its own event time — so a changed TTL reaches every key a write touches.
 * An expiry in the past removes the key, as if it had expired on time. A key holding another type
 * (an older layout) is treated as absent and replaced.
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
local function header(entry)
  local et, ct, n, at = string.match(entry, '^(%d+)|(%d+)|(%d+):()')
  if not et then return nil end
  return tonumber(et), tonumber(ct), string.sub(entry, at, at + tonumber(n) - 1)
end
local ttl = tonumber(ARGV[1])
local replies = {}
for k = 1, #KEYS do
  local key, entry = KEYS[k], ARGV[k + 1]
  local et, ct, id = header(entry)
  local order = 1
  local cet
  -- pcall: a key of another type (an older layout) counts as absent and is replaced.
  local current = redis.pcall('GET', key)
  if type(current) == 'string' then
    local cct, cid
    cet, cct, cid = header(current)
    if cet then
      if et ~= cet then
        if et < cet then order = -1 end
      elseif ct ~= cct then
        if ct < cct then order = -1 end
      else
        order = bytecmp(id, cid)
      end
    end
  end
  if order > 0 then
    if ttl > 0 then
      redis.call('SET', key, entry, 'PXAT', string.format('%d', et + ttl))
    else
      redis.call('SET', key, entry)
    end
    replies[k] = 1
  else
    if ttl > 0 then redis.call('PEXPIREAT', key, string.format('%d', cet + ttl)) else redis.call('PERSIST', key) end
    if order == 0 then replies[k] = 2 else replies[k] = 0 end
  end
end
return replies
`;

/** Recomputes one key's expiry from its stored event time and the TTL in ARGV[1] (0: none); 1 when the key exists. */
export const RETIME_SCRIPT = `
local entry = redis.pcall('GET', KEYS[1])
if type(entry) ~= 'string' then return 0 end
local et = string.match(entry, '^(%d+)|')
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
