/**
 * Scoring instances with a model, the same way on every path (gateway, streaming scorer, batch
 * scorer): route each entity by the model's traffic policy (or a pinned version), complete its inputs
 * from the online feature store, run the micro-batched session, and build the `Prediction` events —
 * the primary one, and one per shadow version. Per-instance failures are returned, not thrown, so a
 * stream can dead-letter one record and keep the rest.
 */
import { randomUUID } from 'node:crypto';
import { RheoError } from '../kernel/errors.ts';
import type { PredictionInput, PredictionSource } from '../schemas/index.ts';
import type { ModelHost } from './host/host.ts';
import type { LoadedModel } from './host/session.ts';
import { type Route, route } from './routing.ts';
import { type FeatureValue, type FeatureValues, modelInputs, namedOutputs, predictionEvent, writeFeatureRow } from './scoring.ts';

/** An entity to look features up for: one id for every group, or ids by entity name (`{ card: 'card-1', merchant: 'm-7' }`). */
export type EntityKey = string | Readonly<Record<string, string>>;

/**
 * Online feature values by entity, as the feature store serves them. `features` are `group:feature`
 * names; the answer has one record per entity (same order), keyed by those names; an unknown value is
 * null or absent. The gateway and scorers take any implementation (the feature store's Redis reader).
 */
export interface FeatureLookup {
  get(
    entities: readonly EntityKey[],
    features: readonly string[],
  ): Promise<ReadonlyArray<Readonly<Record<string, FeatureValue | undefined>>>>;
}

export interface Instance {
  entityId: string;
  inputs: FeatureValues;
  /** Ids by entity name for features of other entities (e.g. the merchant's); by default every group is read by `entityId`. */
  entities?: Readonly<Record<string, string>>;
  /** When the scored event happened (epoch ms); defaults to now. */
  requestTime?: number;
  /**
   * The prediction's `event_time`; defaults to now. Replays that must yield identical events (a
   * redelivered stream record, a resumed batch job) pass a time derived from their source.
   */
  eventTime?: number;
  /** Ids for the events of this instance; random when absent (see `deterministicIds`). */
  ids?: (variant: Route['variant'], version: string) => { eventId: string; predictionId: string };
  /** The PredictionRequest's id (streaming) or the gateway request id. */
  requestId?: string | null;
}

export interface ScoreOptions {
  model: string;
  /** A version reference to pin (number, alias, `production`, `latest`); traffic routing when absent. */
  version?: string;
  source: Exclude<PredictionSource, 'UNKNOWN'>;
  /** `performance.now()` when the request arrived, for `latency_ms`. */
  receivedAt: number;
  /** Shadow versions: awaited with the primary (`await`), scored after it (`background`), or not at all. */
  shadows: 'await' | 'background' | 'skip';
}

export interface Scored {
  ok: true;
  entityId: string;
  predictionId: string;
  version: string;
  variant: Route['variant'];
  outputs: Record<string, number>;
  score: number | null;
  label: string | null;
  prediction: PredictionInput;
}

export interface Failed {
  ok: false;
  error: RheoError;
}

export type ScoreOutcome = Scored | Failed;

export interface ScoreResult {
  outcomes: ScoreOutcome[];
  /** Shadow predictions (already resolved unless shadows ran in the background). */
  shadows: Promise<PredictionInput[]>;
}

interface Job {
  index: number;
  instance: Instance;
  route: Route;
}

const NONE: Promise<PredictionInput[]> = Promise.resolve([]);

export class ScoringService {
  readonly host: ModelHost;
  readonly features: FeatureLookup | undefined;

  constructor(host: ModelHost, features?: FeatureLookup) {
    this.host = host;
    this.features = features;
  }

