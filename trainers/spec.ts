/**
 * A training spec: everything a trainer needs to know about one model, declared once as data —
 * the task, the features (request-time inputs and `group:feature` references to the feature
 * store), where labels come from, the split, the default hyperparameters and the search space, and
 * the quality-gate policy. A RetrainRequest's `params` may override the training knobs (never the
 * features or the label), and may only weaken the gate's action.
 */
import type { FeatureDecl, RequestSourceDecl } from '../features/declaration.ts';
import type { FeatureRegistry } from '../features/registry.ts';
import { RheoError } from '../kernel/errors.ts';
import type { ValueType } from '../schemas/index.ts';
import { ACTIONS, type GatePolicy } from './gate.ts';
import type { Task } from './models/metrics.ts';
import type { TrialParams } from './models/network.ts';
import type { SearchSpace } from './models/search.ts';

export interface TrainingSpec {
  model: string;
  /** One paragraph for the model card: what the model predicts and for whom. */
  description: string;
  owner: string;
  task: Task;
  /** Entity of the prediction's `entity_id` (or the label event's), e.g. `card`. */
  entity: string;
  /**
   * Ids of other entities, read from a logged input of the same labeled prediction (e.g. the
   * merchant's id in input `merchant_id`); a row without one gets that entity's features imputed.
   */
  entityKeys?: Readonly<Record<string, string>>;
  /** Request-time inputs (read from the labeled prediction's `inputs`) and feature-store refs `group:feature`, in model input order. */
  features: readonly string[];
  /** Declarations of the request-time inputs (types and descriptions). */
  requestInputs: RequestSourceDecl;
  /** `predictions`: labeled predictions (feedback joined by prediction id); `label-events`: feedback naming an entity and a reference time. */
  labels: 'predictions' | 'label-events';
  /** Name of the model's output: `probability` for classifiers, `prediction` for regressors. */
  outputName: string;
  /** Classifiers: the decision rule registered with the version (`decision_threshold`, labels). */
  decision?: { threshold: number; positiveLabel: string; negativeLabel: string };
  /** When the request gives no window: how far back from its time to read labels. */
  lookbackDays: number;
  /** Newest labeled rows kept at most. */
  maxRows: number;
  /** Fewer rows than this fail the run (TRAINING_DATA_INSUFFICIENT). */
  minRows: number;
  /** A feature missing in more than this share of rows fails the run; below it, missing values are imputed with the training mean. */
  maxMissingRate: number;
  /** Shares of rows (by time, oldest first) for training and validation; the rest is the test split. */
  split: { train: number; validation: number };
  defaults: Omit<TrialParams, 'seed'>;
  search: SearchSpace;
  /** Trials per run (1 = the defaults only). */
  trials: number;
  gate: GatePolicy;
  /** Free text for the model card. */
  intendedUse: string;
  limitations: string;
}

/** A feature the model takes, resolved against the declarations. */
export interface ResolvedFeature {
  /** Input name in the model (the bare feature name). */
  name: string;
  /** The reference in the spec: `amount` or `card_activity:txn_count_1h`. */
  ref: string;
  /** Feature group, or null for a request-time input. */
  group: string | null;
  /** Entity whose id looks the group up (null for request-time inputs). */
  entity: string | null;
  type: ValueType;
  description: string;
}

const VALUE_TYPES: Record<FeatureDecl['type'], ValueType> = {
  double: 'DOUBLE',
  long: 'LONG',
  string: 'STRING',
  boolean: 'BOOLEAN',
};

