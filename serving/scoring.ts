/**
 * The one scoring path, shared by the gateway, the streaming scorer and the batch scorer, so an
 * instance is scored the same way wherever it comes from. `scoreMany` takes a chunk of instances of
 * one model and goes through five steps:
 *
 *   route    each entity to a version and variant by the model's traffic policy (`routing.ts`), or
 *            every instance to a pinned version;
 *   look up  in one call, the online features the routed versions need and the instances lack;
 *   assemble each instance's input row in its version's registered input order (request inputs win
 *            over online features of the same name);
 *   run      one submission per version to its session, which the host micro-batches with
 *            concurrent callers;
 *   shape    the `Prediction` events: the primary one per instance, and one per shadow version
 *            (which reuses the primary's prediction id, so a label joins every variant).
 *
 * Per-instance failures are returned, not thrown, so a stream can dead-letter one record and keep the
 * rest; a model that cannot be served at all, or an online store that cannot be read, throws.
 * Ids are random unless the instance supplies them (`deterministicIds`), so a replayed request can
 * yield the very same events.
 */
import { createHash, randomUUID } from 'node:crypto';
import { RheoError, rheoError } from '../kernel/errors.ts';
import type { ModelInput, PredictionInput, PredictionSource, ServingVariant } from '../schemas/index.ts';
import type { ModelHost } from './host/host.ts';
import type { LoadedModel, OutputLayout } from './host/session.ts';
import { type Route, route } from './routing.ts';

export type FeatureValue = number | string | boolean | null;
export type FeatureValues = Record<string, FeatureValue | undefined>;
type OnlineValues = Readonly<Record<string, FeatureValue | undefined>>;

/** An entity to look features up for: one id for every group, or ids by entity name (`{ card: 'card-1', merchant: 'm-7' }`). */
export type EntityKey = string | Readonly<Record<string, string>>;

/**
 * Online feature values by entity, as the feature store serves them. `features` are `group:feature`
 * names; the answer has one record per entity (same order), keyed by those names; an unknown value is
 * null or absent. The gateway and scorers take any implementation (the feature store's Redis reader).
 */
export interface FeatureLookup {
  get(entities: readonly EntityKey[], features: readonly string[]): Promise<ReadonlyArray<OnlineValues>>;
}

/** What scoring reads from: the host's loaded sessions and routing tables, and the online feature store when there is one. */
export interface ScoringSources {
  readonly host: ModelHost;
  readonly features?: FeatureLookup | undefined;
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
  /** One per instance, in input order. */
  outcomes: ScoreOutcome[];
  /** Shadow predictions (already resolved unless shadows ran in the background). */
  shadows: Promise<PredictionInput[]>;
}

/** One instance bound for one version. */
interface Job {
  /** The instance's position in the chunk. */
  index: number;
  instance: Instance;
  route: Route;
}

/** The chunk after routing: the sessions its routes use, the primary job of each instance and the shadow jobs. */
interface Routed {
  sessions: ReadonlyMap<string, LoadedModel>;
  primary: Job[];
  shadow: Job[];
}

const NONE: Promise<PredictionInput[]> = Promise.resolve([]);

/** Scores a chunk of instances of `options.model`: route, look up, assemble, run, shape (see the header). */
export async function scoreMany(
  sources: ScoringSources,
  instances: readonly Instance[],
  options: ScoreOptions,
): Promise<ScoreResult> {
  const routed = await routeInstances(sources.host, instances, options);
  const online = await lookupOnlineFeatures(sources.features, routed);
  const hasStore = sources.features !== undefined;
  const outcomes: ScoreOutcome[] = new Array(instances.length);
  const primary = await scoreJobs(routed.primary, routed.sessions, online, hasStore, options);
  for (let k = 0; k < routed.primary.length; k++) outcomes[(routed.primary[k] as Job).index] = primary[k] as ScoreOutcome;
  if (routed.shadow.length === 0) return { outcomes, shadows: NONE };
  // Shadows reuse the primary's prediction id, so a label joins to every variant.
  const predictionIds = outcomes.map((o) => (o.ok ? o.predictionId : undefined));
  const scoreShadows = async () =>
    (await scoreJobs(routed.shadow, routed.sessions, online, hasStore, options, predictionIds))
      .filter((o): o is Scored => o.ok)
      .map((o) => o.prediction);
  if (options.shadows === 'await') {
    const predictions = await scoreShadows();
    return { outcomes, shadows: Promise.resolve(predictions) };
  }
  const background = scoreShadows();
  background.catch(() => undefined);
  return { outcomes, shadows: background };
}

