/**
 * `layersModelToOnnx` (trainers/export/layers-model.ts): a TensorFlow.js model the user trained
 * themselves, exported to ONNX, run by onnxruntime-node and compared with `model.predict` within 1e-5;
 * accepted by the registration check; and refused, naming the layer and its class, when it is not a
 * sequential stack of Dense layers.
 */
import * as tf from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { RheoError } from '../../../../kernel/errors.ts';
import { rng } from '../../../../kernel/random.ts';
import { checkRegistration } from '../../../../serving/onnx/inspect.ts';
import { readFields } from '../../../../serving/onnx/protobuf.ts';
import { type LayersModelLike, layersModelToOnnx } from '../../../../trainers/export/layers-model.ts';
import { selectBackend } from '../../../../trainers/models/backend.ts';

const F = 7;
const FEATURES = ['amount', 'hour', 'distance', 'merchant_risk', 'txn_1h', 'txn_24h', 'account_age'];

/** Raw, badly scaled rows with a logistic signal (binary) or a linear one (regression). */
function data(rows: number, seed: number) {
  const random = rng(seed);
  const x = new Float32Array(rows * F);
  const binary = new Float32Array(rows);
  const target = new Float32Array(rows);
  for (let r = 0; r < rows; r++) {
    const v = [random() * 1000, random() * 24, random() * 80, random(), random() * 10, random() * 50, random() * 3000];
    x.set(v, r * F);
    const z = 0.004 * (v[0] as number) - 2 + ((v[1] as number) < 6 ? 1.5 : 0) + 2 * (v[3] as number) - 0.05 * (v[4] as number);
    binary[r] = random() < 1 / (1 + Math.exp(-z)) ? 1 : 0;
    target[r] = 50 + 20 * z + random() * 5;
  }
  return { x, binary, target, rows };
}

/** Per-feature mean and standard deviation, as a user would compute them. */
function statistics(x: Float32Array, rows: number): { mean: number[]; scale: number[] } {
  const mean = Array.from({ length: F }, (_, j) => {
    let s = 0;
    for (let r = 0; r < rows; r++) s += x[r * F + j] as number;
    return s / rows;
  });
  const scale = mean.map((m, j) => {
    let s = 0;
    for (let r = 0; r < rows; r++) s += ((x[r * F + j] as number) - m) ** 2;
    return Math.sqrt(s / rows);
  });
  return { mean, scale };
}

function normalise(x: Float32Array, rows: number, stats: { mean: number[]; scale: number[] }): Float32Array {
  const out = new Float32Array(x.length);
  for (let r = 0; r < rows; r++)
    for (let j = 0; j < F; j++)
      out[r * F + j] = ((x[r * F + j] as number) - (stats.mean[j] as number)) / (stats.scale[j] as number);
  return out;
}

const seeded = (seed: number) => tf.initializers.glorotUniform({ seed });

/** What TensorFlow.js predicts for the rows (inference mode: dropout off, batch-norm moving statistics). */
function predict(model: tf.LayersModel, x: Float32Array, rows: number, width = F): Float32Array {
  return tf.tidy(() => (model.predict(tf.tensor2d(x, [rows, width])) as tf.Tensor).dataSync() as Float32Array).slice();
}

/** What onnxruntime gives for the rows, and the graph's output name and dims. */
async function runOnnx(bytes: Uint8Array, x: Float32Array, rows: number, width = F) {
  const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1, interOpNumThreads: 1 });
  try {
    const [input] = session.inputNames;
    const [output] = session.outputNames;
    const result = await session.run({ [input as string]: new ort.Tensor('float32', x, [rows, width]) });
    const tensor = result[output as string] as ort.Tensor;
    return { input, output, dims: [...tensor.dims], values: tensor.data as Float32Array };
  } finally {
    await session.release();
  }
}

function maxDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs((a[i] as number) - (b[i] as number)));
  return max;
}

function ops(bytes: Uint8Array): string[] {
  const graph = readFields(readFields(bytes).find((f) => f.field === 7)?.bytes as Uint8Array);
  return graph
    .filter((f) => f.field === 1)
    .map((node) => new TextDecoder().decode(readFields(node.bytes as Uint8Array).find((f) => f.field === 4)?.bytes));
}

