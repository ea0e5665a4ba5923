/**
 * One training run, from a request to a registered version and the gate's decision — the same code
 * for the trainer service (one run per `training.requests` record) and for `rheo train` in the
 * foreground:
 *
 *   STARTED → labeled examples + point-in-time features → time split → normalisation (train split)
 *   → trials (random search, early stopping; each one tracked in ClickHouse; PROGRESS per epoch)
 *   → best trial on the test split → ONNX export, checked against TensorFlow.js within 1e-5
 *   → production scored on the same test rows → quality gate → drift baseline, model card
 *   → REGISTERED (+ stage, canary or promotion events with the evidence) → COMPLETED
 *
 * `runTraining` reads as those phases, one function each: `startRun`, `loadTrainingSet`,
 * `splitByTime`, `searchTrials`, `evaluateOnTest`, `exportAndVerify`, `judgeAgainstProduction`,
 * `buildBaseline`, `registerVersion`, `applyGate`, `completeRun`. Every phase after STARTED begins by
 * honouring the run's AbortSignal (an aborted run fails as SHUTTING_DOWN; the search also stops
 * mid-trial), so the trainer can run a training as an abortable long task.
 *
 * Any failure publishes FAILED (with the error code and whether a retry may help) and is rethrown.
 *
 * A run's id comes from its request (`run-<request id>`), and the version records it
 * (`lineage.run_id`): a request delivered again — after a trainer died between registering and
 * committing — finds its version and only finishes the decision, so no request ever registers two
 * versions, and nothing is registered before the artifact is stored and verified.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { OfflineStore } from '../features/offline/store.ts';
import type { FeatureRegistry } from '../features/registry.ts';
import { errorMessage, RheoError } from '../kernel/errors.ts';
import type { Logger } from '../kernel/log.ts';
import type { VersionState } from '../registry/types.ts';
import type { RegistryWriter } from '../registry/writer.ts';
import type { ModelVersionRegistered, RetrainRequest } from '../schemas/index.ts';
import type { ArtifactStore } from '../serving/artifacts/store.ts';
import { computeBaseline } from './baseline.ts';
import { modelCard } from './card.ts';
import { buildDataset, columnMeans, type Dataset, datasetHash, labelsOf, matrix, missingRates } from './data/dataset.ts';
import type { LabelSource } from './data/labels.ts';
import { timeSplit } from './data/split.ts';
import { applyDecision, TRAINER_ACTOR } from './decision.ts';
import { type RunEventSink, type RunIdentity, runEvents } from './events.ts';
import { exportOnnx } from './export/onnx.ts';
import { compareOutputs, onnxScorer, type Parity } from './export/verify.ts';
import { decideGate, type GateAction, type GateDecision, type ProductionScore } from './gate.ts';
import { type BackendInfo, type BackendPreference, selectBackend } from './models/backend.ts';
import { evaluate, finite } from './models/metrics.ts';
import { type EpochReport, type FitData, TabularNet, type TrialParams } from './models/network.ts';
import { applyNormalization, fitNormalization, fitTarget } from './models/normalization.ts';
import { planTrials, search, type TrialOutcome } from './models/search.ts';
import {
  applyOverrides,
  parseOverrides,
  type ResolvedFeature,
  registeredInputs,
  resolveFeatures,
  type TrainingSpec,
} from './spec.ts';
import type { ExperimentTracker, TrialRecord } from './tracking.ts';
import { codeVersion, nextVersion, versionOfRun } from './version.ts';

export interface RunDeps {
  logger: Logger;
  labels: LabelSource;
  offline: OfflineStore;
  features: FeatureRegistry;
  registry: RegistryWriter;
  /** Where new artifacts are written. */
  artifacts: ArtifactStore;
  /** Reads (and verifies) the production version's artifact, to score it on the test split. */
  resolver: { get(uri: string, expected: { sha256: string; size?: number }): Promise<Uint8Array> };
  tracker: ExperimentTracker;
  events: RunEventSink;
  /** This trainer instance, for STARTED. */
  trainer: string;
  backend: BackendPreference;
}

type ParamValue = number | string | boolean | null;

/** What a run is asked to do: from a RetrainRequest, or made up by `rheo train`. */
export interface RunRequest {
  runId: string;
  requestId: string | null;
  model: string;
  /** Why, in words (the request's reason and evidence summary). */
  reason: string;
  requestedBy: string;
  requestedAt: number;
  baseVersion: string | null;
  windowStart: number | null;
  windowEnd: number | null;
  params: Readonly<Record<string, ParamValue>>;
}