/** Route: every instance to the pinned version, or each entity by the serving table's traffic policy (shadows included unless skipped). */
async function routeInstances(host: ModelHost, instances: readonly Instance[], options: ScoreOptions): Promise<Routed> {
  const primary: Job[] = [];
  const shadow: Job[] = [];
  const sessions = new Map<string, LoadedModel>();
  if (options.version !== undefined) {
    const session = await host.version(options.model, options.version);
    sessions.set(session.version, session);
    for (let i = 0; i < instances.length; i++)
      primary.push({ index: i, instance: instances[i] as Instance, route: { version: session.version, variant: 'PINNED' } });
    return { sessions, primary, shadow };
  }
  const table = host.table(options.model);
  if (!table) throw notServing(host, options.model);
  for (const [version, session] of table.versions) sessions.set(version, session);
  for (let i = 0; i < instances.length; i++) {
    const instance = instances[i] as Instance;
    const decision = route(table.policy, instance.entityId);
    if (!decision) throw notServing(host, options.model);
    primary.push({ index: i, instance, route: decision.primary });
    if (options.shadows !== 'skip') for (const r of decision.shadows) shadow.push({ index: i, instance, route: r });
  }
  return { sessions, primary, shadow };
}

/** Why `model` cannot be routed here, in the words a caller can act on. */
function notServing(host: ModelHost, model: string): RheoError {
  const known = host.state?.models.get(model);
  if (!known) return rheoError('MODEL_NOT_FOUND', { subject: `model ${model}` });
  if (!host.serves(model)) return new RheoError('MODEL_NOT_SERVING', `model ${model} is not served by this instance`);
  if (known.traffic.production_version === null)
    return new RheoError('MODEL_NOT_SERVING', `model ${model} has no production version; pin a version or promote one`);
  return new RheoError('MODEL_NOT_SERVING', `model ${model} is not loaded on this instance yet`);
}

/**
 * Look up: fetches, in one call, the online features any job's version needs and its request did not
 * give (keyed by instance index). Nothing is read without a store or without a missing online input.
 */
