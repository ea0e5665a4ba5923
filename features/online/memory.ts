/**
 * The in-memory online store: the reference the conformance suite holds Redis to, and the store of
 * broker-free tests (gateway, driver). Same decisions as the CAS script (`decide`), same expiry rule.
 */
import { expiresAt, type FeatureGroupDecl, type FeatureRow, type FeatureValue, isExpired, storedValue } from '../declaration.ts';
import { decide } from './cas.ts';
import {
  emptyWriteResult,
  type OnlineEnsureReport,
  type OnlineGroupRecord,
  type OnlineReadRequest,
  type OnlineStore,
  type OnlineWriteResult,
} from './store.ts';

export class MemoryOnlineStore implements OnlineStore {
  readonly name = 'memory';
  readonly #rows = new Map<string, Map<string, FeatureRow>>();
  readonly #ttl = new Map<string, number | null>();
  readonly #now: () => number;

  constructor(options: { now?: () => number } = {}) {
    this.#now = options.now ?? Date.now;
  }

  async ensure(group: FeatureGroupDecl): Promise<OnlineEnsureReport> {
    const previous = this.#ttl.get(group.name);
    const ttlSeconds = group.ttlSeconds ?? null;
    this.#ttl.set(group.name, ttlSeconds);
    const entries = this.#rows.get(group.name);
    const retimed = previous !== ttlSeconds ? (entries?.size ?? 0) : 0;
    // Expiry is computed from the TTL at read time, so retiming is only pruning what is now expired.
    if (entries) for (const [id, row] of entries) if (isExpired(group, row, this.#now())) entries.delete(id);
    return { group: group.name, previousTtlSeconds: previous, ttlSeconds, entriesRetimed: retimed };
  }

  /** The TTL `ensure` last recorded for the group, or undefined when it never ensured it; reads only. */
  async recorded(group: string): Promise<OnlineGroupRecord | undefined> {
    return this.#ttl.has(group) ? { ttlSeconds: this.#ttl.get(group) ?? null } : undefined;
  }

  async writeBatch(group: FeatureGroupDecl, rows: readonly FeatureRow[]): Promise<OnlineWriteResult> {
    const result = emptyWriteResult();
    let entries = this.#rows.get(group.name);
    if (!entries) {
      entries = new Map();
      this.#rows.set(group.name, entries);
    }
    const now = this.#now();
    for (const row of rows) {
      const stored = entries.get(row.entityId);
      const live = stored && !isExpired(group, stored, now) ? stored : undefined;
      const outcome = decide(live, row);
      result[outcome]++;
      if (outcome !== 'accepted') continue;
      const values: Record<string, FeatureValue> = {};
      for (const feature of group.features) values[feature.name] = row.values[feature.name] ?? null;
      const copy = { ...row, values };
      if (isExpired(group, copy, now)) entries.delete(row.entityId);
      else entries.set(row.entityId, copy);
    }
    return result;
  }

  async read(requests: readonly OnlineReadRequest[]): Promise<Array<Array<FeatureRow | null>>> {
    const now = this.#now();
    return requests.map((request) => {
      const entries = this.#rows.get(request.group.name);
      const wanted = request.features ?? request.group.features.map((f) => f.name);
      return request.entityIds.map((entityId) => {
        const row = entries?.get(entityId);
        if (!row || isExpired(request.group, row, now)) return null;
        const values: Record<string, FeatureValue> = {};
        for (const feature of request.group.features)
          if (wanted.includes(feature.name)) values[feature.name] = storedValue(feature, row.values[feature.name]);
        return { ...row, values };
      });
    });
  }

  async *entityIds(group: FeatureGroupDecl): AsyncIterable<string[]> {
    const now = this.#now();
    const ids = [...(this.#rows.get(group.name) ?? new Map<string, FeatureRow>()).values()]
      .filter((row) => !isExpired(group, row, now))
      .map((row) => row.entityId);
    if (ids.length > 0) yield ids;
  }

  async teardown(group: FeatureGroupDecl): Promise<void> {
    this.#rows.delete(group.name);
    this.#ttl.delete(group.name);
  }

  async close(): Promise<void> {}

  /** When an entity's entry expires (tests), or undefined for never/absent. */
  expiryOf(group: FeatureGroupDecl, entityId: string): number | undefined {
    const row = this.#rows.get(group.name)?.get(entityId);
    return row ? expiresAt(group, row) : undefined;
  }
}
