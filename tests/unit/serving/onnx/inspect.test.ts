/**
 * The registration check (serving/onnx/inspect.ts) on graphs built at run time: a scikit-learn-shaped
 * classifier (`label` int64 [N], `probabilities` float [N, 2]), one-column, three-column, double,
 * multi-input graphs; and `storeAndRegister`, which refuses a misfit before storing or registering.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { RheoError } from '../../../../kernel/errors.ts';
import { MemoryRegistry } from '../../../../registry/memory.ts';
import type { ModelOutput, ValueType } from '../../../../schemas/index.ts';
import { FileArtifactStore } from '../../../../serving/artifacts/fs.ts';
import { type Dim, type OnnxElementType, OnnxGraph } from '../../../../serving/onnx/builder.ts';
import { checkRegistration, type DeclaredInterface, inspectOnnx } from '../../../../serving/onnx/inspect.ts';
import { sklearnLikeModelBytes } from '../../../support/models.ts';

const FEATURES = ['amount', 'hour', 'distance', 'velocity'];
const inputs = FEATURES.map((name) => ({ name, type: 'DOUBLE' as ValueType }));

const sklearnLike = (): Uint8Array => sklearnLikeModelBytes();

/** One input [batch, features] of `inputType`, one output of `width` columns. */
function oneOutput(
  options: { name?: string; width?: number; features?: number; inputType?: OnnxElementType; shape?: Dim[] } = {},
): Uint8Array {
  const features = options.features ?? 4;
  const width = options.width ?? 1;
  const type = options.inputType ?? 'float32';
  const g = new OnnxGraph('one');
  const x = g.input('features', ['batch', features], type);
  const y = g.gemm(x, g.constant('w', new Array(features * width).fill(0.5), [features, width], type));
  g.output(y, options.name ?? 'probability', options.shape ?? ['batch', width], type);
  return g.toModel();
}

function declared(outputs: Array<[string, ValueType]>, inputList = inputs): DeclaredInterface {
  return { inputs: inputList, outputs: outputs.map(([name, type]): ModelOutput => ({ name, type })) };
}

async function refusal(promise: Promise<unknown>): Promise<RheoError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(RheoError);
  expect((error as RheoError).code).toBe('MODEL_INVALID');
  return error as RheoError;
}

describe('inspectOnnx', () => {
  it('reads names, element types and shapes from the graph', async () => {
    expect(await inspectOnnx(sklearnLike())).toEqual({
      inputs: [{ name: 'float_input', elementType: 'float', shape: ['N', 4] }],
      outputs: [
        { name: 'label', elementType: 'int64', shape: ['N'] },
        { name: 'probabilities', elementType: 'float', shape: ['N', 2] },
      ],
    });
  });

  it('refuses bytes onnxruntime cannot load', async () => {
    const error = await refusal(inspectOnnx(new TextEncoder().encode('not an onnx model')));
    expect(error.message).toMatch(/cannot load the artifact/);
  });
});

