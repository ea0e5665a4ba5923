/**
 * `getOnlineFeatures`: feature vectors for serving, from any online store, in one store round trip
 * per call. Each vector says how old each group's values are (staleness from event time) and which
 * requested features have no value (entity unknown or expired, or the value is null).
 */
import { RheoError } from '../../kernel/errors.ts';
import type { FeatureValue } from '../declaration.ts';
import type { FeatureRegistry } from '../registry.ts';
import type { OnlineStore } from './store.ts';

/** One id for every group, or ids by entity name (`{ card: 'card-1', merchant: 'merchant-7' }`). */
export type EntityKey = string | Readonly<Record<string, string>>;

export interface GroupFreshness {
  entityId: string;
  found: boolean;
  /** Event time of the values served, epoch ms; null when not found. */
  eventTime: number | null;
  /** now − event time, ms; null when not found. */
  stalenessMs: number | null;
}

export interface OnlineFeatureVector {
  entity: EntityKey;
  /** `group:feature` → value; null when missing. */
  values: Record<string, FeatureValue>;
  groups: Record<string, GroupFreshness>;
  /** Requested `group:feature` references without a value. */
  missing: string[];
}

export async function getOnlineFeatures(
  store: OnlineStore,
  registry: FeatureRegistry,
  entities: readonly EntityKey[],
  refs: readonly string[],
  options: { now?: number } = {},
): Promise<OnlineFeatureVector[]> {
  const selections = registry.resolve(refs);
  const idsByGroup = selections.map(({ group }) =>
    entities.map((entity) => {
      if (typeof entity === 'string') return entity;
      const id = entity[group.entity];
      if (typeof id !== 'string' || id.length === 0)
        throw new RheoError('BAD_REQUEST', `an entity row lacks "${group.entity}" (needed by group ${group.name})`);
      return id;
    }),
  );
  const rows = await store.read(
    selections.map((selection, i) => ({
      group: selection.group,
      entityIds: idsByGroup[i] as string[],
      features: selection.features,
    })),
  );
  const now = options.now ?? Date.now();
  return entities.map((entity, e) => {
    const vector: OnlineFeatureVector = { entity, values: {}, groups: {}, missing: [] };
    selections.forEach((selection, s) => {
      const row = rows[s]?.[e] ?? null;
      const entityId = idsByGroup[s]?.[e] as string;
      vector.groups[selection.group.name] = {
        entityId,
        found: row !== null,
        eventTime: row?.eventTime ?? null,
        stalenessMs: row ? now - row.eventTime : null,
      };
      for (const feature of selection.features) {
        const ref = `${selection.group.name}:${feature}`;
        const value = row?.values[feature] ?? null;
        vector.values[ref] = value;
        if (value === null) vector.missing.push(ref);
      }
    });
    return vector;
  });
}