export function runRequestFrom(request: RetrainRequest): RunRequest {
  return {
    runId: `run-${request.event_id}`,
    requestId: request.event_id,
    model: request.model_name,
    reason: `${request.reason}${request.evidence.summary ? `: ${request.evidence.summary}` : ''} (requested by ${request.requested_by})`,
    requestedBy: request.requested_by,
    requestedAt: request.event_time,
    baseVersion: request.base_version,
    windowStart: request.training_window_start,
    windowEnd: request.training_window_end,
    params: request.params,
  };
}

export function manualRunRequest(
  model: string,
  options: {
    requestedBy?: string;
    params?: Record<string, ParamValue>;
    windowStart?: number;
    windowEnd?: number;
    now?: number;
  } = {},
): RunRequest {
  return {
    runId: `run-${randomUUID()}`,
    requestId: null,
    model,
    reason: `MANUAL: rheo train (by ${options.requestedBy ?? 'user:unknown'})`,
    requestedBy: options.requestedBy ?? 'user:unknown',
    requestedAt: options.now ?? Date.now(),
    baseVersion: null,
    windowStart: options.windowStart ?? null,
    windowEnd: options.windowEnd ?? null,
    params: options.params ?? {},
  };
}

export type RunPhase = 'data' | 'train' | 'evaluate' | 'register' | 'done';

export interface RunProgressUpdate {
  phase: RunPhase;
  message: string;
  trial?: number;
  trials?: number;
  epoch?: number;
  epochs?: number;
  metrics?: Record<string, number>;
}

export interface RunResult {
  runId: string;
  model: string;
  /** `resumed`: the request had already registered its version (redelivered); only the decision was finished. */
  status: 'completed' | 'resumed';
  version: string;
  stage: string;
  metrics: Record<string, number>;
  productionMetrics: Record<string, number> | null;
  gate: Pick<GateDecision, 'passed' | 'action' | 'targetStage' | 'reason' | 'canaryPercent'>;
  backend: BackendInfo;
  rows: number;
  /** Rows per split, and the first reference time of the test split (null when resumed). */
  split: { train: number; validation: number; test: number; testFrom: number } | null;
  datasetHash: string;
  bestParams: Record<string, ParamValue>;
  /** Registry events this run produced. */
  events: string[];
  durationMs: number;
}

export interface RunOptions {
  signal?: AbortSignal;
  onProgress?: (update: RunProgressUpdate) => void;
}

/** A stable seed from the run id, used when the request names none. */
export function seedOf(runId: string): number {
  return Number.parseInt(createHash('sha256').update(runId).digest('hex').slice(0, 8), 16);
}

/**
 * One training run, as the sequence of its phases (each below, in order). A phase takes what the
 * earlier ones produced and returns what the later ones need; every phase after STARTED begins by
 * honouring the run's AbortSignal, and the search stops mid-trial on it.
 */
export async function runTraining(
  deps: RunDeps,
  baseSpec: TrainingSpec,
  request: RunRequest,
  options: RunOptions = {},
): Promise<RunResult> {
  const run = openRun(deps, request, options);
  try {
    const plan = await startRun(run, baseSpec);
    const existing = versionOfRun(deps.registry.state.models.get(request.model), request.runId);
    if (existing) return await resume(deps, run.id, existing, plan.backend, run.started, run.log);
    const set = await loadTrainingSet(run, plan);
    const prepared = splitByTime(run, plan, set);
    const searched = await searchTrials(run, plan, set, prepared);
    const evaluation = evaluateOnTest(run, plan, prepared, searched);
    const exported = await exportAndVerify(run, plan, set, prepared, searched, evaluation);
    const judgement = await judgeAgainstProduction(run, plan, set, prepared, evaluation);
    const baseline = buildBaseline(plan, set, prepared, evaluation);
    const candidate: Candidate = { set, prepared, searched, evaluation, exported, judgement, baseline };
    const registered = await registerVersion(run, plan, candidate);
    const decided = await applyGate(run, candidate, registered);
    return await completeRun(run, plan, candidate, registered, decided);
  } catch (caught) {
    throw await failRun(run, caught);
  } finally {
    await run.release();
  }
}

/** What every phase of one run shares: who it is, where it reports, the signal that stops it, and what to release. */
interface RunContext {
  deps: RunDeps;
  request: RunRequest;
  id: RunIdentity;
  log: Logger;
  progress: (update: RunProgressUpdate) => void;
  signal: AbortSignal | undefined;
  started: number;
  /** Registers what a phase allocated (the network, ONNX sessions), released newest first whatever the outcome. */
  onRelease(step: () => Promise<void> | void): void;
  release(): Promise<void>;
}

