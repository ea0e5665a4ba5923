/**
 * The Redis layout of the online store (pure; unit-tested):
 *
 *   <prefix>:<group>:<entity_id>   hash, one per entity and group
 *       _et   event_time (epoch ms)      _ct   created_time (epoch ms)      _id   event_id
 *       <feature>   the value, one field per feature (absent when null)
 *     expiry (PEXPIREAT) = event_time + the group's TTL; no expiry when the group has none
 *   <prefix>:_groups               hash: group → JSON {version, ttlSeconds, features} as last ensured
 *
 * Values are strings: doubles and longs in JavaScript's shortest round-trip form, booleans `1`/`0`,
 * strings as they are. The prefix defaults to `rheo:features`; the group name cannot contain `:`, so
 * a key names exactly one (group, entity) whatever the entity id holds.
 */
import { type FeatureDecl, type FeatureRow, type FeatureValue, storedValue } from '../declaration.ts';

export const DEFAULT_PREFIX = 'rheo:features';
export const META_FIELDS = ['_et', '_ct', '_id'] as const;

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

export function encodeValue(value: FeatureValue): string | null {
  if (value === null) return null;
  if (typeof value === 'boolean') return value ? '1' : '0';
  return String(value);
}

export function decodeValue(feature: Pick<FeatureDecl, 'type'>, text: string | null | undefined): FeatureValue {
  if (text === null || text === undefined) return null;
  switch (feature.type) {
    case 'double':
    case 'long':
      return Number(text);
    case 'boolean':
      return text === '1';
    case 'string':
      return text;
  }
}

/** The CAS script's ARGV after the key: event_time, created_time, event_id, ttl ms (0: none), then field/value pairs. */
export function casArguments(
  row: FeatureRow,
  features: readonly Pick<FeatureDecl, 'name'>[],
  ttlMs: number | undefined,
): string[] {
  const args = [String(row.eventTime), String(row.createdTime), row.eventId, String(ttlMs ?? 0)];
  for (const feature of features) {
    const encoded = encodeValue(row.values[feature.name] ?? null);
    if (encoded !== null) args.push(feature.name, encoded);
  }
  return args;
}

/** A row back from `HMGET key _et _ct _id <features...>`; null when the entity has no entry. */
export function rowFromFields(
  entityId: string,
  features: readonly FeatureDecl[],
  fields: ReadonlyArray<string | null>,
): FeatureRow | null {
  const [et, ct, id] = fields;
  if (et === null || et === undefined) return null;
  const values: Record<string, FeatureValue> = {};
  features.forEach((feature, i) => {
    values[feature.name] = storedValue(feature, decodeValue(feature, fields[i + 3]));
  });
  return { entityId, eventTime: Number(et), createdTime: Number(ct), eventId: id ?? '', values };
}
