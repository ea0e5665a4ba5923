/**
 * The in-memory offline store: the reference semantics of point-in-time reads, written as plainly
 * as possible, that the conformance suite holds ClickHouse to (and broker-free tests use).
 */
import { compareVersions, type FeatureGroupDecl, type FeatureRow, type FeatureValue, isExpired } from '../declaration.ts';
import { checkQuery, type OfflinePlan, type OfflineStore, type PointInTimeQuery } from './store.ts';

export class MemoryOfflineStore implements OfflineStore {
  readonly name = 'memory';
  /** group → sorting key (entity, event_time, created_time, event_id) → row: one copy per event, like a merged table. */
  readonly #rows = new Map<string, Map<string, FeatureRow>>();

  async plan(group: FeatureGroupDecl): Promise<OfflinePlan> {
    const exists = this.#rows.has(group.name);
    return {
      group: group.name,
      table: group.name,
      action: exists ? 'none' : 'create',
      addColumns: [],
      makeNullable: [],
      conflicts: [],
    };
  }

  async ensure(group: FeatureGroupDecl): Promise<OfflinePlan> {
    const plan = await this.plan(group);
    if (!this.#rows.has(group.name)) this.#rows.set(group.name, new Map());
    return plan;
  }

  async writeBatch(group: FeatureGroupDecl, rows: readonly FeatureRow[]): Promise<void> {
    let table = this.#rows.get(group.name);
    if (!table) {
      table = new Map();
      this.#rows.set(group.name, table);
    }
    for (const row of rows) {
      const values: Record<string, FeatureValue> = {};
      for (const feature of group.features) values[feature.name] = row.values[feature.name] ?? null;
      table.set(JSON.stringify([row.entityId, row.eventTime, row.createdTime, row.eventId]), { ...row, values });
    }
  }

  async pointInTime(
    group: FeatureGroupDecl,
    queries: readonly PointInTimeQuery[],
    features?: readonly string[],
  ): Promise<Array<FeatureRow | null>> {
    const rows = [...(this.#rows.get(group.name)?.values() ?? [])];
    return queries.map((query) => {
      checkQuery(query);
      let best: FeatureRow | null = null;
      for (const row of rows) {
        if (row.entityId !== query.entityId) continue;
        if (row.eventTime > query.timestamp || row.createdTime > query.timestamp) continue;
        if (isExpired(group, row, query.timestamp)) continue;
        if (!best || compareVersions(row, best) > 0) best = row;
      }
      return best && project(best, features);
    });
  }

  async *latest(group: FeatureGroupDecl): AsyncIterable<FeatureRow[]> {
    const newest = new Map<string, FeatureRow>();
    for (const row of this.#rows.get(group.name)?.values() ?? []) {
      const current = newest.get(row.entityId);
      if (!current || compareVersions(row, current) > 0) newest.set(row.entityId, row);
    }
    if (newest.size > 0) yield [...newest.values()];
  }

  async count(group: FeatureGroupDecl): Promise<number> {
    return this.#rows.get(group.name)?.size ?? 0;
  }

  async teardown(group: FeatureGroupDecl): Promise<void> {
    this.#rows.delete(group.name);
  }

  async close(): Promise<void> {}
}

function project(row: FeatureRow, features?: readonly string[]): FeatureRow {
  if (!features) return row;
  const values: Record<string, FeatureValue> = {};
  for (const name of features) values[name] = row.values[name] ?? null;
  return { ...row, values };
}
