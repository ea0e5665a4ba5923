/**
 * A Rheo project, declared as data: its entities, feature groups, request-time inputs and models
 * (inputs by reference, labels, task, training defaults and search space, quality gate, drift
 * settings, rollout policy), plus optional per-group topic overrides. The declaration reuses the
 * types the services already read — `FeatureGroupDecl`, `RequestSourceDecl`, the trainer's
 * `TrialParams`/`SearchSpace`/`GatePolicy`, the drift processor's `WindowSpec`/`Thresholds` — so a
 * declared model becomes the existing `TrainingSpec` through `toTrainingSpec`, unchanged.
 *
 * `projectProblems` lists every problem at once, each naming where it is (`models.fraud_detector.inputs[3]`);
 * `defineProject` and the loader (`load.ts`) refuse a project with any as one PROJECT_INVALID error.
 * It checks untyped input too (a project file is user code), so a missing field reads as a message,
 * never as a TypeError.
 */
import { type FeatureDecl, type FeatureGroupDecl, groupProblems, type RequestSourceDecl } from '../features/declaration.ts';
import { RheoError, rheoError } from '../kernel/errors.ts';
import type { Thresholds } from '../processors/drift/scores.ts';
import { DEFAULT_DRIFT_SETTINGS } from '../processors/drift/settings.ts';
import { validateWindowSpec, type WindowSpec } from '../processors/drift/windows.ts';
import { LIVE_METRICS } from '../serving/rollout/policy.ts';
import { DEFAULT_BINS } from '../trainers/baseline.ts';
import { ACTIONS, type GatePolicy } from '../trainers/gate.ts';
import { HIGHER_IS_BETTER } from '../trainers/models/metrics.ts';
import type { TrialParams } from '../trainers/models/network.ts';
import type { SearchSpace } from '../trainers/models/search.ts';
import { TRAINER_DEFAULTS, type TrainingSpec } from '../trainers/spec.ts';

export type { FeatureGroupDecl, RequestSourceDecl };

/** A thing features are keyed by (`card`, `merchant`); its ids are the records' keys. */
export interface EntityDecl {
  readonly name: string;
  readonly description: string;
  /** What an id looks like; on the wire it is always the text of the id (`entity_id` is a string). */
  readonly key: 'string' | 'long';
}

/** The model's task; a multiclass model names its classes (at least two, distinct). */
export type TaskDecl =
  | {
      readonly type: 'binary';
      /** Label of the class a probability is for (`fraud`), and of the other one (`legit`). */
      readonly positiveLabel: string;
      readonly negativeLabel: string;
      /** Probability from which the positive label is decided; default 0.5. */
      readonly threshold?: number;
    }
  | { readonly type: 'multiclass'; readonly classes: readonly string[] }
  | { readonly type: 'regression' };

/** Where a model's labels come from. */
export interface LabelSource {
  /** `predictions`: feedback joined to logged predictions by prediction id; `label-events`: feedback naming an entity and a reference time. */
  readonly from: 'predictions' | 'label-events';
  /** The feedback topic; default `feedback`. */
  readonly topic?: string;
  /** The model name the feedback carries; default the model's own name. */
  readonly model?: string;
}

/** How much data a run reads and how it searches; every field defaults to `TRAINING_DEFAULTS`. */
export interface TrainingDecl {
  readonly lookbackDays: number;
  readonly maxRows: number;
  readonly minRows: number;
  readonly maxMissingRate: number;
  readonly split: { readonly train: number; readonly validation: number };
  readonly defaults: Omit<TrialParams, 'seed'>;
  readonly search: SearchSpace;
  readonly trials: number;
}

/** Drift settings of one model; every field defaults to the drift processor's defaults. */
export interface DriftDecl {
  /** Quantile bins per numeric feature in the baseline. */
  readonly bins: number;
  readonly window: WindowSpec;
  /** PSI warn and alert bands. */
  readonly thresholds: Thresholds;
  /** Fewer non-null values make a window INSUFFICIENT. */
  readonly minSamples: number;
  /** At most one retraining request per this much event time. */
  readonly cooldownMs: number;
}