function openRun(deps: RunDeps, request: RunRequest, options: RunOptions): RunContext {
  const cleanup: Array<() => Promise<void> | void> = [];
  return {
    deps,
    request,
    id: { runId: request.runId, model: request.model, requestId: request.requestId },
    log: deps.logger.child({ run: request.runId, model: request.model }),
    progress: options.onProgress ?? (() => undefined),
    signal: options.signal,
    started: Date.now(),
    onRelease: (step) => void cleanup.push(step),
    async release() {
      for (const step of cleanup.reverse()) await Promise.resolve(step()).catch(() => undefined);
    },
  };
}

/** Stops the run at a phase boundary once its signal is aborted (`failRun` reports it as SHUTTING_DOWN). */
function checkpoint(run: RunContext): void {
  run.signal?.throwIfAborted();
}

/** The spec the request resolves to, and what the run records about how it was made. */
interface RunPlan {
  spec: TrainingSpec;
  seed: number;
  backend: BackendInfo;
  code: string;
}

/** STARTED: resolves the request's overrides, the seed, the backend and the code version, and publishes them. */
async function startRun(run: RunContext, baseSpec: TrainingSpec): Promise<RunPlan> {
  const { deps, request, log } = run;
  const overrides = parseOverrides(request.params);
  const spec = applyOverrides(baseSpec, overrides);
  const seed = overrides.seed ?? seedOf(request.runId);
  const backend = await selectBackend(deps.backend);
  const code = await codeVersion();
  const searching = spec.trials > 1 ? ` + search over ${spec.search.algorithms.join('/')}` : '';
  await deps.events.publish(
    runEvents.started(run.id, {
      trainer: deps.trainer,
      algorithm: `${spec.defaults.algorithm}${searching}`,
      params: {
        ...trialParams({ ...spec.defaults, seed }),
        backend: backend.name,
        reason: request.reason,
        ...(overrides.ignored ? { ignored_params: overrides.ignored.join(',') } : {}),
      },
      seed,
      trials: spec.trials,
      code_version: code,
    }),
  );
  log.info({ backend: backend.name, trials: spec.trials, seed }, 'training run started');
  if (overrides.ignored) log.warn({ ignored: overrides.ignored }, 'request params the trainer does not know were ignored');
  return { spec, seed, backend, code };
}

/** The labeled examples of the window with their point-in-time features, and what production needs of them. */
interface TrainingSet {
  /** The candidate's inputs, in model order. */
  features: ResolvedFeature[];
  modelRefs: string[];
  /** The dataset's columns: the candidate's inputs, then production's others (to score production on the same rows). */
  columns: ResolvedFeature[];
  productionVersion: string | null;
  production: VersionState | undefined;
  productionInputs: ReturnType<typeof productionFeatures> | null;
  window: { start: number; end: number };
  dataset: Dataset;
  hash: string;
}

/** Data: labeled examples of the window, and the feature values as of each example's time. */
async function loadTrainingSet(run: RunContext, plan: RunPlan): Promise<TrainingSet> {
  checkpoint(run);
  const { deps, request } = run;
  const { spec } = plan;
  const features = resolveFeatures(spec, deps.features);
  const modelRefs = features.map((f) => f.ref);
  const model = deps.registry.state.models.get(request.model);
  const productionVersion = model?.traffic.production_version ?? null;
  const production = productionVersion ? model?.versions.get(productionVersion) : undefined;
  const productionInputs = production ? productionFeatures(spec, production, deps.features) : null;
  const columns = [...features, ...(productionInputs?.features ?? []).filter((f) => !modelRefs.includes(f.ref))];
  const end = request.windowEnd ?? request.requestedAt;
  const start = request.windowStart ?? end - spec.lookbackDays * 86_400_000;
  run.progress({ phase: 'data', message: `reading labeled ${spec.labels} of ${request.model} and point-in-time features` });
  const dataset = await buildDataset(
    { labels: deps.labels, offline: deps.offline, registry: deps.features },
    {
      model: request.model,
      kind: spec.labels,
      start,
      end,
      maxRows: spec.maxRows,
      entity: spec.entity,
      ...(spec.entityKeys ? { entityKeys: spec.entityKeys } : {}),
      features: columns,
    },
  );
  return {
    features,
    modelRefs,
    columns,
    productionVersion,
    production,
    productionInputs,
    window: { start, end },
    dataset,
    hash: datasetHash(dataset, modelRefs),
  };
}

/** Split: checks the data, splits it by time, imputes and normalises with training-split statistics. */
function splitByTime(run: RunContext, plan: RunPlan, set: TrainingSet): Prepared {
  checkpoint(run);
  const prepared = prepare(plan.spec, set.dataset, set.modelRefs);
  run.progress({
    phase: 'data',
    message: `${set.dataset.rows} rows (train ${prepared.split.train.length}, validation ${prepared.split.validation.length}, test ${prepared.split.test.length}), dataset ${set.hash.slice(0, 12)}`,
  });
  return prepared;
}

