/**
 * The Redis layout of the online store (pure; unit-tested):
 *
 *   <prefix>:<group>:<entity_id>   string, one per entity and group:
 *       <event_time>|<created_time>|<event id bytes>:<event_id><values as JSON>
 *       e.g. 1767225600000|1767225600020|36:0b6f3c2e-8f1a-4d7e-9a51-2c4d6e8f0a13{"txn_count_1h":3,"amount_avg_7d":41.5}
 *     expiry (PXAT) = event_time + the group's TTL; none when the group has no TTL
 *   <prefix>:_groups               hash: group → JSON {version, ttlSeconds, features} as last ensured
 *
 * The version header comes first so the CAS script compares versions without decoding the values,
 * and the whole entry is replaced (and its expiry set) by one SET. Values are JSON (numbers in
 * JavaScript's shortest round-trip form, booleans, strings, null); a feature absent from an entry
 * written before it was declared reads as its default. The prefix defaults to `rheo:features`; a group
 * name cannot contain `:`, so a key names exactly one (group, entity) whatever the entity id holds.
 */
import { type FeatureDecl, type FeatureRow, type FeatureValue, storedValue } from '../declaration.ts';

export const DEFAULT_PREFIX = 'rheo:features';

export function entityKey(prefix: string, group: string, entityId: string): string {
  return `${prefix}:${group}:${entityId}`;
}

export function groupsKey(prefix: string): string {
  return `${prefix}:_groups`;
}

/** SCAN pattern matching every entity key of a group (glob characters in the prefix escaped). */
export function groupPattern(prefix: string, group: string): string {
  return `${escapeGlob(`${prefix}:${group}:`)}*`;
}

export function entityIdOf(prefix: string, group: string, key: string): string {
  return key.slice(prefix.length + group.length + 2);
}

function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, (ch) => `\\${ch}`);
}

/** The stored string of a row: version header, then the declared features' values as JSON. */
export function encodeEntry(row: FeatureRow, features: readonly Pick<FeatureDecl, 'name'>[]): string {
  const values: Record<string, FeatureValue> = {};
  for (const feature of features) values[feature.name] = row.values[feature.name] ?? null;
  return `${row.eventTime}|${row.createdTime}|${Buffer.byteLength(row.eventId)}:${row.eventId}${JSON.stringify(values)}`;
}

const HEADER = /^(\d+)\|(\d+)\|(\d+):/;

/** A row back from its stored string (only `features` kept); null when absent or not an entry. */
export function decodeEntry(
  entityId: string,
  features: readonly FeatureDecl[],
  text: string | null | undefined,
): FeatureRow | null {
  if (!text) return null;
  const header = HEADER.exec(text);
  if (!header) return null;
  const rest = Buffer.from(text.slice(header[0].length), 'utf8');
  const idBytes = Number(header[3]);
  const stored = JSON.parse(rest.subarray(idBytes).toString('utf8')) as Record<string, FeatureValue>;
  const values: Record<string, FeatureValue> = {};
  for (const feature of features) values[feature.name] = storedValue(feature, stored[feature.name]);
  return {
    entityId,
    eventTime: Number(header[1]),
    createdTime: Number(header[2]),
    eventId: rest.subarray(0, idBytes).toString('utf8'),
    values,
  };
}