  async score(instances: readonly Instance[], options: ScoreOptions): Promise<ScoreResult> {
    const outcomes: ScoreOutcome[] = new Array(instances.length);
    const primary: Job[] = [];
    const shadow: Job[] = [];
    const sessions = new Map<string, LoadedModel>();
    if (options.version !== undefined) {
      const session = await this.host.version(options.model, options.version);
      sessions.set(session.version, session);
      for (let i = 0; i < instances.length; i++)
        primary.push({ index: i, instance: instances[i] as Instance, route: { version: session.version, variant: 'PINNED' } });
    } else {
      const table = this.host.table(options.model);
      if (!table) throw this.#notServing(options.model);
      for (const [version, session] of table.versions) sessions.set(version, session);
      for (let i = 0; i < instances.length; i++) {
        const instance = instances[i] as Instance;
        const decision = route(table.policy, instance.entityId);
        if (!decision) throw this.#notServing(options.model);
        primary.push({ index: i, instance, route: decision.primary });
        if (options.shadows !== 'skip') for (const r of decision.shadows) shadow.push({ index: i, instance, route: r });
      }
    }
    const online = await this.#lookup(primary, shadow, sessions);
    const scored = await this.#run(primary, sessions, online, options);
    for (let k = 0; k < primary.length; k++) outcomes[(primary[k] as Job).index] = scored[k] as ScoreOutcome;
    if (shadow.length === 0) return { outcomes, shadows: NONE };
    // Shadows reuse the primary's prediction id, so a label joins to every variant.
    const predictionIds = outcomes.map((o) => (o.ok ? o.predictionId : undefined));
    const runShadows = async () =>
      (await this.#run(shadow, sessions, online, options, predictionIds))
        .filter((o): o is Scored => o.ok)
        .map((o) => o.prediction);
    if (options.shadows === 'await') {
      const predictions = await runShadows();
      return { outcomes, shadows: Promise.resolve(predictions) };
    }
    const background = runShadows();
    background.catch(() => undefined);
    return { outcomes, shadows: background };
  }

  #notServing(model: string): RheoError {
    const known = this.host.state?.models.get(model);
    if (!known) return new RheoError('MODEL_NOT_FOUND', `model ${model} is not registered`);
    if (!this.host.serves(model)) return new RheoError('MODEL_NOT_SERVING', `model ${model} is not served by this instance`);
    if (known.traffic.production_version === null)
      return new RheoError('MODEL_NOT_SERVING', `model ${model} has no production version; pin a version or promote one`);
    return new RheoError('MODEL_NOT_SERVING', `model ${model} is not loaded on this instance yet`);
  }

  /** Fetches, in one call, the online features any job's version needs and the request did not give (keyed by instance index). */
  async #lookup(
    primary: Job[],
    shadow: Job[],
    sessions: Map<string, LoadedModel>,
  ): Promise<Map<number, Readonly<Record<string, FeatureValue | undefined>>>> {
    const result = new Map<number, Readonly<Record<string, FeatureValue | undefined>>>();
    let names: Set<string> | undefined;
    let wanted: Map<number, Instance> | undefined;
    for (const jobs of [primary, shadow]) {
      for (const job of jobs) {
        const spec = sessions.get(job.route.version)?.spec;
        if (!spec) continue;
        for (const input of spec.inputs) {
          if (input.feature_group === null || job.instance.inputs[input.name] !== undefined) continue;
          names ??= new Set();
          wanted ??= new Map();
          names.add(`${input.feature_group}:${input.name}`);
          wanted.set(job.index, job.instance);
        }
      }
    }
    if (!names || !wanted || !this.features) return result;
    const indexes = [...wanted.keys()];
    const entities = indexes.map((i) => {
      const instance = wanted.get(i) as Instance;
      return instance.entities ? { ...instance.entities } : instance.entityId;
    });
    let rows: Awaited<ReturnType<FeatureLookup['get']>>;
    try {
      rows = await this.features.get(entities, [...names]);
    } catch (error) {
      if (error instanceof RheoError && error.status < 500) throw error;
      throw new RheoError(
        'FEATURES_UNAVAILABLE',
        `online features could not be read: ${error instanceof Error ? error.message : String(error)}`,
        { cause: error },
      );
    }
    indexes.forEach((index, k) => {
      result.set(index, rows[k] ?? {});
    });
    return result;
  }

  async #run(
    jobs: Job[],
    sessions: Map<string, LoadedModel>,
    online: Map<number, Readonly<Record<string, FeatureValue | undefined>>>,
    options: ScoreOptions,
    predictionIds?: Array<string | undefined>,
  ): Promise<ScoreOutcome[]> {
    const out: ScoreOutcome[] = new Array(jobs.length);
    // Group by version: one micro-batch submission per version.
    const groups = new Map<string, number[]>();
    for (let k = 0; k < jobs.length; k++) {
      const version = (jobs[k] as Job).route.version;
      const group = groups.get(version);
      if (group) group.push(k);
      else groups.set(version, [k]);
    }
    await Promise.all(
      [...groups].map(async ([version, members]) => {
        const session = sessions.get(version);
        if (!session) {
          for (const k of members)
            out[k] = { ok: false, error: new RheoError('MODEL_NOT_SERVING', `${options.model}@${version} is not loaded`) };
          return;
        }
        const width = session.width;
        const rows = new Float32Array(members.length * width);
        const values: FeatureValues[] = [];
        const good: number[] = [];
        for (const k of members) {
          const job = jobs[k] as Job;
          const merged = mergeInputs(session, job.instance, online.get(job.index), this.features !== undefined);
          const problem = writeFeatureRow(session.spec.inputs, merged, rows, good.length * width);
          if (problem) {
            out[k] = { ok: false, error: inputError(options.model, session, problem, this.features !== undefined) };
            continue;
          }
          values.push(merged);
          good.push(k);
        }
        if (good.length === 0) return;
        let result: Awaited<ReturnType<LoadedModel['score']>>;
        try {
          result = await session.score(rows, good.length);
        } catch (error) {
          const e = error instanceof RheoError ? error : new RheoError('MODEL_INVALID', String(error));
          for (const k of good) out[k] = { ok: false, error: e };
          return;
        }
        const now = Date.now();
        const latency = performance.now() - options.receivedAt;
        for (let r = 0; r < good.length; r++) {
          const k = good[r] as number;
          const job = jobs[k] as Job;
          const { outputs, score } = namedOutputs(session.layout, result.outputs, r);
          const ids = job.instance.ids?.(job.route.variant, version) ?? {
            eventId: randomUUID(),
            predictionId: predictionIds?.[job.index] ?? randomUUID(),
          };
          const predictionId = predictionIds?.[job.index] ?? ids.predictionId;
          const decision = session.decision;
          const prediction = predictionEvent({
            eventId: ids.eventId,
            predictionId,
            requestId: job.instance.requestId ?? null,
            entityId: job.instance.entityId,
            model: options.model,
            version,
            variant: job.route.variant,
            source: options.source,
            inputs: modelInputs(session.spec.inputs, values[r] as FeatureValues),
            outputs,
            score,
            latencyMs: latency,
            inferenceMs: result.inferenceMsPerRow,
            requestTime: job.instance.requestTime ?? now,
            eventTime: job.instance.eventTime ?? now,
            ...(decision
              ? { threshold: decision.threshold, positiveLabel: decision.positiveLabel, negativeLabel: decision.negativeLabel }
              : {}),
          });
          out[k] = {
            ok: true,
            entityId: job.instance.entityId,
            predictionId,
            version,
            variant: job.route.variant,
            outputs,
            score,
            label: prediction.predicted_label ?? null,
            prediction,
          };
        }
      }),
    );
    return out;
  }
}

