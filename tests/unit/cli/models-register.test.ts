/**
 * `rheo models register` against a project's declared model: the inputs a Rheo-trained version of the
 * model registers with, the graph output its task scores from, the binary decision rule, what the
 * flags still decide, and the refusals (an undeclared model, no output that fits, no project).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { CliError } from '../../../cli/command.ts';
import { declaredInputs, modelsCommand, outputsForTask, registrationFromProject } from '../../../cli/commands/models.ts';
import { fraud, fraudProject } from '../../../examples/fraud/index.ts';
import { RheoError } from '../../../kernel/errors.ts';
import { projectContext } from '../../../projects/context.ts';
import { checkProject, type ModelDecl, type ProjectDecl, type TaskDecl } from '../../../projects/declaration.ts';
import { type GraphInterface, type GraphValue, inspectOnnx, resolveInterface } from '../../../serving/onnx/inspect.ts';
import { registeredInputs, resolveFeatures, type TrainingSpec } from '../../../trainers/spec.ts';
import { fraudModelBytes, sklearnLikeModelBytes } from '../../support/models.ts';

const dir = mkdtempSync(join(tmpdir(), 'rheo-models-register-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const BINARY: TaskDecl = { type: 'binary', positiveLabel: 'fraud', negativeLabel: 'legit' };
const REGRESSION: TaskDecl = { type: 'regression' };
const THREE_CLASSES: TaskDecl = { type: 'multiclass', classes: ['legit', 'stolen_card', 'account_takeover'] };

const FEATURES = { name: 'features', elementType: 'float', shape: ['', 7] } satisfies GraphValue;
const graph = (...outputs: GraphValue[]): GraphInterface => ({ inputs: [FEATURES], outputs });
const tensor = (name: string, shape: Array<number | string>, elementType = 'float'): GraphValue => ({ name, elementType, shape });
/** skl2onnx's classifier with zipmap off: `label` int64 [N], `probabilities` float [N, k]. */
const sklearnClassifier = (k: number) => graph(tensor('label', [''], 'int64'), tensor('probabilities', ['', k]));

const fraudModel = fraudProject.models[0] as ModelDecl;
/** The fraud project with a multiclass model and a regression one over the same inputs. */
const wider: ProjectDecl = checkProject({
  ...fraudProject,
  models: [
    ...fraudProject.models,
    {
      ...fraudModel,
      name: 'fraud_kind',
      task: THREE_CLASSES,
      gate: { ...fraudModel.gate, metric: 'accuracy', minimum: 0.5 },
      rollout: { ...fraudModel.rollout, promote: { ...fraudModel.rollout.promote, metric: 'accuracy' } },
    },
    {
      ...fraudModel,
      name: 'fraud_loss',
      task: REGRESSION,
      gate: { ...fraudModel.gate, metric: 'rmse', minimum: undefined },
      rollout: { ...fraudModel.rollout, promote: { ...fraudModel.rollout.promote, metric: 'rmse' } },
    },
  ],
});
const widerContext = projectContext({ dir, file: join(dir, 'rheo.project.ts'), project: wider });

describe('declared inputs', () => {
  it("are the fraud model's seven inputs in declared order, typed by their feature declarations, with their groups", () => {
    expect(declaredInputs(fraud, 'fraud_detector')).toEqual([
      { name: 'amount', type: 'DOUBLE', feature_group: null },
      { name: 'hour_of_day', type: 'LONG', feature_group: null },
      { name: 'distance_from_home_km', type: 'DOUBLE', feature_group: null },
      { name: 'txn_count_1h', type: 'LONG', feature_group: 'card_activity' },
      { name: 'txn_count_24h', type: 'LONG', feature_group: 'card_activity' },
      { name: 'amount_avg_7d', type: 'DOUBLE', feature_group: 'card_activity' },
      { name: 'chargeback_rate_30d', type: 'DOUBLE', feature_group: 'merchant_risk' },
    ]);
  });

  it('are what a Rheo-trained version registers (the trainer resolves its spec the same way)', () => {
    const spec = fraud.trainingSpecs.fraud_detector as TrainingSpec;
    expect(declaredInputs(fraud, 'fraud_detector')).toEqual(registeredInputs(resolveFeatures(spec, fraud.features)));
  });

  it('resolve for a multiclass model too, which has no training spec', () => {
    expect(widerContext.trainingSpecs.fraud_kind).toBeUndefined();
    expect(declaredInputs(widerContext, 'fraud_kind')).toEqual(declaredInputs(fraud, 'fraud_detector'));
  });

  it('refuse a model the project does not declare, listing the ones it does', () => {
    expect(() => declaredInputs(widerContext, 'fraud_detektor')).toThrow(CliError);
    expect(() => declaredInputs(widerContext, 'fraud_detektor')).toThrow(
      /project fraud .* declares no model "fraud_detektor"; it declares fraud_detector, fraud_kind, fraud_loss/,
    );
  });
});