async function lookupOnlineFeatures(features: FeatureLookup | undefined, routed: Routed): Promise<Map<number, OnlineValues>> {
  const result = new Map<number, OnlineValues>();
  let names: Set<string> | undefined;
  let wanted: Map<number, Instance> | undefined;
  for (const jobs of [routed.primary, routed.shadow]) {
    for (const job of jobs) {
      const spec = routed.sessions.get(job.route.version)?.spec;
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
  if (!names || !wanted || !features) return result;
  const indexes = [...wanted.keys()];
  const entities = indexes.map((i) => {
    const instance = wanted.get(i) as Instance;
    return instance.entities ? { ...instance.entities } : instance.entityId;
  });
  let rows: ReadonlyArray<OnlineValues>;
  try {
    rows = await features.get(entities, [...names]);
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

/** Run: the jobs grouped by version, one micro-batch submission per version, outcomes in job order. */
async function scoreJobs(
  jobs: readonly Job[],
  sessions: ReadonlyMap<string, LoadedModel>,
  online: ReadonlyMap<number, OnlineValues>,
  hasStore: boolean,
  options: ScoreOptions,
  predictionIds?: ReadonlyArray<string | undefined>,
): Promise<ScoreOutcome[]> {
  const out: ScoreOutcome[] = new Array(jobs.length);
  const byVersion = new Map<string, number[]>();
  for (let k = 0; k < jobs.length; k++) {
    const version = (jobs[k] as Job).route.version;
    const members = byVersion.get(version);
    if (members) members.push(k);
    else byVersion.set(version, [k]);
  }
  await Promise.all(
    [...byVersion].map(async ([version, members]) => {
      const session = sessions.get(version);
      if (!session) {
        for (const k of members)
          out[k] = { ok: false, error: new RheoError('MODEL_NOT_SERVING', `${options.model}@${version} is not loaded`) };
        return;
      }
      const batch = assembleRows(session, jobs, members, online, hasStore, options.model);
      for (const [k, error] of batch.failures) out[k] = { ok: false, error };
      if (batch.members.length === 0) return;
      let result: Awaited<ReturnType<LoadedModel['score']>>;
      try {
        result = await session.score(batch.rows, batch.members.length);
      } catch (error) {
        const e = error instanceof RheoError ? error : new RheoError('MODEL_INVALID', String(error));
        for (const k of batch.members) out[k] = { ok: false, error: e };
        return;
      }
      const now = Date.now();
      const latencyMs = performance.now() - options.receivedAt;
      for (let r = 0; r < batch.members.length; r++) {
        const k = batch.members[r] as number;
        out[k] = shapeOutcome(session, jobs[k] as Job, batch.values[r] as FeatureValues, result, r, {
          options,
          now,
          latencyMs,
          predictionId: predictionIds?.[(jobs[k] as Job).index],
        });
      }
    }),
  );
  return out;
}

/** The input rows of one version's jobs, row-major, and which jobs could not be assembled (by job position). */
interface AssembledRows {
  rows: Float32Array;
  /** Job positions whose rows were written, in row order. */
  members: number[];
  /** Each member's merged inputs (request and online), in row order. */
  values: FeatureValues[];
  failures: Array<[number, RheoError]>;
}

/** Assemble: each job's inputs (request, then online) written in the version's registered input order. */
function assembleRows(
  session: LoadedModel,
  jobs: readonly Job[],
  positions: readonly number[],
  online: ReadonlyMap<number, OnlineValues>,
  hasStore: boolean,
  model: string,
): AssembledRows {
  const width = session.width;
  const assembled: AssembledRows = { rows: new Float32Array(positions.length * width), members: [], values: [], failures: [] };
  for (const k of positions) {
    const job = jobs[k] as Job;
    const merged = mergeInputs(session, job.instance, online.get(job.index), hasStore);
    const problem = writeFeatureRow(session.spec.inputs, merged, assembled.rows, assembled.members.length * width);
    if (problem) {
      assembled.failures.push([k, inputError(model, session, problem, hasStore)]);
      continue;
    }
    assembled.values.push(merged);
    assembled.members.push(k);
  }
  return assembled;
}

/** Shape: one scored row as its outcome and `Prediction` event (a shadow's prediction id is its primary's). */
function shapeOutcome(
  session: LoadedModel,
  job: Job,
  values: FeatureValues,
  result: Awaited<ReturnType<LoadedModel['score']>>,
  row: number,
  at: { options: ScoreOptions; now: number; latencyMs: number; predictionId: string | undefined },
): Scored {
  const { options, now } = at;
  const version = session.version;
  const { outputs, score } = namedOutputs(session.layout, result.outputs, row);
  const ids = job.instance.ids?.(job.route.variant, version) ?? {
    eventId: randomUUID(),
    predictionId: at.predictionId ?? randomUUID(),
  };
  const predictionId = at.predictionId ?? ids.predictionId;
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
    inputs: modelInputs(session.spec.inputs, values),
    outputs,
    score,
    latencyMs: at.latencyMs,
    inferenceMs: result.inferenceMsPerRow,
    requestTime: job.instance.requestTime ?? now,
    eventTime: job.instance.eventTime ?? now,
    ...(decision
      ? { threshold: decision.threshold, positiveLabel: decision.positiveLabel, negativeLabel: decision.negativeLabel }
      : {}),
  });
  return {
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

/** Request inputs win over online features of the same name. */
function mergeInputs(
  session: LoadedModel,
  instance: Instance,
  online: OnlineValues | undefined,
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

function inputError(model: string, session: LoadedModel, problem: VectorProblem, hasStore: boolean): RheoError {
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
export function deterministicIds(sourceId: string) {
  return (variant: Route['variant'], version: string) => ({
    eventId: deterministicUuid('prediction-event', sourceId, variant, version),
    predictionId: deterministicUuid('prediction', sourceId),
  });
}

export interface VectorProblem {
  missing: string[];
  invalid: string[];
}

/**
 * Writes the model's input row for `values` into `out` at `offset` (inputs in registered order).
 * Numbers as they are, booleans as 1/0; returns the names that are missing (absent or null) or invalid.
 */
export function writeFeatureRow(
  inputs: readonly ModelInput[],
  values: FeatureValues,
  out: Float32Array,
  offset: number,
): VectorProblem | null {
  let problem: VectorProblem | null = null;
  for (let i = 0; i < inputs.length; i++) {
    const input = inputs[i] as ModelInput;
    const value = values[input.name];
    if (typeof value === 'number' && Number.isFinite(value)) out[offset + i] = value;
    else if (typeof value === 'boolean') out[offset + i] = value ? 1 : 0;
    else {
      problem ??= { missing: [], invalid: [] };
      if (value === undefined || value === null) problem.missing.push(input.name);
      else problem.invalid.push(input.name);
    }
  }
  return problem;
}

/** The model's view of the request: only its inputs, numbers as doubles, for the Prediction record. */
export function modelInputs(inputs: readonly ModelInput[], values: FeatureValues): Record<string, FeatureValue> {
  const out: Record<string, FeatureValue> = {};
  for (const input of inputs) {
    const v = values[input.name];
    out[input.name] = v === undefined ? null : typeof v === 'boolean' ? v : v;
  }
  return out;
}

/**
 * Named outputs of one row: a width-1 output is `name`, a wider one `name_0 … name_{k-1}`. The score
 * is the first output's value (width 1) or its last column (width 2: the positive class of a
 * two-class softmax); null for wider outputs.
 */
export function namedOutputs(
  layout: readonly OutputLayout[],
  outputs: readonly Float32Array[],
  row: number,
): { outputs: Record<string, number>; score: number | null } {
  const named: Record<string, number> = {};
  let score: number | null = null;
  for (let o = 0; o < layout.length; o++) {
    const { name, width } = layout[o] as OutputLayout;
    const data = outputs[o] as Float32Array;
    if (width === 1) named[name] = data[row] as number;
    else for (let k = 0; k < width; k++) named[`${name}_${k}`] = data[row * width + k] as number;
    if (o === 0) score = width === 1 ? (data[row] as number) : width === 2 ? (data[row * 2 + 1] as number) : null;
  }
  return { outputs: named, score };
}

/** A name-based UUID (RFC 4122 version 5 layout over SHA-1): the same parts give the same id, everywhere. */
export function deterministicUuid(...parts: string[]): string {
  const hash = createHash('sha1').update(parts.join('\u0000')).digest();
  hash[6] = ((hash[6] as number) & 0x0f) | 0x50;
  hash[8] = ((hash[8] as number) & 0x3f) | 0x80;
  const hex = hash.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

export interface PredictionParts {
  eventId: string;
  predictionId: string;
  requestId: string | null;
  entityId: string;
  model: string;
  version: string;
  variant: Exclude<ServingVariant, 'UNKNOWN'>;
  source: PredictionInput['source'];
  inputs: Record<string, FeatureValue>;
  outputs: Record<string, number>;
  score: number | null;
  latencyMs: number;
  inferenceMs: number | null;
  requestTime: number;
  eventTime: number;
  /** Score at or above which `predicted_label` is set to `positiveLabel`. */
  threshold?: number;
  positiveLabel?: string;
  negativeLabel?: string;
}

export function predictionEvent(p: PredictionParts): PredictionInput {
  const label =
    p.score === null || p.threshold === undefined
      ? null
      : p.score >= p.threshold
        ? (p.positiveLabel ?? 'positive')
        : (p.negativeLabel ?? 'negative');
  return {
    event_id: p.eventId,
    event_time: p.eventTime,
    prediction_id: p.predictionId,
    request_id: p.requestId,
    entity_id: p.entityId,
    model_name: p.model,
    model_version: p.version,
    variant: p.variant,
    source: p.source,
    inputs: p.inputs,
    outputs: p.outputs,
    score: p.score,
    predicted_label: label,
    latency_ms: p.latencyMs,
    inference_ms: p.inferenceMs,
    request_time: p.requestTime,
  };
}