/** The search's winner (its network, still to dispose of), every trial's outcome, and what each tracked trial records. */
interface Searched {
  trials: number;
  best: TrialOutcome;
  net: TabularNet;
  outcomes: TrialOutcome[];
  trialBase: TrialBase;
}

/** Train: the planned trials, each with early stopping, each tracked, PROGRESS per epoch; aborting stops mid-trial. */
async function searchTrials(run: RunContext, plan: RunPlan, set: TrainingSet, prepared: Prepared): Promise<Searched> {
  checkpoint(run);
  const { deps, request, id, progress } = run;
  const { spec, seed } = plan;
  const trials = planTrials({ ...spec.defaults, seed }, spec.search, spec.trials, seed);
  const trialBase: TrialBase = {
    run_id: request.runId,
    model_name: request.model,
    request_id: request.requestId,
    backend: plan.backend.name,
    dataset_hash: set.hash,
    row_count: set.dataset.rows,
    code_version: plan.code,
  };
  await deps.tracker.ensure();
  const width = set.modelRefs.length;
  const { best, net, outcomes } = await search(
    trials,
    (params) => new TabularNet(spec.task, width, params, prepared.normalization, prepared.target),
    prepared.fit,
    {
      onEpoch: async (trial, report) => {
        const metrics = epochMetrics(report);
        await deps.events.publish(runEvents.progress(id, { trial, epoch: report.epoch, epochs: report.epochs, metrics }));
        progress({
          phase: 'train',
          message: `trial ${trial + 1}/${trials.length}`,
          trial,
          trials: trials.length,
          epoch: report.epoch,
          epochs: report.epochs,
          metrics,
        });
      },
      onTrial: async (outcome) => {
        await deps.tracker.record([trialRecord(trialBase, outcome, false, {})]);
        progress({
          phase: 'train',
          message: `trial ${outcome.trial + 1}/${trials.length} done: ${outcome.params.algorithm}, val_loss ${outcome.fit.bestValLoss.toFixed(4)} after ${outcome.fit.epochsRun} epochs`,
          trial: outcome.trial,
          trials: trials.length,
        });
      },
      ...(run.signal ? { signal: run.signal } : {}),
    },
  );
  run.onRelease(() => net.dispose());
  return { trials: trials.length, best, net, outcomes, trialBase };
}

/** The winner's outputs on the test split (and its metrics) and on the training split (for the output's drift baseline). */
interface Evaluation {
  testOut: Float32Array;
  metrics: Record<string, number>;
  trainOut: Float32Array;
}

/** Evaluate: the winner on the held-out (latest) test split. */
function evaluateOnTest(run: RunContext, plan: RunPlan, prepared: Prepared, searched: Searched): Evaluation {
  checkpoint(run);
  run.progress({ phase: 'evaluate', message: 'test split, ONNX export and parity, production on the same rows' });
  const { x, y, rows } = prepared.test;
  const testOut = searched.net.predict(x, rows);
  return {
    testOut,
    metrics: finite(evaluate(plan.spec.task, y, testOut)),
    trainOut: searched.net.predict(prepared.trainRaw, prepared.split.train.length),
  };
}

/** The ONNX artifact for the next version number, its agreement with TensorFlow.js, and how to export it again under another number. */
interface Exported {
  version: string;
  bytes: Uint8Array;
  parity: Parity;
  exportAs(version: string): Uint8Array;
}

/** Export: ONNX for the next version, scored by ONNX Runtime on the test rows, which must match TensorFlow.js within 1e-5. */
async function exportAndVerify(
  run: RunContext,
  plan: RunPlan,
  set: TrainingSet,
  prepared: Prepared,
  searched: Searched,
  evaluation: Evaluation,
): Promise<Exported> {
  checkpoint(run);
  const { deps, request } = run;
  const exportAs = (version: string) =>
    exportOnnx(searched.net, {
      model: request.model,
      version,
      features: set.features.map((f) => f.name),
      outputName: plan.spec.outputName,
      metadata: { rheo_run_id: request.runId, rheo_dataset_sha256: set.hash, rheo_backend: plan.backend.name },
    });
  const version = nextVersion(deps.registry.state.models.get(request.model));
  const bytes = exportAs(version);
  const scorer = await onnxScorer(bytes);
  run.onRelease(() => scorer.close());
  const { x, rows } = prepared.test;
  const parity = compareOutputs(evaluation.testOut, await scorer.score(x, rows, set.modelRefs.length), 1e-5);
  return { version, bytes, parity, exportAs };
}

/** Production's score on the same test rows (or why there is none), and the gate's decision for the candidate. */
interface Judgement {
  productionScore: ProductionScore | null;
  gate: GateDecision;
}

