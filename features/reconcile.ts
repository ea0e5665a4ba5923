/**
 * Reconcile: the online store must hold, for every entity, exactly the newest offline row that has
 * not expired — same event, same values — and nothing else. Run it when the materializer has caught
 * up (rows in flight show as differences). Entities whose expiry falls within `marginMs` of now are
 * skipped and counted, since Redis may expire them between the two reads.
 */
import { expiresAt, type FeatureGroupDecl, type FeatureRow, type FeatureValue } from './declaration.ts';
import type { OfflineStore } from './offline/store.ts';
import type { OnlineStore } from './online/store.ts';

export type DifferenceKind = 'missing_online' | 'unexpected_online' | 'different_event' | 'different_values';

export interface Difference {
  entityId: string;
  kind: DifferenceKind;
  online?: Pick<FeatureRow, 'eventTime' | 'createdTime' | 'eventId'> & { values: Record<string, FeatureValue> };
  offline?: Pick<FeatureRow, 'eventTime' | 'createdTime' | 'eventId'> & { values: Record<string, FeatureValue> };
}

export interface ReconcileReport {
  group: string;
  /** Entities with a valid (unexpired) offline row. */
  entitiesOffline: number;
  entitiesOnline: number;
  matching: number;
  /** Entities expiring within the margin, not compared. */
  skippedExpiring: number;
  /** Entities whose newest offline row has expired (so nothing is expected online). */
  expired: number;
  differences: number;
  /** The first differences (up to `maxExamples`). */
  examples: Difference[];
}

export async function reconcile(
  group: FeatureGroupDecl,
  online: OnlineStore,
  offline: OfflineStore,
  options: { now?: number; marginMs?: number; maxExamples?: number; pageSize?: number } = {},
): Promise<ReconcileReport> {
  const now = options.now ?? Date.now();
  const margin = options.marginMs ?? 2_000;
  const maxExamples = options.maxExamples ?? 20;
  const pageSize = options.pageSize ?? 2_000;
  const report: ReconcileReport = {
    group: group.name,
    entitiesOffline: 0,
    entitiesOnline: 0,
    matching: 0,
    skippedExpiring: 0,
    expired: 0,
    differences: 0,
    examples: [],
  };
  const note = (difference: Difference) => {
    report.differences++;
    if (report.examples.length < maxExamples) report.examples.push(difference);
  };
  /** Entities the offline side accounts for (expected online, expired, or skipped). */
  const known = new Set<string>();
  const skipped = new Set<string>();
  for await (const page of offline.latest(group)) {
    for (let start = 0; start < page.length; start += pageSize) {
      const rows = page.slice(start, start + pageSize);
      const expected: FeatureRow[] = [];
      for (const row of rows) {
        known.add(row.entityId);
        const until = expiresAt(group, row);
        if (until !== undefined && Math.abs(until - now) <= margin) {
          report.skippedExpiring++;
          skipped.add(row.entityId);
        } else if (until !== undefined && until < now) report.expired++;
        else expected.push(row);
      }
      report.entitiesOffline += expected.length;
      const [stored = []] = await online.read([{ group, entityIds: expected.map((r) => r.entityId) }]);
      expected.forEach((want, i) => {
        const have = stored[i] ?? null;
        if (!have) note({ entityId: want.entityId, kind: 'missing_online', offline: version(want) });
        else if (have.eventId !== want.eventId || have.eventTime !== want.eventTime || have.createdTime !== want.createdTime)
          note({ entityId: want.entityId, kind: 'different_event', online: version(have), offline: version(want) });
        else if (!sameValues(group, have, want))
          note({ entityId: want.entityId, kind: 'different_values', online: version(have), offline: version(want) });
        else report.matching++;
      });
    }
  }
  // Online entries the offline side does not expect: unknown entities, or rows that should have expired.
  for await (const ids of online.entityIds(group)) {
    const candidates = ids.filter((id) => !skipped.has(id));
    const [stored = []] = await online.read([{ group, entityIds: candidates }]);
    candidates.forEach((id, i) => {
      const have = stored[i];
      if (!have) return; // expired between the scan and the read
      report.entitiesOnline++;
      const until = expiresAt(group, have);
      const shouldHaveExpired = until !== undefined && until < now - margin;
      if (!known.has(id) || shouldHaveExpired) note({ entityId: id, kind: 'unexpected_online', online: version(have) });
    });
  }
  return report;
}

function version(row: FeatureRow): NonNullable<Difference['online']> {
  return { eventTime: row.eventTime, createdTime: row.createdTime, eventId: row.eventId, values: { ...row.values } };
}

function sameValues(group: FeatureGroupDecl, a: FeatureRow, b: FeatureRow): boolean {
  return group.features.every((feature) => {
    const x = a.values[feature.name] ?? null;
    const y = b.values[feature.name] ?? null;
    return x === y || (typeof x === 'number' && typeof y === 'number' && Object.is(x, y));
  });
}