/** Request inputs win over online features of the same name. */
function mergeInputs(
  session: LoadedModel,
  instance: Instance,
  online: Readonly<Record<string, FeatureValue | undefined>> | undefined,
  hasStore: boolean,
): FeatureValues {
  if (!online || !hasStore) return instance.inputs;
  let merged: FeatureValues | undefined;
  for (const input of session.spec.inputs) {
    if (input.feature_group === null || instance.inputs[input.name] !== undefined) continue;
    merged ??= { ...instance.inputs };
    merged[input.name] = online[`${input.feature_group}:${input.name}`] ?? null;
  }
  return merged ?? instance.inputs;
}

function inputError(
  model: string,
  session: LoadedModel,
  problem: { missing: string[]; invalid: string[] },
  hasStore: boolean,
): RheoError {
  const version = session.version;
  if (problem.invalid.length > 0)
    return new RheoError(
      'BAD_REQUEST',
      `${model}@${version}: inputs must be finite numbers or booleans: ${problem.invalid.join(', ')}`,
      {
        details: { invalid: problem.invalid },
      },
    );
  const online = new Set(session.spec.inputs.filter((i) => i.feature_group !== null).map((i) => i.name));
  const fromRequest = problem.missing.filter((name) => !online.has(name));
  const fromStore = problem.missing.filter((name) => online.has(name));
  const parts = [
    ...(fromRequest.length ? [`request inputs ${fromRequest.join(', ')}`] : []),
    ...(fromStore.length
      ? [
          `online features ${fromStore.join(', ')} (not in the request${hasStore ? ', nor in the online store for this entity' : '; no online store is configured'})`,
        ]
      : []),
  ];
  return new RheoError('FEATURES_MISSING', `${model}@${version} needs ${parts.join(' and ')}`, {
    details: { missing: problem.missing },
  });
}

/** Deterministic event and prediction ids from a source id (a PredictionRequest's event id, a batch row key). */
export function deterministicIds(sourceId: string, uuid: (...parts: string[]) => string) {
  return (variant: Route['variant'], version: string) => ({
    eventId: uuid('prediction-event', sourceId, variant, version),
    predictionId: uuid('prediction', sourceId),
  });
}