/** How a version that passed its gate reaches production, and when it is rolled back. */
export interface RolloutPolicy {
  /** Scored and logged but not returned, before any canary: for this many predictions and/or this long. */
  readonly shadow?: { readonly predictions?: number; readonly durationMs?: number };
  /** Share of requests the canary answers first (the gate's canary percent), then the steps it is raised through. */
  readonly canary: { readonly percent: number; readonly steps: readonly number[] };
  /** Promote when live quality (`metric`) is not worse than production's by more than `maxRegression`, on at least `minLabels` labels. */
  readonly promote: { readonly metric: string; readonly maxRegression: number; readonly minLabels: number };
  /** Roll back when the candidate's error rate (0..1) or p99 latency goes over these. */
  readonly rollback: { readonly maxErrorRate: number; readonly maxLatencyP99Ms: number };
  /** Whether a person must approve the transition to production. */
  readonly requireApproval: boolean;
}

export interface ModelDecl {
  readonly name: string;
  /** One paragraph for the model card: what it predicts and for whom. */
  readonly description: string;
  readonly owner: string;
  /** Entity of the prediction's `entity_id`. */
  readonly entity: string;
  /** Ids of other entities read from a logged request input (`{ merchant: 'merchant_id' }`). */
  readonly entityKeys?: Readonly<Record<string, string>>;
  /** Model inputs in order: `group:feature` from the feature store, `request:<input>` from the request. */
  readonly inputs: readonly string[];
  /** The request source the `request:` inputs belong to; may be left out when the project declares one. */
  readonly request?: string;
  readonly labels: LabelSource;
  readonly task: TaskDecl;
  readonly training?: Partial<TrainingDecl>;
  readonly gate: Omit<GatePolicy, 'canaryPercent'>;
  readonly drift?: Partial<DriftDecl>;
  readonly rollout: RolloutPolicy;
  /** Model card text. */
  readonly intendedUse: string;
  readonly limitations: string;
}

/** Overrides of a feature group's topic (the catalogue's defaults otherwise). */
export interface TopicOverride {
  readonly partitions?: number;
  readonly retentionMs?: number;
}

export interface ProjectDecl {
  /** Lower snake_case (or kebab-case) name of the project. */
  readonly name: string;
  readonly description?: string;
  readonly entities: readonly EntityDecl[];
  readonly featureGroups: readonly FeatureGroupDecl[];
  readonly requestInputs: readonly RequestSourceDecl[];
  readonly models: readonly ModelDecl[];
  /** By feature-group name. */
  readonly topics?: Readonly<Record<string, TopicOverride>>;
}

const HOUR = 3_600_000;

/** What a model's training gets for the fields it leaves out: the trainer's own defaults. */
export const TRAINING_DEFAULTS: TrainingDecl = TRAINER_DEFAULTS;

/** What a model's drift settings get for the fields they leave out (the drift processor's defaults). */
export const DRIFT_DEFAULTS: DriftDecl = Object.freeze<DriftDecl>({
  bins: DEFAULT_BINS,
  window: DEFAULT_DRIFT_SETTINGS.window,
  thresholds: DEFAULT_DRIFT_SETTINGS.defaults.thresholds,
  minSamples: DEFAULT_DRIFT_SETTINGS.defaults.minSamples,
  cooldownMs: DEFAULT_DRIFT_SETTINGS.defaults.cooldownMs,
});

const NAME = /^[a-z][a-z0-9_]*$/;
const PROJECT_NAME = /^[a-z][a-z0-9_-]*$/;
const TOPIC_NAME = /^[A-Za-z0-9._-]{1,249}$/;
const TASK_METRICS: Record<TaskDecl['type'], readonly string[]> = {
  binary: ['auc', 'accuracy', 'logloss', 'brier'],
  multiclass: ['accuracy', 'logloss'],
  regression: ['rmse', 'mae', 'r2'],
};

