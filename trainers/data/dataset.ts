/**
 * The training set: labeled examples joined point-in-time with features. Request-time inputs come
 * from what the labeled prediction logged; feature-store features come from the feature store's
 * historical retrieval as of each example's reference time (`getHistoricalFeatures`: event time and
 * created time both ≤ the reference time, within the group's TTL), so no value from after the
 * label's moment can leak in. Missing values stay NaN here; `matrix` imputes them.
 *
 * The dataset hash is SHA-256 over the rows in canonical order (reference time, then id): id,
 * time, label and every model feature (missing as null), after a header naming the features. The
 * same rows give the same hash on every machine.
 */
import { createHash } from 'node:crypto';
import { getHistoricalFeatures } from '../../features/offline/historical.ts';
import type { OfflineStore } from '../../features/offline/store.ts';
import type { FeatureRegistry } from '../../features/registry.ts';
import { RheoError } from '../../kernel/errors.ts';
import type { ResolvedFeature } from '../spec.ts';
import type { LabeledExample, LabelQuery, LabelSource } from './labels.ts';

export interface Dataset {
  /** Every column fetched (the model's features, then any extra the production model needs). */
  features: ResolvedFeature[];
  ids: string[];
  entityIds: string[];
  times: Float64Array;
  labels: Float32Array;
  /** One column per feature (same order), NaN where missing. */
  columns: Float64Array[];
  rows: number;
  /** What read it: the label query and the point-in-time retrieval, for the lineage. */
  query: string;
}

export interface DatasetSources {
  labels: LabelSource;
  offline: OfflineStore;
  registry: FeatureRegistry;
}

export interface DatasetRequest extends LabelQuery {
  /** Entity of the example's entity id. */
  entity: string;
  /** Other entities' ids, by the logged input that holds them. */
  entityKeys?: Readonly<Record<string, string>>;
  features: ResolvedFeature[];
}

export async function buildDataset(sources: DatasetSources, request: DatasetRequest): Promise<Dataset> {
  const { examples, query } = await sources.labels.fetch(request);
  const rows = examples.length;
  const columns = request.features.map(() => new Float64Array(rows).fill(Number.NaN));
  const index = new Map(request.features.map((f, i) => [f.ref, i]));
  // Request-time inputs: as logged with the prediction.
  request.features.forEach((feature, c) => {
    if (feature.group !== null) return;
    const column = columns[c] as Float64Array;
    for (let r = 0; r < rows; r++) column[r] = numeric((examples[r] as LabeledExample).inputs[feature.name]);
  });
  // Feature-store features: point in time, one retrieval per entity.
  const byEntity = new Map<string, string[]>();
  for (const f of request.features)
    if (f.group !== null && f.entity !== null) byEntity.set(f.entity, [...(byEntity.get(f.entity) ?? []), f.ref]);
  const retrievals: string[] = [];
  for (const [entity, refs] of byEntity) {
    const key = entity === request.entity ? undefined : request.entityKeys?.[entity];
    if (entity !== request.entity && !key)
      throw new RheoError(
        'BAD_REQUEST',
        `features ${refs.join(', ')} need a ${entity} id: the examples are keyed by ${request.entity}; name the input that holds it in entityKeys`,
      );
    const wanted: number[] = [];
    const entityRows: Array<{ entity: string; timestamp: number }> = [];
    for (let r = 0; r < rows; r++) {
      const example = examples[r] as LabeledExample;
      const id = key === undefined ? example.entityId : example.inputs[key];
      if (typeof id !== 'string' || id === '') continue;
      wanted.push(r);
      entityRows.push({ entity: id, timestamp: example.time });
    }
    retrievals.push(
      `${refs.join(', ')} as of each reference time by ${entity} id (${key === undefined ? 'the example entity' : `input ${key}`})`,
    );
    if (entityRows.length === 0) continue;
    const found = await getHistoricalFeatures(sources.offline, sources.registry, entityRows, refs);
    found.forEach((row, k) => {
      const r = wanted[k] as number;
      for (const ref of refs) (columns[index.get(ref) as number] as Float64Array)[r] = numeric(row.values[ref]);
    });
  }
  return {
    features: request.features,
    ids: examples.map((e) => e.id),
    entityIds: examples.map((e) => e.entityId),
    times: Float64Array.from(examples, (e) => e.time),
    labels: Float32Array.from(examples, (e) => e.label),
    columns,
    rows,
    query: retrievals.length > 0 ? `${query}\n-- joined point-in-time (getHistoricalFeatures): ${retrievals.join('; ')}` : query,
  };
}

