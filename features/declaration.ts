/**
 * What a feature group is, to the feature store: the declaration (from `schemas/feature-group.ts`,
 * where its Avro schema is derived), feature references (`group:feature`), the order in which two
 * versions of an entity's features supersede each other, and the checked row every store writes.
 *
 * One ordering everywhere (Redis CAS script, in-memory stores, ClickHouse `argMax`, reconcile):
 * a row is newer when its (event_time, created_time, event_id) tuple is greater, compared field by
 * field, event ids byte-wise. So a late event never overwrites a newer one, a correction (same
 * event_time, later created_time) wins, and two different events with equal times resolve the same
 * way whatever order they arrive in.
 */
import { RheoError } from '../kernel/errors.ts';
import { declarationProblems, type FeatureDecl, type FeatureGroupDecl, type FeatureValueType } from '../schemas/feature-group.ts';
import { SchemaInvalidError } from '../schemas/index.ts';

export type { FeatureDecl, FeatureGroupDecl, FeatureValueType };

export type FeatureValue = number | string | boolean | null;

/**
 * Request-time inputs: features that exist only while something is scored, so they arrive with the
 * prediction request instead of from a topic. Declared beside the groups so the gateway, the model
 * input schema and the trainers name and type them the same way; they have no topic, no online
 * entry and no offline table (the prediction event records them).
 */
export interface RequestSourceDecl {
  readonly name: string;
  readonly description: string;
  readonly features: readonly FeatureDecl[];
}

/** One version of an entity's features in a group: what every store writes and reads. */
export interface FeatureRow {
  readonly entityId: string;
  /** When the values became true in the world, epoch ms. */
  readonly eventTime: number;
  /** When they were computed and produced, epoch ms. */
  readonly createdTime: number;
  readonly eventId: string;
  /** Feature name → value; a nullable feature may be null. */
  readonly values: Readonly<Record<string, FeatureValue>>;
}

export type RowVersion = Pick<FeatureRow, 'eventTime' | 'createdTime' | 'eventId'>;

const MAX_TTL_SECONDS = 10 * 365 * 24 * 3600;

/** Every reason a declaration cannot be used by the feature store (schema derivation rules plus TTL). */
export function groupProblems(decl: FeatureGroupDecl): string[] {
  const problems = declarationProblems(decl);
  if (
    decl.ttlSeconds !== undefined &&
    (!Number.isInteger(decl.ttlSeconds) || decl.ttlSeconds < 1 || decl.ttlSeconds > MAX_TTL_SECONDS)
  )
    problems.push(`ttlSeconds must be a whole number of seconds between 1 and ${MAX_TTL_SECONDS}, got ${decl.ttlSeconds}`);
  return problems;
}

/** Checks a declaration and freezes it. Write groups as `defineFeatureGroup({...} as const)` to keep typed events. */
export function defineFeatureGroup<const D extends FeatureGroupDecl>(decl: D): D {
  const problems = groupProblems(decl);
  if (problems.length > 0) {
    throw new SchemaInvalidError(`feature group "${decl.name}" is not valid: ${problems.join('; ')}`, {
      details: { group: decl.name, problems },
    });
  }
  for (const feature of decl.features) Object.freeze(feature);
  Object.freeze(decl.features);
  return Object.freeze(decl);
}

/** TTL in ms, or undefined when values never expire. */
export function ttlMs(decl: Pick<FeatureGroupDecl, 'ttlSeconds'>): number | undefined {
  return decl.ttlSeconds === undefined ? undefined : decl.ttlSeconds * 1000;
}

/** When a row stops being valid (event time + TTL), or undefined for never. */
export function expiresAt(decl: Pick<FeatureGroupDecl, 'ttlSeconds'>, row: Pick<FeatureRow, 'eventTime'>): number | undefined {
  const ttl = ttlMs(decl);
  return ttl === undefined ? undefined : row.eventTime + ttl;
}

/** Whether a row has expired at `at` (epoch ms): `at ≥ event_time + TTL`. */
export function isExpired(decl: Pick<FeatureGroupDecl, 'ttlSeconds'>, row: Pick<FeatureRow, 'eventTime'>, at: number): boolean {
  const until = expiresAt(decl, row);
  return until !== undefined && at >= until;
}