describe('the output a declared task scores from', () => {
  it("binary: skl2onnx's probabilities [N, 2] (not the int64 label), scored from column 1", () => {
    const g = sklearnClassifier(2);
    const outputs = outputsForTask(BINARY, g);
    expect(outputs).toEqual([{ name: 'probabilities', type: 'DOUBLE' }]);
    expect(resolveInterface(g, { inputs: declaredInputs(fraud, 'fraud_detector'), outputs })).toMatchObject({
      output: 'probabilities',
      column: 1,
    });
  });

  it("binary: a Rheo-trained graph's probability [N, 1], or a lone [N] score", () => {
    expect(outputsForTask(BINARY, graph(tensor('probability', ['batch', 1])))).toEqual([{ name: 'probability', type: 'DOUBLE' }]);
    expect(outputsForTask(BINARY, graph(tensor('score', ['N'], 'double')))).toEqual([{ name: 'score', type: 'DOUBLE' }]);
  });

  it('binary: two columns win over one, and a probability by its name over another output of the same width', () => {
    expect(outputsForTask(BINARY, graph(tensor('logit', ['', 1]), tensor('proba', ['', 2])))[0]?.name).toBe('proba');
    expect(outputsForTask(BINARY, graph(tensor('logits', ['', 2]), tensor('probabilities', ['', 2])))[0]?.name).toBe(
      'probabilities',
    );
    expect(outputsForTask(BINARY, graph(tensor('margin', ['', 1]), tensor('probability', ['', 1])))[0]?.name).toBe('probability');
  });

  it('multiclass: the [N, k] probabilities of the k declared classes', () => {
    expect(outputsForTask(THREE_CLASSES, sklearnClassifier(3))).toEqual([{ name: 'probabilities', type: 'DOUBLE' }]);
  });

  it("regression: skl2onnx's variable [N, 1]", () => {
    expect(outputsForTask(REGRESSION, graph(tensor('variable', ['', 1])))).toEqual([{ name: 'variable', type: 'DOUBLE' }]);
  });

  it("refuse, listing the graph's outputs, when none fits the task", () => {
    const refusal = (task: TaskDecl, g: GraphInterface) => {
      try {
        outputsForTask(task, g);
      } catch (error) {
        return error as RheoError;
      }
      throw new Error('expected a refusal');
    };
    const zipmap = graph(tensor('output_label', [''], 'int64'), { name: 'output_probability', elementType: null, shape: [] });
    const binary = refusal(BINARY, zipmap);
    expect(binary).toBeInstanceOf(RheoError);
    expect(binary.code).toBe('MODEL_INVALID');
    expect(binary.message).toBe(
      "no output of the graph fits a binary model (a float tensor [N, 2] of the two classes' probabilities, or [N] / [N, 1] of the positive class's); " +
        'its outputs are "output_label" tensor(int64) [N], "output_probability" (not a tensor); name the output to score from with --outputs NAME:DOUBLE',
    );
    expect(binary.details?.graph_outputs).toEqual(['"output_label" tensor(int64) [N]', '"output_probability" (not a tensor)']);
    expect(refusal(THREE_CLASSES, sklearnClassifier(2)).message).toMatch(
      /^no output of the graph fits a multiclass model \(a float tensor \[N, 3\] .*\); its outputs are "label" tensor\(int64\) \[N\], "probabilities" tensor\(float\) \[N, 2\]; name the output/,
    );
    expect(refusal(REGRESSION, sklearnClassifier(2)).message).toMatch(/^no output of the graph fits a regression model/);
    expect(refusal(REGRESSION, graph(tensor('variable', ['', 'k']))).message).toContain('"variable" tensor(float) [N, k]');
  });

  it('refuse when several outputs fit equally well, naming them', () => {
    expect(() => outputsForTask(REGRESSION, graph(tensor('mean', ['', 1]), tensor('median', ['', 1])))).toThrow(
      'more than one output of the graph fits a regression model equally well ("mean" tensor(float) [N, 1], "median" tensor(float) [N, 1]); name the output to score from with --outputs NAME:DOUBLE',
    );
  });

  it('reads the graphs onnxruntime loads: a skl2onnx-shaped classifier and a Rheo-shaped one', async () => {
    expect(outputsForTask(BINARY, await inspectOnnx(sklearnLikeModelBytes()))).toEqual([
      { name: 'probabilities', type: 'DOUBLE' },
    ]);
    expect(outputsForTask(BINARY, await inspectOnnx(fraudModelBytes()))).toEqual([{ name: 'probability', type: 'DOUBLE' }]);
  });
});