/** Gate: production scored on the very same rows, then the quality gate decides what becomes of the candidate. */
async function judgeAgainstProduction(
  run: RunContext,
  plan: RunPlan,
  set: TrainingSet,
  prepared: Prepared,
  evaluation: Evaluation,
): Promise<Judgement> {
  checkpoint(run);
  const productionScore = set.production
    ? await scoreProduction(run.deps, set.production, set.productionInputs, set.dataset, prepared, plan.spec)
    : null;
  const gate = decideGate(plan.spec.gate, evaluation.metrics, productionScore, prepared.test.rows);
  run.log.info({ metrics: evaluation.metrics, production: productionScore, gate: gate.reason }, 'candidate evaluated');
  return { productionScore, gate };
}

/** Baseline: per-feature bins and the output's, from the training split, for the drift processor. */
function buildBaseline(plan: RunPlan, set: TrainingSet, prepared: Prepared, evaluation: Evaluation) {
  const trainRows = prepared.split.train;
  return computeBaseline(
    set.features.map((f) => ({
      name: f.name,
      type: f.type,
      values: pick(set.dataset.columns[set.columns.indexOf(f)] as Float64Array, trainRows),
    })),
    { name: plan.spec.outputName, values: evaluation.trainOut },
  );
}

/** Everything the run learned about its candidate before registering it. */
interface Candidate {
  set: TrainingSet;
  prepared: Prepared;
  searched: Searched;
  evaluation: Evaluation;
  exported: Exported;
  judgement: Judgement;
  baseline: ReturnType<typeof computeBaseline>;
}

/** The version as registered, with the metrics and parameters it was registered with. */
interface Registered {
  version: string;
  metrics: Record<string, number>;
  bestParams: Record<string, ParamValue>;
}

/**
 * Register: artifact, schema, metrics, params, lineage, baseline and model card as one REGISTERED
 * event. Losing the race for the version number to this very request (a duplicate delivery) adopts
 * that version; losing it to another run exports again under the next number (three attempts).
 */
async function registerVersion(run: RunContext, plan: RunPlan, candidate: Candidate): Promise<Registered> {
  checkpoint(run);
  const { deps, request } = run;
  const { spec, seed, backend, code } = plan;
  const { set, prepared, searched, evaluation, exported, judgement, baseline } = candidate;
  const { features, dataset, hash, window } = set;
  const { best } = searched;
  const { gate, productionScore } = judgement;
  const { metrics } = evaluation;
  const testRows = prepared.test.rows;
  let version = exported.version;
  let bytes = exported.bytes;
  run.progress({
    phase: 'register',
    message: `registering ${request.model}@${version}: ${gate.passed ? 'gate passed' : 'gate failed'} → ${gate.action}`,
  });
  const bestParams: Record<string, ParamValue> = trialParams(best.params);
  const allMetrics: Record<string, number> = {
    ...metrics,
    val_loss: best.fit.bestValLoss,
    train_rows: prepared.split.train.length,
    validation_rows: prepared.split.validation.length,
    test_rows: testRows,
    onnx_max_abs_diff: exported.parity.maxAbsDiff,
    training_seconds: searched.outcomes.reduce((s, o) => s + o.fit.seconds, 0),
  };
  const parentVersion = request.baseVersion ?? set.productionVersion;
  const register = async (v: string, artifact: Uint8Array) =>
    deps.registry.register(deps.artifacts, artifact, {
      model: request.model,
      version: v,
      actor: TRAINER_ACTOR,
      inputs: registeredInputs(features),
      outputs: [{ name: spec.outputName, type: 'DOUBLE' }],
      metrics: finite(allMetrics),
      params: {
        ...bestParams,
        epochs_run: best.fit.epochsRun,
        best_epoch: best.fit.bestEpoch,
        trials: searched.trials,
        backend: backend.name,
        request_id: request.requestId,
        gate_action: gate.action,
        gate_passed: gate.passed,
        canary_percent: gate.canaryPercent,
        ...(spec.decision
          ? {
              decision_threshold: spec.decision.threshold,
              positive_label: spec.decision.positiveLabel,
              negative_label: spec.decision.negativeLabel,
            }
          : {}),
      },
      lineage: {
        run_id: request.runId,
        training_set_query: dataset.query,
        training_set_hash: hash,
        row_count: dataset.rows,
        data_start: dataset.rows > 0 ? (dataset.times[0] as number) : null,
        data_end: dataset.rows > 0 ? (dataset.times[dataset.rows - 1] as number) : null,
        parent_version: parentVersion,
        code_version: code,
        seed,
      },
      baseline,
      modelCard: modelCard({
        spec,
        version: v,
        features,
        missingRates: prepared.missing,
        window,
        rows: {
          total: dataset.rows,
          train: prepared.split.train.length,
          validation: prepared.split.validation.length,
          test: testRows,
        },
        splitTimes: { validationFrom: prepared.split.validationFrom, testFrom: prepared.split.testFrom },
        ...(spec.task === 'binary' ? { positiveRate: positiveRate(dataset.labels) } : {}),
        datasetHash: hash,
        params: best.params,
        trials: searched.trials,
        epochs: { run: best.fit.epochsRun, best: best.fit.bestEpoch, stoppedEarly: best.fit.stoppedEarly },
        backend: backend.name,
        metrics,
        production: productionScore,
        gate,
        parity: exported.parity,
        lineage: {
          runId: request.runId,
          requestId: request.requestId,
          reason: request.reason,
          parentVersion,
          codeVersion: code,
          seed,
        },
      }),
      reason: `${request.reason}. ${gate.reason}`,
    });
  let registered = false;
  for (let attempt = 1; !registered; attempt++) {
    try {
      await register(version, bytes);
      registered = true;
    } catch (error) {
      // Lost a race for the version number: to ourselves (a duplicate delivery of this request) or to another run.
      if (!(error instanceof RheoError) || error.code !== 'ILLEGAL_TRANSITION' || attempt >= 3) throw error;
      const mine = versionOfRun(deps.registry.state.models.get(request.model), request.runId);
      if (mine) {
        version = mine.version;
        registered = true;
      } else {
        version = nextVersion(deps.registry.state.models.get(request.model));
        bytes = exported.exportAs(version);
      }
    }
  }
  return { version, metrics: allMetrics, bestParams };
}

