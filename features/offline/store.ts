/**
 * The offline store: every feature event of every group, for training sets and analytics. A narrow
 * interface every adapter implements and `tests/support/offline-conformance.ts` checks:
 *
 * - `writeBatch` stores rows idempotently: the same event written twice counts once.
 * - `pointInTime` answers, per (entity, t), the newest row with event_time ≤ t and created_time ≤ t
 *   that has not expired at t (t < event_time + TTL); newest by (event_time, created_time, event_id),
 *   the online store's order. A value produced after t (a later backfill or correction) never leaks.
 * - `latest` gives the newest row per entity whatever its age (what the online store must hold, TTL aside).
 */
import { RheoError } from '../../kernel/errors.ts';
import type { FeatureDecl, FeatureGroupDecl, FeatureRow } from '../declaration.ts';
import type { PointInTimeQuery } from './sql.ts';

export type { PointInTimeQuery };

export interface OfflinePlan {
  group: string;
  table: string;
  action: 'create' | 'alter' | 'none';
  addColumns: string[];
  makeNullable: string[];
  /** Why the table cannot follow the declaration; ensure refuses when not empty. */
  conflicts: string[];
}

export interface OfflineStore {
  readonly name: string;
  /** What `ensure` would change, and what it would refuse; changes nothing. */
  plan(group: FeatureGroupDecl): Promise<OfflinePlan>;
  /** Creates the group's table or adds what a compatible change needs; SCHEMA_INCOMPATIBLE otherwise. Idempotent. */
  ensure(group: FeatureGroupDecl): Promise<OfflinePlan>;
  /** Appends rows (idempotent per event); resolves once stored. */
  writeBatch(group: FeatureGroupDecl, rows: readonly FeatureRow[]): Promise<void>;
  /** One entry per query (same order): the row valid for that entity at that time, or null. */
  pointInTime(
    group: FeatureGroupDecl,
    queries: readonly PointInTimeQuery[],
    features?: readonly string[],
  ): Promise<Array<FeatureRow | null>>;
  /** The newest row of every entity, in pages. */
  latest(group: FeatureGroupDecl): AsyncIterable<FeatureRow[]>;
  /** Distinct events stored (duplicates of one event count once). */
  count(group: FeatureGroupDecl): Promise<number>;
  teardown(group: FeatureGroupDecl): Promise<void>;
  close(): Promise<void>;
}

export function selectFeatures(group: FeatureGroupDecl, names?: readonly string[]): FeatureDecl[] {
  return names ? group.features.filter((f) => names.includes(f.name)) : [...group.features];
}

/** Entity ids are strings and times epoch ms ≥ 0; anything else is refused before any SQL is built. */
export function checkQuery(query: PointInTimeQuery): void {
  if (typeof query.entityId !== 'string')
    throw new RheoError('BAD_REQUEST', `entity id must be a string, got ${typeof query.entityId}`);
  if (typeof query.timestamp !== 'number' || !Number.isSafeInteger(query.timestamp) || query.timestamp < 0)
    throw new RheoError('BAD_REQUEST', `timestamp must be epoch milliseconds ≥ 0, got ${String(query.timestamp)}`);
}