function refusal(fn: () => unknown): RheoError {
  let error: unknown;
  try {
    fn();
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(RheoError);
  expect((error as RheoError).code).toBe('MODEL_INVALID');
  return error as RheoError;
}

const train = data(1500, 1);
const test = data(64, 2);
const stats = statistics(train.x, train.rows);

beforeAll(async () => {
  await selectBackend(); // WASM here unless tfjs-node is installed
});

describe('layersModelToOnnx', () => {
  it('a trained classifier (7 → 8 relu → 1 sigmoid) matches model.predict within 1e-5 and registers', async () => {
    const model = tf.sequential({
      layers: [
        tf.layers.dense({ units: 8, activation: 'relu', inputShape: [F], kernelInitializer: seeded(1) }),
        tf.layers.dropout({ rate: 0.1 }),
        tf.layers.dense({ units: 1, activation: 'sigmoid', kernelInitializer: seeded(2) }),
      ],
    });
    model.compile({ optimizer: tf.train.adam(0.01), loss: 'binaryCrossentropy' });
    const xs = tf.tensor2d(normalise(train.x, train.rows, stats), [train.rows, F]);
    const ys = tf.tensor2d(train.binary, [train.rows, 1]);
    await model.fit(xs, ys, { epochs: 3, batchSize: 64, shuffle: false, verbose: 0 });
    tf.dispose([xs, ys]);

    const like: LayersModelLike = model; // a tf.Sequential is what the export reads
    const tensors = tf.memory().numTensors;
    const bytes = layersModelToOnnx(like, { name: 'fraud_tfjs', normalisation: stats, metadata: { owner: 'alice' } });
    expect(tf.memory().numTensors).toBe(tensors); // reads the weights, allocates nothing
    // The graph takes raw rows: normalisation is inside it.
    const expected = predict(model, normalise(test.x, test.rows, stats), test.rows);
    const got = await runOnnx(bytes, test.x, test.rows);
    expect(got).toMatchObject({ input: 'features', output: 'probability', dims: [test.rows, 1] });
    expect(maxDiff(expected, got.values)).toBeLessThanOrEqual(1e-5);
    expect(ops(bytes)).toEqual(['Sub', 'Div', 'Gemm', 'Relu', 'Gemm', 'Sigmoid', 'Identity']);
    const metadata = new TextDecoder().decode(bytes);
    for (const text of ['rheo_model', 'fraud_tfjs', 'rheo_layers', 'dense(8,relu),dense(1,sigmoid)', 'owner', 'alice'])
      expect(metadata).toContain(text);

    const scoring = await checkRegistration(bytes, {
      inputs: FEATURES.map((name) => ({ name, type: 'DOUBLE' })),
      outputs: [{ name: 'probability', type: 'DOUBLE' }],
    });
    expect(scoring).toMatchObject({ output: 'probability', column: 0, shape: ['N', 1], elementType: 'tensor(float)' });
    model.dispose();
  });

  it('a regressor with a linear output, tanh and sigmoid hidden layers and no bias: output "prediction"', async () => {
    const model = tf.sequential({
      layers: [
        tf.layers.dense({ units: 16, activation: 'tanh', inputShape: [F], kernelInitializer: seeded(3) }),
        tf.layers.dense({ units: 4, activation: 'sigmoid', useBias: false, kernelInitializer: seeded(4) }),
        tf.layers.dense({ units: 1, kernelInitializer: seeded(5) }),
      ],
    });
    model.compile({ optimizer: tf.train.adam(0.01), loss: 'meanSquaredError' });
    const xs = tf.tensor2d(normalise(train.x, train.rows, stats), [train.rows, F]);
    const ys = tf.tensor2d(train.target, [train.rows, 1]);
    await model.fit(xs, ys, { epochs: 3, batchSize: 64, shuffle: false, verbose: 0 });
    tf.dispose([xs, ys]);

    const bytes = layersModelToOnnx(model, { name: 'amount_tfjs', normalisation: stats });
    const expected = predict(model, normalise(test.x, test.rows, stats), test.rows);
    const got = await runOnnx(bytes, test.x, test.rows);
    expect(got).toMatchObject({ input: 'features', output: 'prediction', dims: [test.rows, 1] });
    // Absolute on values around 50: float32 carries ~7 digits, so compare relative to the magnitude.
    expect(maxDiff(expected, got.values) / Math.max(1, ...Array.from(expected, Math.abs))).toBeLessThanOrEqual(1e-5);
    expect(ops(bytes)).toEqual(['Sub', 'Div', 'Gemm', 'Tanh', 'Gemm', 'Sigmoid', 'Gemm', 'Identity']);
    await expect(
      checkRegistration(bytes, {
        inputs: FEATURES.map((name) => ({ name, type: 'DOUBLE' })),
        outputs: [{ name: 'prediction', type: 'DOUBLE' }],
      }),
    ).resolves.toMatchObject({ output: 'prediction', column: 0 });
    model.dispose();
  });

  it('folds BatchNormalization (first, after a linear Dense, after a relu, last) and Activation layers', async () => {
    const model = tf.sequential({
      layers: [
        tf.layers.batchNormalization({ inputShape: [F] }),
        tf.layers.dense({ units: 6, kernelInitializer: seeded(6) }),
        tf.layers.batchNormalization({ epsilon: 0.01 }),
        tf.layers.activation({ activation: 'relu' }),
        tf.layers.dense({ units: 5, activation: 'relu', kernelInitializer: seeded(7) }),
        tf.layers.batchNormalization({ center: false }),
        tf.layers.dense({ units: 3, activation: 'linear', useBias: false, kernelInitializer: seeded(8) }),
        tf.layers.batchNormalization({ scale: false }),
      ],
    });
    // Moving statistics and affine parameters away from their initial 0/1, so each fold matters.
    const random = rng(9);
    for (const layer of model.layers.filter((l) => l.getClassName() === 'BatchNormalization'))
      layer.setWeights(
        layer
          .getWeights()
          .map((w, i, all) =>
            tf.tensor1d(
              Array.from({ length: w.shape[0] as number }, () => (i === all.length - 1 ? 0.5 + random() : random() - 0.3)),
            ),
          ),
      );
    const bytes = layersModelToOnnx(model, { name: 'bn', normalisation: stats });
    const expected = predict(model, normalise(test.x, test.rows, stats), test.rows);
    const got = await runOnnx(bytes, test.x, test.rows);
    expect(got).toMatchObject({ output: 'prediction', dims: [test.rows, 3] });
    expect(maxDiff(expected, got.values)).toBeLessThanOrEqual(1e-5);
    expect(ops(bytes)).toEqual(['Sub', 'Div', 'Gemm', 'Relu', 'Gemm', 'Relu', 'Gemm', 'Identity']);
    // BatchNormalizations after a non-linear last layer compose into a final Mul/Add.
    const last = tf.sequential({
      layers: [
        tf.layers.dense({ units: 2, activation: 'tanh', inputShape: [F], kernelInitializer: seeded(10) }),
        tf.layers.batchNormalization({}),
        tf.layers.batchNormalization({}),
      ],
    });
    (last.layers[1] as tf.layers.Layer).setWeights([1.5, 0.2, 0.1, 2].map((v) => tf.fill([2], v)));
    (last.layers[2] as tf.layers.Layer).setWeights([0.7, -0.4, 0.3, 0.5].map((v) => tf.fill([2], v)));
    const lastBytes = layersModelToOnnx(last, { name: 'bn_last', inputName: 'x', outputName: 'y' });
    expect(ops(lastBytes)).toEqual(['Gemm', 'Tanh', 'Mul', 'Add', 'Identity']);
    const lastGot = await runOnnx(lastBytes, test.x.subarray(0, 8 * F), 8);
    expect(lastGot).toMatchObject({ input: 'x', output: 'y', dims: [8, 2] });
    expect(maxDiff(predict(last, test.x.subarray(0, 8 * F), 8), lastGot.values)).toBeLessThanOrEqual(1e-5);
    model.dispose();
    last.dispose();
  });

  it('a softmax output and a functional model that is a plain chain', async () => {
    const input = tf.input({ shape: [F] });
    const hidden = tf.layers.dense({ units: 4, activation: 'relu', kernelInitializer: seeded(11) }).apply(input);
    const output = tf.layers
      .dense({ units: 2, activation: 'softmax', kernelInitializer: seeded(12) })
      .apply(hidden) as tf.SymbolicTensor;
    const model = tf.model({ inputs: input, outputs: output });
    const bytes = layersModelToOnnx(model, { name: 'two_class', outputName: 'probabilities', normalisation: stats });
    const got = await runOnnx(bytes, test.x, test.rows);
    expect(got).toMatchObject({ output: 'probabilities', dims: [test.rows, 2] });
    expect(maxDiff(predict(model, normalise(test.x, test.rows, stats), test.rows), got.values)).toBeLessThanOrEqual(1e-5);
    await expect(
      checkRegistration(bytes, {
        inputs: FEATURES.map((name) => ({ name, type: 'DOUBLE' })),
        outputs: [{ name: 'probabilities', type: 'DOUBLE' }],
      }),
    ).resolves.toMatchObject({ output: 'probabilities', column: 1 });
    model.dispose();
  });

  it('refuses unsupported layers, naming each and its class', () => {
    const conv = tf.sequential({
      layers: [
        tf.layers.conv1d({ filters: 2, kernelSize: 3, inputShape: [F, 1] }),
        tf.layers.flatten(),
        tf.layers.dense({ units: 1, activation: 'sigmoid' }),
      ],
    });
    const convName = conv.layers[0]?.name as string;
    const a = refusal(() => layersModelToOnnx(conv, { name: 'conv' }));
    expect(a.message).toContain(`layer "${convName}" (Conv1D) is not supported`);
    expect(a.message).toMatch(/exports Dense .*BatchNormalization, Activation, Dropout and Flatten layers/);
    expect(a.details).toMatchObject({ layers: [{ layer: convName, class: 'Conv1D' }] });

    const embedding = tf.sequential({
      layers: [
        tf.layers.embedding({ inputDim: 10, outputDim: 3, inputLength: F }),
        tf.layers.flatten(),
        tf.layers.dense({ units: 1, activation: 'sigmoid' }),
      ],
    });
    expect(refusal(() => layersModelToOnnx(embedding, { name: 'emb' })).message).toMatch(
      /layer "[^"]+" \(Embedding\) is not supported/,
    );

    const elu = tf.sequential({ layers: [tf.layers.dense({ units: 1, activation: 'elu', inputShape: [F] })] });
    expect(refusal(() => layersModelToOnnx(elu, { name: 'elu' })).message).toMatch(
      /layer "[^"]+" \(Dense\) has activation "elu", which the export does not support/,
    );

    const deep = tf.sequential({
      layers: [tf.layers.flatten({ inputShape: [4, 2] }), tf.layers.dense({ units: 1, activation: 'sigmoid' })],
    });
    expect(refusal(() => layersModelToOnnx(deep, { name: 'deep' })).message).toContain(
      'its input is [N, 4, 2]; Rheo serves one float tensor [N, features]',
    );
    for (const m of [conv, embedding, elu, deep]) m.dispose();
  });

  it('refuses multi-input, multi-output and non-sequential models', () => {
    const a = tf.input({ shape: [3] });
    const b = tf.input({ shape: [4] });
    const merged = tf.layers.concatenate().apply([a, b]) as tf.SymbolicTensor;
    const twoInputs = tf.model({ inputs: [a, b], outputs: tf.layers.dense({ units: 1 }).apply(merged) as tf.SymbolicTensor });
    expect(refusal(() => layersModelToOnnx(twoInputs, { name: 'two' })).message).toMatch(
      /layer "[^"]+" \(Concatenate\) is not supported/,
    );

    const x = tf.input({ shape: [F] });
    const d1 = tf.layers.dense({ units: 2 }).apply(x) as tf.SymbolicTensor;
    const d2 = tf.layers.dense({ units: 1 }).apply(x) as tf.SymbolicTensor;
    const twoOutputs = tf.model({ inputs: x, outputs: [d1, d2] });
    expect(refusal(() => layersModelToOnnx(twoOutputs, { name: 'heads' })).message).toContain(
      'it has 1 inputs and 2 outputs; Rheo serves one float tensor [N, features] in and one tensor out',
    );

    // One input, one output, Dense layers only, yet not a chain: a layer applied twice.
    const shared = tf.layers.dense({ units: F, activation: 'relu' });
    const y = tf.input({ shape: [F] });
    const twice = shared.apply(shared.apply(y)) as tf.SymbolicTensor;
    const reused = tf.model({ inputs: y, outputs: tf.layers.dense({ units: 1 }).apply(twice) as tf.SymbolicTensor });
    expect(refusal(() => layersModelToOnnx(reused, { name: 'reused' })).message).toMatch(
      /layer "[^"]+" \(Dense\) is called 2 times; the export takes a sequential stack of layers/,
    );

    const noDense = tf.sequential({ layers: [tf.layers.dropout({ rate: 0.5, inputShape: [F] })] });
    expect(refusal(() => layersModelToOnnx(noDense, { name: 'none' })).message).toContain('it has no Dense layer');
  });
});