/** The model's inputs, checked: known, numeric or boolean, unique names. BAD_REQUEST names every problem. */
export function resolveFeatures(
  spec: Pick<TrainingSpec, 'features' | 'requestInputs' | 'model'>,
  registry: FeatureRegistry,
): ResolvedFeature[] {
  const problems: string[] = [];
  const out: ResolvedFeature[] = [];
  for (const ref of spec.features) {
    const colon = ref.indexOf(':');
    let decl: FeatureDecl | undefined;
    let group: string | null = null;
    let entity: string | null = null;
    if (colon < 0) {
      decl = spec.requestInputs.features.find((f) => f.name === ref);
      if (!decl) problems.push(`${ref} is not a request input of ${spec.requestInputs.name}`);
    } else {
      group = ref.slice(0, colon);
      try {
        const g = registry.get(group);
        entity = g.entity;
        decl = g.features.find((f) => f.name === ref.slice(colon + 1));
        if (!decl) problems.push(`${ref}: group ${group} has no such feature`);
      } catch {
        problems.push(`${ref}: no feature group ${group}`);
      }
    }
    if (!decl) continue;
    if (decl.type === 'string')
      problems.push(`${ref} is a string; models take numbers and booleans (encode categories as features)`);
    out.push({ name: decl.name, ref, group, entity, type: VALUE_TYPES[decl.type], description: decl.description ?? '' });
  }
  const names = out.map((f) => f.name);
  const duplicates = names.filter((n, i) => names.indexOf(n) !== i);
  if (duplicates.length > 0) problems.push(`input names must be unique: ${[...new Set(duplicates)].join(', ')}`);
  if (problems.length > 0)
    throw new RheoError('BAD_REQUEST', `training spec of ${spec.model}: ${problems.join('; ')}`, { details: { problems } });
  return out;
}

/**
 * The inputs a version registers with, from its resolved features in model order: the bare name, the
 * value type and the feature group (null for a request-time input). The trainer registers its
 * versions with it, and `rheo models register --project` a model trained elsewhere.
 */
export function registeredInputs(
  features: readonly ResolvedFeature[],
): Array<{ name: string; type: ValueType; feature_group: string | null }> {
  return features.map((f) => ({ name: f.name, type: f.type, feature_group: f.group }));
}

/** What a request may override, by `params` key. */
export interface Overrides {
  trials?: number;
  seed?: number;
  algorithm?: TrialParams['algorithm'];
  maxEpochs?: number;
  learningRate?: number;
  batchSize?: number;
  hidden?: number[];
  patience?: number;
  l2?: number;
  gateAction?: GatePolicy['action'];
  /** Keys the trainer does not know (informational keys of other producers): recorded with the run, not applied. */
  ignored?: string[];
}

type ParamValue = number | string | boolean | null;

/**
 * Reads `params` of a RetrainRequest (`trials`, `seed`, `algorithm`, `epochs`, `learning_rate`, `batch_size`,
 * `hidden_units` e.g. "32,16", `patience`, `l2`, `gate_action`). A bad value of a known key is refused
 * (BAD_REQUEST); unknown keys are returned as `ignored`.
 */
export function parseOverrides(params: Readonly<Record<string, ParamValue>>): Overrides {
  const problems: string[] = [];
  const out: Overrides = {};
  const int = (key: string, min: number, max: number): number | undefined => {
    const v = params[key];
    if (v === undefined || v === null) return undefined;
    const n = typeof v === 'string' ? Number(v) : v;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > max) {
      problems.push(`${key} must be an integer in [${min}, ${max}], got ${String(v)}`);
      return undefined;
    }
    return n;
  };
  const num = (key: string, min: number, max: number): number | undefined => {
    const v = params[key];
    if (v === undefined || v === null) return undefined;
    const n = typeof v === 'string' ? Number(v) : v;
    if (typeof n !== 'number' || !Number.isFinite(n) || n < min || n > max) {
      problems.push(`${key} must be a number in [${min}, ${max}], got ${String(v)}`);
      return undefined;
    }
    return n;
  };
  const set = <K extends keyof Overrides>(key: K, value: Overrides[K] | undefined) => {
    if (value !== undefined) out[key] = value;
  };
  set('trials', int('trials', 1, 200));
  set('seed', int('seed', 0, 2 ** 32 - 1));
  set('maxEpochs', int('epochs', 1, 1000));
  set('learningRate', num('learning_rate', 1e-6, 1));
  set('batchSize', int('batch_size', 1, 65_536));
  set('patience', int('patience', 1, 100));
  set('l2', num('l2', 0, 1));
  const algorithm = params.algorithm;
  if (algorithm !== undefined && algorithm !== null) {
    if (algorithm === 'mlp' || algorithm === 'logistic_regression') out.algorithm = algorithm;
    else problems.push(`algorithm must be mlp or logistic_regression, got ${String(algorithm)}`);
  }
  const hidden = params.hidden_units;
  if (hidden !== undefined && hidden !== null) {
    const widths = String(hidden)
      .split(',')
      .map((s) => Number(s.trim()));
    if (widths.length === 0 || widths.some((w) => !Number.isInteger(w) || w < 1 || w > 4096))
      problems.push(`hidden_units must be comma-separated layer widths, e.g. "32,16", got ${String(hidden)}`);
    else out.hidden = widths;
  }
  const action = params.gate_action;
  if (action !== undefined && action !== null) {
    if (typeof action === 'string' && (ACTIONS as readonly string[]).includes(action))
      out.gateAction = action as GatePolicy['action'];
    else problems.push(`gate_action must be one of ${ACTIONS.join(', ')}, got ${String(action)}`);
  }
  const known = new Set([
    'trials',
    'seed',
    'epochs',
    'learning_rate',
    'batch_size',
    'patience',
    'l2',
    'algorithm',
    'hidden_units',
    'gate_action',
  ]);
  const ignored = Object.keys(params).filter((key) => !known.has(key));
  if (ignored.length > 0) out.ignored = ignored;
  if (problems.length > 0)
    throw new RheoError('BAD_REQUEST', `request params: ${problems.join('; ')}`, { details: { problems } });
  return out;
}