/** Byte-wise comparison of UTF-8 strings (what Redis Lua and ClickHouse do); <0, 0, >0. */
export function compareBytes(a: string, b: string): number {
  if (a === b) return 0;
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/** Orders two versions of an entity's features: >0 when `a` supersedes `b`, 0 for the same event. */
export function compareVersions(a: RowVersion, b: RowVersion): number {
  if (a.eventTime !== b.eventTime) return a.eventTime < b.eventTime ? -1 : 1;
  if (a.createdTime !== b.createdTime) return a.createdTime < b.createdTime ? -1 : 1;
  return compareBytes(a.eventId, b.eventId);
}

/** The newest row per entity (input order otherwise kept). Pure; the CAS merge is a max, so this changes no outcome. */
export function newestPerEntity<R extends FeatureRow>(rows: readonly R[]): R[] {
  const newest = new Map<string, R>();
  for (const row of rows) {
    const current = newest.get(row.entityId);
    if (!current || compareVersions(row, current) > 0) newest.set(row.entityId, row);
  }
  return [...newest.values()];
}

/** A parsed `group:feature` reference. */
export interface FeatureRef {
  readonly group: string;
  readonly feature: string;
}

const REF = /^([a-z][a-z0-9_]*):([a-z][a-z0-9_]*)$/;

export function parseFeatureRef(ref: string): FeatureRef {
  const match = REF.exec(ref);
  if (!match) throw new RheoError('BAD_REQUEST', `feature reference ${JSON.stringify(ref)} is not "group:feature"`);
  return { group: match[1] as string, feature: match[2] as string };
}

export function formatFeatureRef(ref: FeatureRef): string {
  return `${ref.group}:${ref.feature}`;
}

/**
 * A stored value as readers see it: a feature absent from an entry written before the feature was
 * declared reads as its declared default (as Avro schema resolution does), else null.
 */
export function storedValue(feature: FeatureDecl, value: FeatureValue | undefined): FeatureValue {
  if (value !== undefined && value !== null) return value;
  return feature.nullable ? null : (feature.default ?? null);
}

/** Whether `value` is a valid value of `feature` (type, nullability, finite numbers, safe integers). */
export function valueProblem(feature: FeatureDecl, value: unknown): string | undefined {
  if (value === null || value === undefined) return feature.nullable ? undefined : `feature "${feature.name}" is not nullable`;
  switch (feature.type) {
    case 'double':
      return typeof value === 'number' && Number.isFinite(value)
        ? undefined
        : `feature "${feature.name}" must be a finite double, got ${show(value)}`;
    case 'long':
      return typeof value === 'number' && Number.isSafeInteger(value)
        ? undefined
        : `feature "${feature.name}" must be an integer (long), got ${show(value)}`;
    case 'string':
      return typeof value === 'string' ? undefined : `feature "${feature.name}" must be a string, got ${show(value)}`;
    case 'boolean':
      return typeof value === 'boolean' ? undefined : `feature "${feature.name}" must be a boolean, got ${show(value)}`;
  }
}

function show(value: unknown): string {
  const text = typeof value === 'string' ? JSON.stringify(value) : String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/**
 * A decoded feature event of `decl` as a checked row, or the reason it is not one (the materializer
 * dead-letters it). `key` is the record key, which must be the entity id (the partitioning contract).
 */
export function rowFromEvent(
  decl: FeatureGroupDecl,
  event: Readonly<Record<string, unknown>>,
  key?: string | null,
): { row: FeatureRow } | { reason: string } {
  const entityId = event.entity_id;
  if (typeof entityId !== 'string' || entityId.length === 0) return { reason: 'missing entity: entity_id is empty' };
  if (key !== undefined && key !== entityId)
    return {
      reason: `record key ${key === null ? 'is missing' : JSON.stringify(key.slice(0, 200))} but entity_id is ${JSON.stringify(entityId.slice(0, 200))}; the key must be the entity id`,
    };
  const eventTime = event.event_time;
  const createdTime = event.created_time;
  if (typeof eventTime !== 'number' || !Number.isSafeInteger(eventTime) || eventTime < 0)
    return { reason: `event_time must be epoch milliseconds ≥ 0, got ${show(eventTime)}` };
  if (typeof createdTime !== 'number' || !Number.isSafeInteger(createdTime) || createdTime < 0)
    return { reason: `created_time must be epoch milliseconds ≥ 0, got ${show(createdTime)}` };
  const eventId = event.event_id;
  if (typeof eventId !== 'string' || eventId.length === 0) return { reason: 'event_id is empty' };
  const values: Record<string, FeatureValue> = {};
  for (const feature of decl.features) {
    const value = event[feature.name] ?? null;
    const problem = valueProblem(feature, value);
    if (problem) return { reason: problem };
    values[feature.name] = value as FeatureValue;
  }
  return { row: { entityId, eventTime, createdTime, eventId, values } };
}