describe('a registration against the project', () => {
  it("takes the declared inputs, the task's output and the binary decision rule, and says so", () => {
    expect(registrationFromProject(fraud, 'fraud_detector', {}, sklearnClassifier(2))).toEqual({
      inputs: declaredInputs(fraud, 'fraud_detector'),
      outputs: [{ name: 'probabilities', type: 'DOUBLE' }],
      params: { decision_threshold: 0.5, positive_label: 'fraud', negative_label: 'legit' },
      from: { project: 'fraud', model: 'fraud_detector', task: 'binary', inputs: true, outputs: true, params: true },
    });
  });

  it('keeps what the flags give: they win, and no graph is needed for outputs given', () => {
    const inputs = [{ name: 'amount', type: 'DOUBLE' as const, feature_group: null }];
    const outputs = [{ name: 'probabilities', type: 'DOUBLE' as const }];
    expect(registrationFromProject(fraud, 'fraud_detector', { inputs, outputs }, undefined)).toMatchObject({
      inputs,
      outputs,
      from: { inputs: false, outputs: false },
    });
    expect(registrationFromProject(fraud, 'fraud_detector', { outputs }, undefined).inputs).toHaveLength(7);
  });

  it("a regression model gets no decision rule; a multiclass one its classes' output", () => {
    const loss = registrationFromProject(widerContext, 'fraud_loss', {}, graph(tensor('variable', ['', 1])));
    expect(loss).toMatchObject({ outputs: [{ name: 'variable' }], params: {}, from: { task: 'regression', params: false } });
    const kind = registrationFromProject(widerContext, 'fraud_kind', {}, sklearnClassifier(3));
    expect(kind).toMatchObject({ outputs: [{ name: 'probabilities' }], params: {}, from: { task: 'multiclass' } });
  });

  it('refuses a model the project does not declare', () => {
    expect(() => registrationFromProject(fraud, 'churn', {}, sklearnClassifier(2))).toThrow(
      /declares no model "churn"; it declares fraud_detector\.\nRegister under a declared name, declare the model in the project, or give --inputs and --outputs without --project\./,
    );
  });
});

describe('rheo models register without a project', () => {
  const saved = process.env.RHEO_PROJECT;
  afterEach(() => {
    if (saved === undefined) delete process.env.RHEO_PROJECT;
    else process.env.RHEO_PROJECT = saved;
  });

  it('says both ways when --inputs is left out and no project is found (before reading the registry)', async () => {
    const empty = mkdtempSync(join(dir, 'empty-'));
    process.env.RHEO_PROJECT = empty;
    const artifact = join(dir, 'model.onnx');
    writeFileSync(artifact, sklearnLikeModelBytes());
    const io = { out: () => undefined, err: () => undefined };
    const run = (...more: string[]) =>
      modelsCommand.run(['register', 'm', '--version', '1.0.0', '--artifact', artifact, ...more], io);
    const refused = await run().catch((error: unknown) => error as CliError);
    expect(refused).toBeInstanceOf(CliError);
    expect((refused as CliError).message).toBe(
      `--inputs and --outputs not given, and there is no project to take them from (no Rheo project in ${empty}: rheo.project.ts not found (run \`rheo init ${empty}\`, or pass --project DIR / set RHEO_PROJECT)).\n` +
        'Give --inputs name:TYPE[@group],… and --outputs name:TYPE,…, or --project DIR whose rheo.project.ts declares m.',
    );
    await expect(run('--outputs', 'probabilities:DOUBLE')).rejects.toThrow(/^--inputs not given, and there is no project/);
    await expect(run('--project', empty)).rejects.toThrow(/^no Rheo project in /);
  });
});
