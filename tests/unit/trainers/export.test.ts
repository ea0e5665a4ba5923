import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { auc } from '../../../kernel/quality.ts';
import { rng } from '../../../kernel/random.ts';
import { readFields } from '../../../serving/onnx/protobuf.ts';
import { exportOnnx, INPUT_NAME } from '../../../trainers/export/onnx.ts';
import { compareOutputs, onnxScorer } from '../../../trainers/export/verify.ts';
import { selectBackend } from '../../../trainers/models/backend.ts';
import { TabularNet, type TrialParams, trainNetwork } from '../../../trainers/models/network.ts';
import { applyNormalization, fitNormalization, fitTarget } from '../../../trainers/models/normalization.ts';

const WIDTH = 5;

/** Rows with a known logistic signal on raw, badly scaled features (so normalisation matters). */
function synthetic(rows: number, seed: number, task: 'binary' | 'regression' = 'binary') {
  const random = rng(seed);
  const x = new Float32Array(rows * WIDTH);
  const y = new Float32Array(rows);
  for (let r = 0; r < rows; r++) {
    const v = [random() * 1000, random() * 24, random() * 5 - 2, random(), 42];
    x.set(v, r * WIDTH);
    const z = 0.004 * (v[0] as number) - 2 + ((v[1] as number) < 6 ? 1.5 : 0) + (v[2] as number);
    y[r] = task === 'binary' ? (random() < 1 / (1 + Math.exp(-z)) ? 1 : 0) : 50 + 20 * z + random() * 5;
  }
  return { x, y, rows };
}

const base: TrialParams = {
  algorithm: 'mlp',
  hidden: [16, 8],
  activation: 'relu',
  learningRate: 0.01,
  batchSize: 64,
  l2: 1e-4,
  maxEpochs: 30,
  patience: 3,
  minDelta: 1e-4,
  seed: 7,
};

async function train(params: TrialParams, task: 'binary' | 'regression' = 'binary') {
  const train = synthetic(2000, 1, task);
  const val = synthetic(500, 2, task);
  const norm = fitNormalization(train.x, train.rows, WIDTH);
  const target = task === 'regression' ? fitTarget(train.y, train.rows) : undefined;
  const net = new TabularNet(task, WIDTH, params, norm, target);
  const y = target ? train.y.map((v) => (v - target.mean) / target.scale) : train.y;
  const result = await trainNetwork(net, {
    x: applyNormalization(train.x, WIDTH, norm),
    y,
    rows: train.rows,
    xVal: applyNormalization(val.x, WIDTH, norm),
    yVal: val.y,
    valRows: val.rows,
  });
  return { net, result };
}

beforeAll(async () => {
  await selectBackend(); // WASM here unless tfjs-node is installed
});

describe('TensorFlow.js networks', () => {
  it('learn a known signal, stop early on validation loss, and are reproducible from the seed', async () => {
    const a = await train(base);
    const test = synthetic(1000, 3);
    const scores = a.net.predict(test.x, test.rows);
    expect(auc(test.y, scores)).toBeGreaterThan(0.75);
    expect(a.result.bestEpoch).toBeGreaterThan(0);
    expect(a.result.history.length).toBe(a.result.epochsRun);
    if (a.result.stoppedEarly) expect(a.result.epochsRun - a.result.bestEpoch).toBeGreaterThanOrEqual(base.patience);
    const b = await train(base);
    expect(Array.from(b.net.predict(test.x, 10))).toEqual(Array.from(scores.subarray(0, 10)));
    a.net.dispose();
    b.net.dispose();
    expect(tf.memory().numTensors).toBe(0);
  });
});

describe('ONNX export', () => {
  for (const [label, params, task] of [
    ['logistic regression', { ...base, algorithm: 'logistic_regression', hidden: [] }, 'binary'],
    ['MLP (relu)', base, 'binary'],
    ['MLP (tanh)', { ...base, activation: 'tanh', hidden: [8] }, 'binary'],
    ['MLP regressor', { ...base, hidden: [8] }, 'regression'],
  ] as const) {
    it(`${label}: loads in onnxruntime with the declared shapes and matches TensorFlow.js within 1e-5`, async () => {
      const { net } = await train(params as TrialParams, task);
      const bytes = exportOnnx(net, {
        model: 'm',
        version: '1.0.0',
        features: ['a', 'b', 'c', 'd', 'e'],
        outputName: task === 'binary' ? 'probability' : 'prediction',
      });
      const scorer = await onnxScorer(bytes);
      try {
        expect(scorer.interface).toEqual({
          inputName: INPUT_NAME,
          inputShape: ['batch', WIDTH],
          outputName: task === 'binary' ? 'probability' : 'prediction',
          outputShape: ['batch', 1],
        });
        const test = synthetic(3000, 4, task);
        const expected = net.predict(test.x, test.rows);
        const got = await scorer.score(test.x, test.rows, WIDTH);
        const parity = compareOutputs(expected, got, 1e-5);
        expect(parity.maxScaledDiff).toBeLessThanOrEqual(1e-5);
      } finally {
        await scorer.close();
        net.dispose();
      }
      // The graph: Sub, Div, then Gemm (+ activation) per layer, then Sigmoid or Mul/Add, then the output Identity.
      const graph = readFields(readFields(bytes).find((f) => f.field === 7)?.bytes as Uint8Array);
      const ops = graph
        .filter((f) => f.field === 1)
        .map((node) => new TextDecoder().decode(readFields(node.bytes as Uint8Array).find((f) => f.field === 4)?.bytes));
      const hidden = (params as TrialParams).algorithm === 'mlp' ? (params as TrialParams).hidden.length : 0;
      const act = (params as TrialParams).activation === 'relu' ? 'Relu' : 'Tanh';
      expect(ops).toEqual([
        'Sub',
        'Div',
        ...Array.from({ length: hidden }, () => ['Gemm', act]).flat(),
        'Gemm',
        ...(task === 'binary' ? ['Sigmoid'] : ['Mul', 'Add']),
        'Identity',
      ]);
    });
  }

  it('refuses a mismatch past the tolerance', () => {
    expect(() => compareOutputs(Float32Array.from([0.5, 0.2]), Float32Array.from([0.5, 0.2001]), 1e-5)).toThrow(/EXPORT|differs/);
    expect(compareOutputs(Float32Array.from([1000]), Float32Array.from([1000.005]), 1e-5).maxScaledDiff).toBeLessThanOrEqual(
      1e-5,
    );
  });
});
