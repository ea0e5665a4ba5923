/**
 * `getHistoricalFeatures`: a point-in-time correct training frame. For each entity row and its
 * timestamp, every requested feature holds the newest value known at that time — event_time ≤ t,
 * created_time ≤ t (a later backfill or correction never leaks into the past), and not expired by the
 * group's TTL at t. Rows keep their order; a row with no valid value gets null and says so in `missing`.
 */
import { RheoError } from '../../kernel/errors.ts';
import type { FeatureValue } from '../declaration.ts';
import type { EntityKey } from '../online/read.ts';
import type { FeatureRegistry } from '../registry.ts';
import type { OfflineStore } from './store.ts';

export interface EntityRow {
  /** One id for every group, or ids by entity name. */
  readonly entity: EntityKey;
  /** The point in time: epoch ms, or a Date. */
  readonly timestamp: number | Date;
}

export interface HistoricalRow {
  entity: EntityKey;
  timestamp: number;
  /** `group:feature` → value as of `timestamp`; null when none was valid. */
  values: Record<string, FeatureValue>;
  /** Event time of the values used, per group; null when none was valid. */
  eventTimes: Record<string, number | null>;
  missing: string[];
}

export async function getHistoricalFeatures(
  store: OfflineStore,
  registry: FeatureRegistry,
  rows: readonly EntityRow[],
  refs: readonly string[],
): Promise<HistoricalRow[]> {
  const selections = registry.resolve(refs);
  const times = rows.map((row, i) => {
    const ms = row.timestamp instanceof Date ? row.timestamp.getTime() : row.timestamp;
    if (typeof ms !== 'number' || !Number.isSafeInteger(ms) || ms < 0)
      throw new RheoError(
        'BAD_REQUEST',
        `row ${i}: timestamp must be epoch milliseconds ≥ 0 or a Date, got ${String(row.timestamp)}`,
      );
    return ms;
  });
  const results = await Promise.all(
    selections.map(({ group, features }) =>
      store.pointInTime(
        group,
        rows.map((row, i) => {
          const entityId = typeof row.entity === 'string' ? row.entity : row.entity[group.entity];
          if (typeof entityId !== 'string')
            throw new RheoError('BAD_REQUEST', `row ${i} lacks "${group.entity}" (needed by group ${group.name})`);
          return { entityId, timestamp: times[i] as number };
        }),
        features,
      ),
    ),
  );
  return rows.map((row, i) => {
    const out: HistoricalRow = { entity: row.entity, timestamp: times[i] as number, values: {}, eventTimes: {}, missing: [] };
    selections.forEach(({ group, features }, s) => {
      const found = results[s]?.[i] ?? null;
      out.eventTimes[group.name] = found?.eventTime ?? null;
      for (const feature of features) {
        const ref = `${group.name}:${feature}`;
        const value = found?.values[feature] ?? null;
        out.values[ref] = value;
        if (value === null) out.missing.push(ref);
      }
    });
    return out;
  });
}