function numeric(value: unknown): number {
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (typeof value === 'boolean') return value ? 1 : 0;
  return Number.NaN;
}

/** Hex SHA-256 of the rows over the named feature columns (the model's own). */
export function datasetHash(dataset: Dataset, features: readonly string[]): string {
  const hash = createHash('sha256');
  const cols = features.map((ref) => {
    const i = dataset.features.findIndex((f) => f.ref === ref);
    if (i < 0) throw new Error(`dataset has no column ${ref}`);
    return dataset.columns[i] as Float64Array;
  });
  hash.update(`rheo-training-set v1\t${features.join('\t')}\n`);
  const order = Array.from({ length: dataset.rows }, (_, i) => i).sort(
    (a, b) =>
      (dataset.times[a] as number) - (dataset.times[b] as number) ||
      ((dataset.ids[a] as string) < (dataset.ids[b] as string)
        ? -1
        : (dataset.ids[a] as string) > (dataset.ids[b] as string)
          ? 1
          : 0),
  );
  for (const r of order) {
    const values = cols.map((c) => {
      const v = c[r] as number;
      return Number.isNaN(v) ? 'null' : String(v);
    });
    hash.update(`${dataset.ids[r]}\t${dataset.times[r]}\t${dataset.labels[r]}\t${values.join('\t')}\n`);
  }
  return hash.digest('hex');
}

/** Share of missing values per named column over the given rows. */
export function missingRates(dataset: Dataset, refs: readonly string[], rows?: ArrayLike<number>): Record<string, number> {
  const out: Record<string, number> = {};
  const n = rows ? rows.length : dataset.rows;
  for (const ref of refs) {
    const column = dataset.columns[dataset.features.findIndex((f) => f.ref === ref)] as Float64Array;
    let missing = 0;
    for (let k = 0; k < n; k++) if (Number.isNaN(column[rows ? (rows[k] as number) : k] as number)) missing++;
    out[ref] = n === 0 ? 0 : missing / n;
  }
  return out;
}

/** Means of the named columns over the given rows, ignoring missing values (0 when all are missing). */
export function columnMeans(dataset: Dataset, refs: readonly string[], rows: ArrayLike<number>): number[] {
  return refs.map((ref) => {
    const column = dataset.columns[dataset.features.findIndex((f) => f.ref === ref)] as Float64Array;
    let sum = 0;
    let count = 0;
    for (let k = 0; k < rows.length; k++) {
      const v = column[rows[k] as number] as number;
      if (!Number.isNaN(v)) {
        sum += v;
        count++;
      }
    }
    return count === 0 ? 0 : sum / count;
  });
}

/** A row-major float32 matrix of the named columns for the given rows, missing values imputed with `fill` (one per column). */
export function matrix(
  dataset: Dataset,
  refs: readonly string[],
  rows: ArrayLike<number>,
  fill: readonly number[],
): Float32Array {
  const width = refs.length;
  const cols = refs.map((ref) => {
    const i = dataset.features.findIndex((f) => f.ref === ref);
    if (i < 0) throw new Error(`dataset has no column ${ref}`);
    return dataset.columns[i] as Float64Array;
  });
  const out = new Float32Array(rows.length * width);
  for (let k = 0; k < rows.length; k++) {
    const r = rows[k] as number;
    for (let c = 0; c < width; c++) {
      const v = (cols[c] as Float64Array)[r] as number;
      out[k * width + c] = Number.isNaN(v) ? (fill[c] as number) : v;
    }
  }
  return out;
}

/** Labels of the given rows. */
export function labelsOf(dataset: Dataset, rows: ArrayLike<number>): Float32Array {
  return Float32Array.from({ length: rows.length }, (_, k) => dataset.labels[rows[k] as number] as number);
}

/** Rows (of the given ones) where every named column has a value. */
export function completeRows(dataset: Dataset, refs: readonly string[], rows: ArrayLike<number>): Int32Array {
  const cols = refs.map((ref) => dataset.columns[dataset.features.findIndex((f) => f.ref === ref)] as Float64Array | undefined);
  const out: number[] = [];
  for (let k = 0; k < rows.length; k++) {
    const r = rows[k] as number;
    if (cols.every((c) => c !== undefined && !Number.isNaN(c[r] as number))) out.push(r);
  }
  return Int32Array.from(out);
}