/** The training settings in force for a model: its own over `TRAINING_DEFAULTS`. */
export function trainingOf(model: Pick<ModelDecl, 'training'>): TrainingDecl {
  return { ...TRAINING_DEFAULTS, ...model.training };
}

/** The drift settings in force for a model: its own over `DRIFT_DEFAULTS`. */
export function driftOf(model: Pick<ModelDecl, 'drift'>): DriftDecl {
  const own = model.drift ?? {};
  return {
    ...DRIFT_DEFAULTS,
    ...own,
    window: { ...DRIFT_DEFAULTS.window, ...own.window },
    thresholds: { ...DRIFT_DEFAULTS.thresholds, ...own.thresholds },
  };
}

/** The request source a model's `request:` inputs resolve in, or undefined when there is none to choose. */
export function requestSourceOf(
  project: Pick<ProjectDecl, 'requestInputs'>,
  model: Pick<ModelDecl, 'request'>,
): RequestSourceDecl | undefined {
  const sources: readonly RequestSourceDecl[] = Array.isArray(project.requestInputs) ? project.requestInputs : [];
  if (model.request !== undefined) return sources.find((s) => s.name === model.request);
  return sources.length === 1 ? sources[0] : undefined;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const show = (v: unknown) => (typeof v === 'string' ? JSON.stringify(v) : String(v));

function listOf(value: unknown, where: string, problems: string[]): readonly unknown[] {
  if (value === undefined) {
    problems.push(`${where} is missing (an array)`);
    return [];
  }
  if (!Array.isArray(value)) {
    problems.push(`${where} must be an array, got ${show(value)}`);
    return [];
  }
  return value;
}

function named(value: unknown, where: string, kind: string, seen: Set<string>, problems: string[]): string | undefined {
  if (!isRecord(value)) {
    problems.push(`${where} must be an object`);
    return undefined;
  }
  const name = value.name;
  if (typeof name !== 'string' || !NAME.test(name)) {
    problems.push(`${where}.name must be lower snake_case, got ${show(name)}`);
    return undefined;
  }
  if (seen.has(name)) problems.push(`${kind} "${name}" is declared twice`);
  seen.add(name);
  return name;
}

const inRange = (v: unknown, min: number, max: number, integer = false): v is number =>
  typeof v === 'number' && Number.isFinite(v) && v >= min && v <= max && (!integer || Number.isInteger(v));

/** Every problem of a project declaration, each naming where it is; empty when it is valid. Pure. */
export function projectProblems(project: unknown): string[] {
  const problems: string[] = [];
  if (!isRecord(project)) return ['the project must be an object (the default export of rheo.project.ts)'];
  if (typeof project.name !== 'string' || !PROJECT_NAME.test(project.name))
    problems.push(`name must be lower case letters, digits, "_" or "-", starting with a letter, got ${show(project.name)}`);

  const entities = new Set<string>();
  listOf(project.entities, 'entities', problems).forEach((e, i) => {
    const where = `entities[${i}]`;
    const name = named(e, where, 'entity', entities, problems);
    if (!name || !isRecord(e)) return;
    if (typeof e.description !== 'string' || e.description === '') problems.push(`entity ${name}: description is missing`);
    if (e.key !== 'string' && e.key !== 'long')
      problems.push(`entity ${name}: key must be "string" or "long", got ${show(e.key)}`);
  });

  const groups = new Map<string, FeatureGroupDecl>();
  const groupNames = new Set<string>();
  listOf(project.featureGroups, 'featureGroups', problems).forEach((g, i) => {
    const name = named(g, `featureGroups[${i}]`, 'feature group', groupNames, problems);
    if (!name || !isRecord(g)) return;
    const group = g as unknown as FeatureGroupDecl;
    if (!Array.isArray(group.features)) {
      problems.push(`feature group ${name}: features must be an array`);
      return;
    }
    for (const problem of groupProblems(group)) problems.push(`feature group ${name}: ${problem}`);
    if (!entities.has(group.entity))
      problems.push(
        `feature group ${name}: entity ${show(group.entity)} is not declared (entities: ${[...entities].join(', ') || 'none'})`,
      );
    groups.set(name, group);
  });

  const sourceNames = new Set<string>();
  listOf(project.requestInputs, 'requestInputs', problems).forEach((s, i) => {
    const name = named(s, `requestInputs[${i}]`, 'request source', sourceNames, problems);
    if (!name || !isRecord(s)) return;
    if (groupNames.has(name)) problems.push(`request source ${name}: a feature group has the same name`);
    const seen = new Set<string>();
    listOf(s.features, `request source ${name}: features`, problems).forEach((f, j) => {
      const feature = named(f, `request source ${name}: features[${j}]`, `request input of ${name}`, seen, problems);
      if (!feature || !isRecord(f)) return;
      if (!['double', 'long', 'string', 'boolean'].includes(f.type as string))
        problems.push(`request input ${name}.${feature}: type must be double, long, string or boolean, got ${show(f.type)}`);
    });
  });

  if (project.topics !== undefined) {
    if (!isRecord(project.topics)) problems.push('topics must be an object keyed by feature group');
    else
      for (const [group, o] of Object.entries(project.topics)) {
        if (!groups.has(group)) problems.push(`topics.${group}: no feature group "${group}"`);
        if (!isRecord(o)) {
          problems.push(`topics.${group} must be an object`);
          continue;
        }
        if (o.partitions !== undefined && !inRange(o.partitions, 1, 10_000, true))
          problems.push(`topics.${group}.partitions must be a whole number in 1..10000, got ${show(o.partitions)}`);
        if (o.retentionMs !== undefined && !(inRange(o.retentionMs, 1, Number.MAX_SAFE_INTEGER, true) || o.retentionMs === -1))
          problems.push(
            `topics.${group}.retentionMs must be a positive whole number of ms (or -1 for forever), got ${show(o.retentionMs)}`,
          );
      }
  }

  const modelNames = new Set<string>();
  listOf(project.models, 'models', problems).forEach((m, i) => {
    const name = named(m, `models[${i}]`, 'model', modelNames, problems);
    if (!name || !isRecord(m)) return;
    modelProblems(project as unknown as ProjectDecl, m as unknown as ModelDecl, entities, groups, problems);
  });
  return problems;
}

function modelProblems(
  project: ProjectDecl,
  model: ModelDecl,
  entities: ReadonlySet<string>,
  groups: ReadonlyMap<string, FeatureGroupDecl>,
  problems: string[],
): void {
  const at = `model ${model.name}`;
  const p = (text: string) => problems.push(`${at}: ${text}`);
  for (const field of ['description', 'owner', 'intendedUse', 'limitations'] as const)
    if (typeof model[field] !== 'string' || model[field] === '') p(`${field} is missing`);
  if (!entities.has(model.entity)) p(`entity ${show(model.entity)} is not declared`);
  const keyed = new Set([model.entity]);
  if (model.entityKeys !== undefined) {
    if (!isRecord(model.entityKeys)) p('entityKeys must be an object of entity → request input');
    else
      for (const [entity, input] of Object.entries(model.entityKeys)) {
        if (!entities.has(entity)) p(`entityKeys.${entity}: entity "${entity}" is not declared`);
        if (typeof input !== 'string' || input === '') p(`entityKeys.${entity} must name the input holding its id`);
        keyed.add(entity);
      }
  }

  const declared = requestSourceOf(project, model);
  // A source whose features are not a list was reported above; its inputs then resolve in nothing.
  const source = declared && { ...declared, features: Array.isArray(declared.features) ? declared.features : [] };
  if (model.request !== undefined && !declared) p(`request source ${show(model.request)} is not declared`);
  const inputs = listOf(model.inputs, `${at}: inputs`, problems);
  if (Array.isArray(model.inputs) && inputs.length === 0) p('inputs is empty');
  const bare: string[] = [];
  for (const [j, ref] of inputs.entries()) {
    const where = `inputs[${j}] ${show(ref)}`;
    const match = typeof ref === 'string' ? /^([a-z][a-z0-9_]*):([a-z][a-z0-9_]*)$/.exec(ref) : null;
    if (!match) {
      p(`${where} is not "group:feature" or "request:<input>"`);
      continue;
    }
    const [, prefix, feature] = match as unknown as [string, string, string];
    let decl: FeatureDecl | undefined;
    if (prefix === 'request') {
      if (!source) {
        p(
          `${where}: no request source to read it from (declare one in requestInputs${(project.requestInputs?.length ?? 0) > 1 ? ', and name it in the model\'s "request"' : ''})`,
        );
        continue;
      }
      decl = source.features.find((f) => f.name === feature);
      if (!decl) {
        p(
          `${where}: request source ${source.name} has no input "${feature}" (it has ${source.features.map((f) => f.name).join(', ')})`,
        );
        continue;
      }
    } else {
      const group = groups.get(prefix);
      if (!group) {
        p(`${where}: no feature group "${prefix}" (declared: ${[...groups.keys()].join(', ') || 'none'})`);
        continue;
      }
      decl = group.features.find((f) => f.name === feature);
      if (!decl) {
        p(`${where}: group ${prefix} has no feature "${feature}" (it has ${group.features.map((f) => f.name).join(', ')})`);
        continue;
      }
      if (!keyed.has(group.entity))
        p(`${where}: group ${prefix} is keyed by ${group.entity}, which is neither the model's entity nor in its entityKeys`);
    }
    if (decl.type === 'string') p(`${where} is a string; models take numbers and booleans (encode categories as features)`);
    bare.push(feature);
  }
  const duplicates = [...new Set(bare.filter((n, i) => bare.indexOf(n) !== i))];
  if (duplicates.length > 0) p(`input names must be unique (the model sees bare names): ${duplicates.join(', ')}`);

  const labels = model.labels as unknown;
  if (!isRecord(labels)) p('labels is missing ({ from: "predictions" | "label-events" })');
  else {
    if (labels.from !== 'predictions' && labels.from !== 'label-events')
      p(`labels.from must be "predictions" or "label-events", got ${show(labels.from)}`);
    if (labels.topic !== undefined && (typeof labels.topic !== 'string' || !TOPIC_NAME.test(labels.topic)))
      p(`labels.topic is not a topic name: ${show(labels.topic)}`);
    if (labels.model !== undefined && (typeof labels.model !== 'string' || !NAME.test(labels.model)))
      p(`labels.model must be a model name, got ${show(labels.model)}`);
  }

  const task = model.task as unknown;
  let taskType: TaskDecl['type'] | undefined;
  if (!isRecord(task) || !['binary', 'multiclass', 'regression'].includes(task.type as string))
    p(`task.type must be binary, multiclass or regression, got ${show(isRecord(task) ? task.type : task)}`);
  else {
    taskType = task.type as TaskDecl['type'];
    if (taskType === 'binary') {
      for (const label of ['positiveLabel', 'negativeLabel'] as const)
        if (typeof task[label] !== 'string' || task[label] === '') p(`task.${label} is missing`);
      if (task.positiveLabel === task.negativeLabel) p('task.positiveLabel and task.negativeLabel must differ');
      if (task.threshold !== undefined && !(inRange(task.threshold, 0, 1) && task.threshold > 0 && task.threshold < 1))
        p(`task.threshold must be between 0 and 1 (exclusive), got ${show(task.threshold)}`);
    }
    if (taskType === 'multiclass') {
      const classes = task.classes;
      if (!Array.isArray(classes) || classes.length < 2) p('a multiclass model must declare at least two classes (task.classes)');
      else if (new Set(classes).size !== classes.length || classes.some((c) => typeof c !== 'string' || c === ''))
        p(`task.classes must be distinct, non-empty names, got ${JSON.stringify(classes)}`);
    }
  }

  trainingProblems(trainingOf(model), p);
  gateProblems(model.gate, taskType, p);
  driftProblems(model.drift, p);
  rolloutProblems(model.rollout, taskType, p);
}

function trainingProblems(t: TrainingDecl, p: (text: string) => void): void {
  if (!inRange(t.lookbackDays, 1, 3650, true))
    p(`training.lookbackDays must be a whole number in 1..3650, got ${show(t.lookbackDays)}`);
  if (!inRange(t.minRows, 1, Number.MAX_SAFE_INTEGER, true))
    p(`training.minRows must be a whole number ≥ 1, got ${show(t.minRows)}`);
  if (!inRange(t.maxRows, 1, Number.MAX_SAFE_INTEGER, true) || t.maxRows < t.minRows)
    p(`training.maxRows must be a whole number ≥ minRows (${t.minRows}), got ${show(t.maxRows)}`);
  if (!inRange(t.maxMissingRate, 0, 1)) p(`training.maxMissingRate must be in 0..1, got ${show(t.maxMissingRate)}`);
  const split = t.split as unknown;
  if (
    !isRecord(split) ||
    !inRange(split.train, 0, 1) ||
    !inRange(split.validation, 0, 1) ||
    split.train <= 0 ||
    split.validation <= 0 ||
    split.train + split.validation >= 1
  )
    p('training.split: train and validation must be positive shares leaving a test split (train + validation < 1)');
  if (!inRange(t.trials, 1, 200, true)) p(`training.trials must be a whole number in 1..200, got ${show(t.trials)}`);
  const d = t.defaults as unknown;
  if (!isRecord(d) || (d.algorithm !== 'mlp' && d.algorithm !== 'logistic_regression'))
    p('training.defaults.algorithm must be mlp or logistic_regression');
  const s = t.search as unknown;
  if (!isRecord(s) || !Array.isArray(s.algorithms) || s.algorithms.length === 0)
    p('training.search.algorithms must list at least one algorithm');
  else
    for (const [key, range] of [
      ['learningRate', s.learningRate],
      ['l2', s.l2],
    ] as const)
      if (!Array.isArray(range) || range.length !== 2 || !(range[0] > 0 && range[0] <= range[1]))
        p(`training.search.${key} must be a range [low, high] with 0 < low ≤ high`);
}

function gateProblems(gate: unknown, task: TaskDecl['type'] | undefined, p: (text: string) => void): void {
  if (!isRecord(gate)) {
    p('gate is missing');
    return;
  }
  if (!(ACTIONS as readonly unknown[]).includes(gate.action))
    p(`gate.action must be one of ${ACTIONS.join(', ')}, got ${show(gate.action)}`);
  if (
    gate.firstVersion === 'canary' ||
    gate.firstVersion === 'rollout' ||
    !(ACTIONS as readonly unknown[]).includes(gate.firstVersion)
  )
    p(
      `gate.firstVersion must be register, stage or promote (a first version has nothing to canary or shadow against), got ${show(gate.firstVersion)}`,
    );
  if (typeof gate.metric !== 'string' || HIGHER_IS_BETTER[gate.metric] === undefined)
    p(`gate.metric ${show(gate.metric)} is not a known metric (${Object.keys(HIGHER_IS_BETTER).join(', ')})`);
  else if (task && !TASK_METRICS[task].includes(gate.metric))
    p(`gate.metric ${gate.metric} is not reported for ${task} models (${TASK_METRICS[task].join(', ')})`);
  if (!inRange(gate.maxRegression, 0, Number.MAX_VALUE)) p(`gate.maxRegression must be ≥ 0, got ${show(gate.maxRegression)}`);
  if (gate.minimum !== undefined && !inRange(gate.minimum, -Number.MAX_VALUE, Number.MAX_VALUE))
    p(`gate.minimum must be a number, got ${show(gate.minimum)}`);
}

function driftProblems(drift: unknown, p: (text: string) => void): void {
  if (drift === undefined) return;
  if (!isRecord(drift)) {
    p('drift must be an object');
    return;
  }
  const d = driftOf({ drift: drift as Partial<DriftDecl> });
  if (!inRange(d.bins, 2, 100, true)) p(`drift.bins must be a whole number in 2..100, got ${show(d.bins)}`);
  try {
    validateWindowSpec(d.window);
  } catch (error) {
    p(`drift.window: ${error instanceof Error ? error.message : String(error)}`);
  }
  const { warn, alert } = d.thresholds;
  if (!inRange(warn, 0, Number.MAX_VALUE) || warn === 0) p(`drift.thresholds.warn must be a positive number, got ${show(warn)}`);
  if (!inRange(alert, 0, Number.MAX_VALUE) || alert === 0)
    p(`drift.thresholds.alert must be a positive number, got ${show(alert)}`);
  else if (typeof warn === 'number' && warn > alert) p(`drift.thresholds: warn ${warn} is above alert ${alert}`);
  if (!inRange(d.minSamples, 1, 100_000_000, true)) p(`drift.minSamples must be a whole number ≥ 1, got ${show(d.minSamples)}`);
  if (!inRange(d.cooldownMs, 0, 365 * 24 * HOUR, true))
    p(`drift.cooldownMs must be a whole number of ms up to a year, got ${show(d.cooldownMs)}`);
}

function rolloutProblems(rollout: unknown, task: TaskDecl['type'] | undefined, p: (text: string) => void): void {
  if (!isRecord(rollout)) {
    p('rollout is missing');
    return;
  }
  const percent = (v: unknown, where: string) => {
    if (!inRange(v, 0, 100) || v === 0) p(`${where} must be a percent in (0, 100], got ${show(v)}`);
  };
  const shadow = rollout.shadow;
  if (shadow !== undefined) {
    if (!isRecord(shadow) || (shadow.predictions === undefined && shadow.durationMs === undefined))
      p('rollout.shadow must give predictions, durationMs or both');
    else {
      if (shadow.predictions !== undefined && !inRange(shadow.predictions, 1, Number.MAX_SAFE_INTEGER, true))
        p(`rollout.shadow.predictions must be a whole number ≥ 1, got ${show(shadow.predictions)}`);
      if (shadow.durationMs !== undefined && !inRange(shadow.durationMs, 1, Number.MAX_SAFE_INTEGER, true))
        p(`rollout.shadow.durationMs must be a whole number of ms ≥ 1, got ${show(shadow.durationMs)}`);
    }
  }
  const canary = rollout.canary;
  if (!isRecord(canary)) p('rollout.canary is missing ({ percent, steps })');
  else {
    percent(canary.percent, 'rollout.canary.percent');
    if (!Array.isArray(canary.steps)) p('rollout.canary.steps must be an array of percents');
    else {
      for (const [i, step] of canary.steps.entries()) percent(step, `rollout.canary.steps[${i}]`);
      const all = [canary.percent, ...canary.steps];
      if (all.some((s, i) => i > 0 && !((s as number) > (all[i - 1] as number))))
        p(`rollout.canary: percent then steps must rise strictly, got ${all.join(', ')}`);
    }
  }
  const promote = rollout.promote;
  if (!isRecord(promote)) p('rollout.promote is missing ({ metric, maxRegression, minLabels })');
  else {
    if (typeof promote.metric !== 'string' || HIGHER_IS_BETTER[promote.metric] === undefined)
      p(`rollout.promote.metric ${show(promote.metric)} is not a known metric`);
    else if (LIVE_METRICS[promote.metric] === undefined)
      p(
        `rollout.promote.metric ${promote.metric} is not measured on live traffic; one of ${Object.keys(LIVE_METRICS).join(', ')}`,
      );
    else if (task && !TASK_METRICS[task].includes(promote.metric))
      p(`rollout.promote.metric ${promote.metric} is not reported for ${task} models`);
    if (!inRange(promote.maxRegression, 0, Number.MAX_VALUE))
      p(`rollout.promote.maxRegression must be ≥ 0, got ${show(promote.maxRegression)}`);
    if (!inRange(promote.minLabels, 1, Number.MAX_SAFE_INTEGER, true))
      p(`rollout.promote.minLabels must be a whole number ≥ 1, got ${show(promote.minLabels)}`);
  }
  const rollback = rollout.rollback;
  if (!isRecord(rollback)) p('rollout.rollback is missing ({ maxErrorRate, maxLatencyP99Ms })');
  else {
    if (!inRange(rollback.maxErrorRate, 0, 1))
      p(`rollout.rollback.maxErrorRate must be a share in 0..1, got ${show(rollback.maxErrorRate)}`);
    if (!inRange(rollback.maxLatencyP99Ms, 0, Number.MAX_VALUE) || rollback.maxLatencyP99Ms === 0)
      p(`rollout.rollback.maxLatencyP99Ms must be a positive number of ms, got ${show(rollback.maxLatencyP99Ms)}`);
  }
  if (typeof rollout.requireApproval !== 'boolean')
    p(`rollout.requireApproval must be true or false, got ${show(rollout.requireApproval)}`);
}

/** PROJECT_INVALID listing every problem, or nothing when the project is valid. */
export function checkProject<P extends ProjectDecl>(project: P, source?: string): P {
  const problems = projectProblems(project);
  if (problems.length > 0) {
    const name = isRecord(project) && typeof project.name === 'string' ? project.name : '(unnamed)';
    throw rheoError(
      'PROJECT_INVALID',
      { project: source ? `${name} (${source})` : name, problems: problems.join('\n  ') },
      { details: { project: name, problems } },
    );
  }
  return project;
}

/** Checks a project declaration (every problem at once, as PROJECT_INVALID) and returns it as declared. */
export function defineProject<const P extends ProjectDecl>(project: P): P {
  return checkProject(project);
}

/** A model of the project, or NOT_FOUND naming the declared ones. */
export function modelOf(project: ProjectDecl, name: string): ModelDecl {
  const model = project.models.find((m) => m.name === name);
  if (!model)
    throw new RheoError(
      'NOT_FOUND',
      `project ${project.name} declares no model "${name}"; declared: ${project.models.map((m) => m.name).join(', ') || '(none)'}`,
      { details: { model: name } },
    );
  return model;
}

/**
 * The trainer's `TrainingSpec` of a declared model: `request:` inputs become bare names (the spec's
 * request-time inputs), `group:feature` stay as they are, the gate takes the rollout's first canary
 * percent. The trainer trains binary and regression models; a multiclass one is refused here.
 */
export function toTrainingSpec(project: ProjectDecl, modelName: string): TrainingSpec {
  const model = modelOf(project, modelName);
  if (model.task.type === 'multiclass')
    throw rheoError('PROJECT_INVALID', {
      project: project.name,
      problems: `model ${model.name}: the trainer trains binary and regression models; multiclass is declared but not trainable yet`,
    });
  const source: RequestSourceDecl = requestSourceOf(project, model) ?? {
    name: 'request',
    description: 'No request-time inputs.',
    features: [],
  };
  const t = trainingOf(model);
  const spec: TrainingSpec = {
    model: model.name,
    description: model.description,
    owner: model.owner,
    task: model.task.type,
    entity: model.entity,
    ...(model.entityKeys ? { entityKeys: model.entityKeys } : {}),
    features: model.inputs.map((ref) => (ref.startsWith('request:') ? ref.slice('request:'.length) : ref)),
    requestInputs: source,
    labels: model.labels.from,
    outputName: model.task.type === 'binary' ? 'probability' : 'prediction',
    ...(model.task.type === 'binary'
      ? {
          decision: {
            threshold: model.task.threshold ?? 0.5,
            positiveLabel: model.task.positiveLabel,
            negativeLabel: model.task.negativeLabel,
          },
        }
      : {}),
    lookbackDays: t.lookbackDays,
    maxRows: t.maxRows,
    minRows: t.minRows,
    maxMissingRate: t.maxMissingRate,
    split: { ...t.split },
    defaults: { ...t.defaults, hidden: [...t.defaults.hidden] },
    search: t.search,
    trials: t.trials,
    gate: { ...model.gate, canaryPercent: model.rollout.canary.percent },
    intendedUse: model.intendedUse,
    limitations: model.limitations,
  };
  return spec;
}