/** The registry events the decision produced (REGISTERED first) and the stage the version ended in. */
interface Decided {
  events: string[];
  stage: string;
}

/**
 * Decide: carries out the gate's action (stage, canary or promotion, with the evidence) and records
 * the winning trial as selected. A redelivered request that registered already finishes here (resume).
 */
async function applyGate(run: RunContext, candidate: Candidate, registered: Registered): Promise<Decided> {
  checkpoint(run);
  const { deps, request } = run;
  const { gate } = candidate.judgement;
  const { best, outcomes, trialBase } = candidate.searched;
  const events = ['REGISTERED', ...(await applyDecision(deps.registry, request.model, registered.version, gate))];
  const winner = outcomes.find((o) => o.trial === best.trial) as TrialOutcome;
  await deps.tracker.record([trialRecord(trialBase, winner, true, candidate.evaluation.metrics)]);
  const stage = deps.registry.state.models.get(request.model)?.versions.get(registered.version)?.stage ?? gate.targetStage;
  return { events, stage };
}

/** COMPLETED: published with the version and its evidence, and the run's result. */
async function completeRun(
  run: RunContext,
  plan: RunPlan,
  candidate: Candidate,
  registered: Registered,
  decided: Decided,
): Promise<RunResult> {
  const { deps, request } = run;
  const { set, prepared, judgement } = candidate;
  const { gate } = judgement;
  const { version, metrics, bestParams } = registered;
  const durationMs = Date.now() - run.started;
  await deps.events.publish(
    runEvents.completed(run.id, {
      model_version: version,
      metrics: finite(metrics),
      best_params: bestParams,
      dataset_hash: set.hash,
      row_count: set.dataset.rows,
      gate_passed: gate.passed,
      gate_reason: gate.reason,
      target_stage: gate.targetStage,
      duration_ms: durationMs,
    }),
  );
  run.progress({
    phase: 'done',
    message: `${request.model}@${version} registered (${decided.stage}) in ${(durationMs / 1000).toFixed(1)} s`,
  });
  run.log.info({ version, stage: decided.stage, gate: gate.action, durationMs }, 'training run completed');
  return {
    runId: request.runId,
    model: request.model,
    status: 'completed',
    version,
    stage: decided.stage,
    metrics,
    productionMetrics: judgement.productionScore?.metrics ?? null,
    gate,
    backend: plan.backend,
    rows: set.dataset.rows,
    split: {
      train: prepared.split.train.length,
      validation: prepared.split.validation.length,
      test: prepared.test.rows,
      testFrom: prepared.split.testFrom,
    },
    datasetHash: set.hash,
    bestParams,
    events: decided.events,
    durationMs,
  };
}

/** FAILED: published with the error's code and whether a retry may help; an abort is reported as SHUTTING_DOWN. Returns what to throw. */
async function failRun(run: RunContext, caught: unknown): Promise<unknown> {
  const error =
    run.signal?.aborted && !(caught instanceof RheoError)
      ? new RheoError('SHUTTING_DOWN', `run interrupted: ${errorMessage(run.signal.reason ?? caught)}`, { cause: caught })
      : caught;
  const code = error instanceof RheoError ? error.code : null;
  const retriable = error instanceof RheoError ? error.retriable : false;
  run.log.warn({ err: errorMessage(error), code, retriable }, 'training run failed');
  await run.deps.events.publish(
    runEvents.failed(run.id, { error: errorMessage(error), code, retriable, duration_ms: Date.now() - run.started }),
  );
  return error;
}

