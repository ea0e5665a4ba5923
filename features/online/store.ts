/**
 * The online store: the latest features per entity, for serving. A narrow interface (after Feast's
 * online stores) that every adapter implements and `tests/support/online-conformance.ts` checks:
 *
 * - `writeBatch` keeps, per entity, the newest row by (event_time, created_time, event_id): a late or
 *   replayed row never overwrites a newer one; a correction (same event_time, later created_time) wins.
 * - A row expires at event_time + the group's TTL: reads never return it afterwards, and a row that
 *   arrives already expired is not served. Expiry follows event time, so a replay rebuilds the same
 *   expiries, and the online view equals the offline history's latest valid value "as of now".
 * - `read` answers many groups and entities in one round trip.
 * - `ensure` records the declaration; a changed TTL is applied to the entries already stored.
 */
import type { FeatureGroupDecl, FeatureRow } from '../declaration.ts';

export interface OnlineWriteResult {
  /** Rows that became the entity's current value. */
  accepted: number;
  /** Rows older than what the store holds (late or replayed events): kept offline only. */
  stale: number;
  /** The very event already stored (a redelivery). */
  duplicate: number;
}

export interface OnlineReadRequest {
  readonly group: FeatureGroupDecl;
  readonly entityIds: readonly string[];
  /** Feature names to return; all of the group's when absent. */
  readonly features?: readonly string[];
}

export interface OnlineEnsureReport {
  group: string;
  /** TTL (seconds) the store applied before this call, when it knew the group. */
  previousTtlSeconds: number | null | undefined;
  ttlSeconds: number | null;
  /** Entries whose expiry was recomputed because the TTL changed. */
  entriesRetimed: number;
}

/** What a store recorded of a group when it last ensured it (read by `recorded`, never changed by it). */
export interface OnlineGroupRecord {
  readonly ttlSeconds: number | null;
  readonly version?: number;
  readonly features?: readonly string[];
}

export interface OnlineStore {
  readonly name: string;
  /** Records the group's declaration; when its TTL changed, recomputes the expiry of every stored entry. Idempotent. */
  ensure(group: FeatureGroupDecl): Promise<OnlineEnsureReport>;
  /** Conditional write of each row (newest wins); resolves once the store acknowledged every one. */
  writeBatch(group: FeatureGroupDecl, rows: readonly FeatureRow[]): Promise<OnlineWriteResult>;
  /** For each request, one entry per entity id (same order): the current row, or null when absent or expired. */
  read(requests: readonly OnlineReadRequest[]): Promise<Array<Array<FeatureRow | null>>>;
  /** Entity ids with a stored entry, in pages (for reconcile). */
  entityIds(group: FeatureGroupDecl): AsyncIterable<string[]>;
  /** Deletes every entry of the group and what the store recorded about it. */
  teardown(group: FeatureGroupDecl): Promise<void>;
  close(): Promise<void>;
}

export function emptyWriteResult(): OnlineWriteResult {
  return { accepted: 0, stale: 0, duplicate: 0 };
}