describe('checkRegistration', () => {
  it('refuses an output name the graph does not have, naming the outputs it has', async () => {
    const error = await refusal(checkRegistration(sklearnLike(), declared([['probability', 'DOUBLE']])));
    expect(error.message).toBe(
      'declared output "probability" is not an output of the graph; its outputs are "label" tensor(int64) [N], "probabilities" tensor(float) [N, 2]',
    );
    expect(error.details?.graph_outputs).toEqual(['"label" tensor(int64) [N]', '"probabilities" tensor(float) [N, 2]']);
  });

  it('scores a two-column probability output from column 1, and says so', async () => {
    const scoring = await checkRegistration(sklearnLike(), declared([['probabilities', 'DOUBLE']]));
    expect(scoring).toEqual({
      output: 'probabilities',
      column: 1,
      shape: ['N', 2],
      elementType: 'tensor(float)',
      description: 'scoring from output "probabilities" column 1 of [N, 2] (tensor(float))',
    });
  });

  it('refuses an incompatible element type, and integer outputs the host cannot return', async () => {
    const wrongType = await refusal(checkRegistration(sklearnLike(), declared([['label', 'DOUBLE']])));
    expect(wrongType.message).toBe('declared output "label" is DOUBLE but the graph gives "label" tensor(int64) [N]');
    const integer = await refusal(
      checkRegistration(
        sklearnLike(),
        declared([
          ['probabilities', 'DOUBLE'],
          ['label', 'LONG'],
        ]),
      ),
    );
    expect(integer.message).toMatch(/^output "label" tensor\(int64\) \[N\] is not a float tensor; Rheo scores/);
    await refusal(checkRegistration(sklearnLike(), declared([['probabilities', 'BOOLEAN']])));
  });

  it('scores a one-column output from its only value, under any name', async () => {
    const scoring = await checkRegistration(oneOutput({ name: 'score' }), declared([['score', 'DOUBLE']]));
    expect(scoring.column).toBe(0);
    expect(scoring.description).toBe('scoring from output "score" [N, 1] (tensor(float))');
    const double = await checkRegistration(
      oneOutput({ name: 'y', inputType: 'float64', shape: ['batch', 1] }),
      declared([['y', 'DOUBLE']]),
    ).catch((e: unknown) => e);
    // A double input is refused (the host feeds float32), naming the input.
    expect((double as RheoError).message).toBe(
      'input "features" tensor(double) [N, 4] must be tensor(float) [N, 4] (the declared inputs in order)',
    );
  });

  it('has no single score for a three-column output, and says which columns are returned', async () => {
    const scoring = await checkRegistration(oneOutput({ name: 'classes', width: 3 }), declared([['classes', 'DOUBLE']]));
    expect(scoring.column).toBeNull();
    expect(scoring.description).toBe(
      'no single score: output "classes" is [N, 3] (tensor(float)); its columns are returned as classes_0 … classes_2',
    );
  });

  it('refuses a feature count that differs from the declared inputs', async () => {
    const error = await refusal(checkRegistration(oneOutput({ features: 5 }), declared([['probability', 'DOUBLE']])));
    expect(error.message).toBe(
      'input "features" tensor(float) [N, 5] takes 5 features but 4 inputs are declared (amount, hour, distance, velocity)',
    );
  });

  it('refuses a graph with one input per feature, naming the declared inputs it lacks', async () => {
    const g = new OnnxGraph('split');
    const a = g.input('amount', ['N', 1]);
    const b = g.input('hour', ['N', 1]);
    g.output(g.add(a, b), 'probability', ['N', 1]);
    const error = await refusal(checkRegistration(g.toModel(), declared([['probability', 'DOUBLE']])));
    expect(error.message).toBe(
      'declared inputs distance, velocity are not inputs of the graph, whose inputs are "amount" tensor(float) [N, 1], "hour" tensor(float) [N, 1]',
    );
  });
});

describe('storeAndRegister', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rheo-inspect-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('refuses a misfit before storing or registering anything, and returns the scoring output otherwise', async () => {
    const store = new FileArtifactStore(dir);
    const registry = new MemoryRegistry();
    const request = { model: 'sk', version: '1.0.0', actor: 'user:a', inputs };
    const error = await refusal(
      registry.register(store, sklearnLike(), { ...request, outputs: [{ name: 'probability', type: 'DOUBLE' }] }),
    );
    expect(error.message).toMatch(
      /^sk@1\.0\.0: declared output "probability" is not an output of the graph; .*"label".*"probabilities"/,
    );
    expect(registry.state.models.size).toBe(0);
    expect(readdirSync(dir)).toEqual([]);

    const result = await registry.register(store, sklearnLike(), {
      ...request,
      outputs: [{ name: 'probabilities', type: 'DOUBLE' }],
    });
    expect(result.scoring.description).toBe('scoring from output "probabilities" column 1 of [N, 2] (tensor(float))');
    expect(result.events.map((e) => e.event_type)).toEqual(['REGISTERED']);
  });
});