/** The spec with a request's overrides applied. A fixed algorithm or architecture narrows the search to it; the gate may only get weaker. */
export function applyOverrides(spec: TrainingSpec, o: Overrides): TrainingSpec {
  const defaults = {
    ...spec.defaults,
    ...(o.algorithm ? { algorithm: o.algorithm } : {}),
    ...(o.maxEpochs !== undefined ? { maxEpochs: o.maxEpochs } : {}),
    ...(o.learningRate !== undefined ? { learningRate: o.learningRate } : {}),
    ...(o.batchSize !== undefined ? { batchSize: o.batchSize } : {}),
    ...(o.hidden ? { hidden: o.hidden } : {}),
    ...(o.patience !== undefined ? { patience: o.patience } : {}),
    ...(o.l2 !== undefined ? { l2: o.l2 } : {}),
  };
  if (defaults.algorithm === 'logistic_regression') defaults.hidden = [];
  const search: SearchSpace = {
    ...spec.search,
    ...(o.algorithm ? { algorithms: [o.algorithm] } : {}),
    ...(o.hidden ? { hidden: [o.hidden] } : {}),
    ...(o.batchSize !== undefined ? { batchSizes: [o.batchSize] } : {}),
  };
  const weaker = o.gateAction && ACTIONS.indexOf(o.gateAction) < ACTIONS.indexOf(spec.gate.action);
  return {
    ...spec,
    defaults,
    search,
    trials: o.trials ?? spec.trials,
    gate: weaker ? { ...spec.gate, action: o.gateAction as GatePolicy['action'] } : spec.gate,
  };
}

/** The training settings a spec starts from (the fraud example uses them as they are; a project's model overrides any). */
export type TrainerDefaults = Pick<
  TrainingSpec,
  'lookbackDays' | 'maxRows' | 'minRows' | 'maxMissingRate' | 'split' | 'defaults' | 'search' | 'trials'
>;

export const TRAINER_DEFAULTS: Readonly<TrainerDefaults> = Object.freeze<TrainerDefaults>({
  lookbackDays: 30,
  maxRows: 200_000,
  minRows: 500,
  maxMissingRate: 0.5,
  split: { train: 0.7, validation: 0.15 },
  defaults: {
    algorithm: 'mlp',
    hidden: [32, 16],
    activation: 'relu',
    learningRate: 0.003,
    batchSize: 256,
    l2: 1e-4,
    maxEpochs: 20,
    patience: 3,
    minDelta: 1e-4,
  },
  search: {
    algorithms: ['mlp', 'logistic_regression'],
    hidden: [[16], [32], [32, 16], [64, 32]],
    activations: ['relu', 'tanh'],
    learningRate: [3e-4, 3e-2],
    batchSizes: [128, 256, 512],
    l2: [1e-6, 1e-2],
  },
  trials: 6,
});