/** The request's version exists already: finish its decision (idempotent) and report it. */
async function resume(
  deps: RunDeps,
  id: RunIdentity,
  existing: VersionState,
  backend: BackendInfo,
  started: number,
  log: Logger,
): Promise<RunResult> {
  const params = existing.spec.params;
  const action = (typeof params.gate_action === 'string' ? params.gate_action : 'register') as GateAction;
  const canaryPercent = typeof params.canary_percent === 'number' ? params.canary_percent : null;
  const reason = `resumed run ${id.runId}: ${existing.version} was registered by an earlier attempt of the same request`;
  const produced = await applyDecision(deps.registry, id.model, existing.version, { action, canaryPercent, checks: [], reason });
  const stage = deps.registry.state.models.get(id.model)?.versions.get(existing.version)?.stage ?? existing.stage;
  const durationMs = Date.now() - started;
  const passed = params.gate_passed === true;
  await deps.events.publish(
    runEvents.completed(id, {
      model_version: existing.version,
      metrics: existing.spec.metrics,
      best_params: params,
      dataset_hash: existing.spec.lineage.training_set_hash,
      row_count: existing.spec.lineage.row_count,
      gate_passed: passed,
      gate_reason: `${reason}; decision ${action}`,
      target_stage: stage,
      duration_ms: durationMs,
    }),
  );
  log.info({ version: existing.version, stage, produced }, 'training run resumed: version already registered');
  return {
    runId: id.runId,
    model: id.model,
    status: 'resumed',
    version: existing.version,
    stage,
    metrics: existing.spec.metrics,
    productionMetrics: null,
    gate: { passed, action, targetStage: stage === 'ARCHIVED' ? 'DEVELOPMENT' : stage, reason, canaryPercent },
    backend,
    rows: existing.spec.lineage.row_count,
    split: null,
    datasetHash: existing.spec.lineage.training_set_hash,
    bestParams: params,
    events: produced,
    durationMs,
  };
}

interface Prepared {
  split: ReturnType<typeof timeSplit>;
  missing: Record<string, number>;
  fill: number[];
  normalization: ReturnType<typeof fitNormalization>;
  target: { mean: number; scale: number } | undefined;
  trainRaw: Float32Array;
  fit: FitData;
  test: { x: Float32Array; y: Float32Array; rows: number };
}

/** Checks the data, splits it by time, imputes and normalises with training-split statistics. */
export function prepare(spec: TrainingSpec, dataset: Dataset, refs: readonly string[]): Prepared {
  const insufficient = (message: string, details: Record<string, unknown> = {}) =>
    new RheoError('TRAINING_DATA_INSUFFICIENT', `${spec.model}: ${message}`, { details });
  if (dataset.rows < spec.minRows)
    throw insufficient(`${dataset.rows} labeled rows in the window; at least ${spec.minRows} are needed`, { rows: dataset.rows });
  if (spec.task === 'binary') {
    const bad = dataset.labels.findIndex((y) => y !== 0 && y !== 1);
    if (bad >= 0)
      throw insufficient(`labels of a binary model must be 0 or 1; row ${dataset.ids[bad]} has ${dataset.labels[bad]}`);
  }
  const split = timeSplit(dataset.times, spec.split);
  if (spec.task === 'binary') {
    for (const name of ['train', 'validation', 'test'] as const) {
      const labels = labelsOf(dataset, split[name]);
      const positives = labels.reduce((a, b) => a + b, 0);
      if (positives === 0 || positives === labels.length)
        throw insufficient(`the ${name} split (${labels.length} rows) has only one class`, { split: name });
    }
  }
  const missing = missingRates(dataset, refs);
  const over = Object.entries(missing).filter(([, rate]) => rate > spec.maxMissingRate);
  if (over.length > 0)
    throw insufficient(
      `features missing in more than ${spec.maxMissingRate * 100}% of rows: ${over.map(([ref, r]) => `${ref} ${(r * 100).toFixed(1)}%`).join(', ')}`,
      { missing },
    );
  const fill = columnMeans(dataset, refs, split.train);
  const width = refs.length;
  const trainRaw = matrix(dataset, refs, split.train, fill);
  const normalization = fitNormalization(trainRaw, split.train.length, width);
  const yTrain = labelsOf(dataset, split.train);
  const target = spec.task === 'regression' ? fitTarget(yTrain, split.train.length) : undefined;
  return {
    split,
    missing,
    fill,
    normalization,
    target,
    trainRaw,
    fit: {
      x: applyNormalization(trainRaw, width, normalization),
      y: target ? yTrain.map((v) => (v - target.mean) / target.scale) : yTrain,
      rows: split.train.length,
      xVal: applyNormalization(matrix(dataset, refs, split.validation, fill), width, normalization),
      yVal: labelsOf(dataset, split.validation),
      valRows: split.validation.length,
    },
    test: { x: matrix(dataset, refs, split.test, fill), y: labelsOf(dataset, split.test), rows: split.test.length },
  };
}

/** The production version's inputs as dataset columns; null (with why) when the spec cannot supply them. */
function productionFeatures(
  spec: TrainingSpec,
  production: VersionState,
  registry: FeatureRegistry,
): { features: ResolvedFeature[]; refs: string[] } | { features: ResolvedFeature[]; refs: null; unavailable: string } {
  const refs = production.spec.inputs.map((i) => (i.feature_group ? `${i.feature_group}:${i.name}` : i.name));
  try {
    return { features: resolveFeatures({ ...spec, features: refs }, registry), refs };
  } catch (error) {
    return { features: [], refs: null, unavailable: errorMessage(error) };
  }
}

async function scoreProduction(
  deps: RunDeps,
  production: VersionState,
  inputs: ReturnType<typeof productionFeatures> | null,
  dataset: Dataset,
  prepared: Prepared,
  spec: TrainingSpec,
): Promise<ProductionScore> {
  const base = { version: production.version, rows: prepared.test.rows };
  if (!inputs || inputs.refs === null)
    return { ...base, unavailable: inputs && 'unavailable' in inputs ? inputs.unavailable : 'its inputs are unknown' };
  try {
    const spec0: ModelVersionRegistered = production.spec;
    const bytes = await deps.resolver.get(spec0.artifact_uri, { sha256: spec0.sha256, size: spec0.size_bytes });
    const scorer = await onnxScorer(bytes);
    try {
      // The same test rows, missing values imputed the same way (training-split means).
      const fill = columnMeans(dataset, inputs.refs, prepared.split.train);
      const x = matrix(dataset, inputs.refs, prepared.split.test, fill);
      const out = await scorer.score(x, prepared.test.rows, inputs.refs.length);
      return { ...base, metrics: finite(evaluate(spec.task, prepared.test.y, out)) };
    } finally {
      await scorer.close();
    }
  } catch (error) {
    return { ...base, unavailable: errorMessage(error) };
  }
}

function pick(column: Float64Array, rows: Int32Array): Float64Array {
  return Float64Array.from(rows, (r) => column[r] as number);
}

function positiveRate(labels: Float32Array): number {
  return labels.reduce((a, b) => a + b, 0) / Math.max(1, labels.length);
}

function epochMetrics(report: EpochReport): Record<string, number> {
  return finite({ loss: report.loss, val_loss: report.val_loss, ...report.metrics, seconds: report.seconds });
}

/** Hyperparameters as a flat record (Avro map values: number, string, boolean or null). */
export function trialParams(p: TrialParams): Record<string, ParamValue> {
  return {
    algorithm: p.algorithm,
    hidden_units: p.algorithm === 'mlp' ? p.hidden.join(',') : '',
    activation: p.algorithm === 'mlp' ? p.activation : 'none',
    learning_rate: p.learningRate,
    batch_size: p.batchSize,
    l2: p.l2,
    max_epochs: p.maxEpochs,
    patience: p.patience,
    seed: p.seed,
  };
}

/** What every trial record of one run shares. */
type TrialBase = Pick<
  TrialRecord,
  'run_id' | 'model_name' | 'request_id' | 'backend' | 'dataset_hash' | 'row_count' | 'code_version'
>;

function trialRecord(
  base: TrialBase,
  outcome: TrialOutcome,
  selected: boolean,
  testMetrics: Record<string, number>,
): TrialRecord {
  const last = outcome.fit.history.at(-1);
  return {
    ...base,
    trial: outcome.trial,
    finished_ms: Date.now(),
    algorithm: outcome.params.algorithm,
    params: trialParams(outcome.params),
    seed: outcome.params.seed,
    epochs_run: outcome.fit.epochsRun,
    best_epoch: outcome.fit.bestEpoch,
    stopped_early: outcome.fit.stoppedEarly,
    train_loss: outcome.fit.history[outcome.fit.bestEpoch - 1]?.loss ?? last?.loss ?? Number.NaN,
    val_loss: outcome.fit.bestValLoss,
    val_auc: outcome.validation.val_auc ?? null,
    val_rmse: outcome.validation.val_rmse ?? null,
    test_metrics: testMetrics,
    history: outcome.fit.history.map((h) => finite({ epoch: h.epoch, loss: h.loss, val_loss: h.val_loss, ...h.metrics })),
    duration_ms: outcome.fit.seconds * 1000,
    selected,
  };
}
