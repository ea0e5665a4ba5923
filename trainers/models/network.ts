/**
 * The tabular networks, in TensorFlow.js: logistic regression (one dense layer) and an MLP (dense
 * hidden layers with ReLU or tanh), for binary classification (sigmoid output `probability`) or
 * regression (a linear output mapped back from the scaled target). Weights are plain variables
 * initialised from the run's seed, so the forward pass is exactly the exported graph's:
 *
 *   raw x → (x − mean) / scale → [Gemm → activation]* → Gemm → Sigmoid | (· target_scale + target_mean)
 *
 * `trainNetwork` is a hand-written loop (Adam, mini-batches in a seeded order, L2 on the kernels, early
 * stopping on validation loss with the best weights restored). It yields to the event loop after
 * every batch, so a consumer's heartbeats and progress events keep flowing during a long run.
 */
import * as tf from '@tensorflow/tfjs';
import { auc } from '../../kernel/quality.ts';
import { deriveSeed, permutation, type Rng, rng } from '../../kernel/random.ts';
import { regressionMetrics, type Task } from './metrics.ts';
import type { Normalization } from './normalization.ts';

export type Algorithm = 'logistic_regression' | 'mlp';
export type Activation = 'relu' | 'tanh';

export interface TrialParams {
  algorithm: Algorithm;
  /** Hidden layer widths (MLP); empty for logistic regression. */
  hidden: number[];
  activation: Activation;
  learningRate: number;
  batchSize: number;
  /** L2 penalty on the kernels (not the biases). */
  l2: number;
  maxEpochs: number;
  /** Epochs without a validation-loss improvement of at least `minDelta` before stopping. */
  patience: number;
  minDelta: number;
  seed: number;
}

/** One dense layer as numbers, ready for export: weights are [in][out]. */
export interface DenseLayerWeights {
  weights: number[][];
  bias: number[];
  activation: 'relu' | 'tanh' | 'sigmoid' | 'none';
}

export interface TargetScaling {
  mean: number;
  scale: number;
}

interface Layer {
  w: tf.Variable;
  b: tf.Variable;
  inputs: number;
  outputs: number;
  activation: Activation | 'none';
}

export class TabularNet {
  readonly task: Task;
  readonly width: number;
  readonly normalization: Normalization;
  readonly target: TargetScaling | undefined;
  readonly params: TrialParams;
  readonly #layers: Layer[];
  readonly #mean: tf.Tensor1D;
  readonly #scale: tf.Tensor1D;
  #disposed = false;

  constructor(task: Task, width: number, params: TrialParams, normalization: Normalization, target?: TargetScaling) {
    this.task = task;
    this.width = width;
    this.params = params;
    this.normalization = normalization;
    this.target = task === 'regression' ? (target ?? { mean: 0, scale: 1 }) : undefined;
    const random = rng(deriveSeed(params.seed, 1));
    const sizes = [width, ...(params.algorithm === 'mlp' ? params.hidden : []), 1];
    this.#layers = [];
    for (let i = 0; i + 1 < sizes.length; i++) {
      const inputs = sizes[i] as number;
      const outputs = sizes[i + 1] as number;
      this.#layers.push({
        // tidy: the initial tensors are disposed, the variables (which share their data) are kept.
        w: tf.tidy(() => tf.variable(tf.tensor2d(glorot(inputs, outputs, random), [inputs, outputs]), true)),
        b: tf.tidy(() => tf.variable(tf.zeros([outputs]), true)),
        inputs,
        outputs,
        activation: i + 2 < sizes.length ? params.activation : 'none',
      });
    }
    this.#mean = tf.tensor1d(normalization.mean);
    this.#scale = tf.tensor1d(normalization.scale);
  }

  get variables(): tf.Variable[] {
    return this.#layers.flatMap((l) => [l.w, l.b]);
  }

  /** The last layer's pre-activation output from normalised inputs (logits, or the scaled regression target). */
  raw(x: tf.Tensor2D): tf.Tensor2D {
    let h = x;
    for (const layer of this.#layers) {
      h = tf.add(tf.matMul(h, layer.w), layer.b);
      if (layer.activation === 'relu') h = tf.relu(h);
      else if (layer.activation === 'tanh') h = tf.tanh(h);
    }
    return h;
  }

  /** Outputs (probabilities, or values in target units) from normalised inputs. */
  fromNormalized(x: tf.Tensor2D): tf.Tensor2D {
    const z = this.raw(x);
    if (this.task === 'binary') return tf.sigmoid(z);
    const t = this.target as TargetScaling;
    return tf.add(tf.mul(z, tf.scalar(t.scale)), tf.scalar(t.mean));
  }

  /** Outputs from raw feature rows (row-major, `rows × width`): the exported graph's computation. */
  predict(x: Float32Array, rows: number, chunkRows = 8192): Float32Array {
    const out = new Float32Array(rows);
    for (let start = 0; start < rows; start += chunkRows) {
      const size = Math.min(chunkRows, rows - start);
      const values = tf.tidy(() => {
        const raw = tf.tensor2d(x.subarray(start * this.width, (start + size) * this.width), [size, this.width]);
        return this.fromNormalized(tf.div(tf.sub(raw, this.#mean), this.#scale) as tf.Tensor2D).dataSync();
      });
      out.set(values as Float32Array, start);
    }
    return out;
  }

  /** Outputs from already normalised rows. */
  predictNormalized(x: Float32Array, rows: number, chunkRows = 8192): Float32Array {
    const out = new Float32Array(rows);
    for (let start = 0; start < rows; start += chunkRows) {
      const size = Math.min(chunkRows, rows - start);
      const values = tf.tidy(() =>
        this.fromNormalized(
          tf.tensor2d(x.subarray(start * this.width, (start + size) * this.width), [size, this.width]),
        ).dataSync(),
      );
      out.set(values as Float32Array, start);
    }
    return out;
  }

  /** The layers as numbers, for export; the last one carries the output activation. */
  layers(): DenseLayerWeights[] {
    return this.#layers.map((layer, i) => {
      const w = layer.w.dataSync();
      const weights = Array.from({ length: layer.inputs }, (_, r) =>
        Array.from(w.subarray(r * layer.outputs, (r + 1) * layer.outputs)),
      );
      const last = i === this.#layers.length - 1;
      return {
        weights,
        bias: Array.from(layer.b.dataSync()),
        activation: last ? (this.task === 'binary' ? 'sigmoid' : 'none') : layer.activation,
      };
    });
  }

  parameterCount(): number {
    return this.#layers.reduce((sum, l) => sum + l.inputs * l.outputs + l.outputs, 0);
  }

  snapshot(): Float32Array[] {
    return this.variables.map((v) => Float32Array.from(v.dataSync()));
  }

  restore(snapshot: readonly Float32Array[]): void {
    this.variables.forEach((v, i) => {
      tf.tidy(() => v.assign(tf.tensor(snapshot[i] as Float32Array, v.shape)));
    });
  }

  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    for (const v of this.variables) v.dispose();
    this.#mean.dispose();
    this.#scale.dispose();
  }
}

function glorot(inputs: number, outputs: number, random: Rng): Float32Array {
  const limit = Math.sqrt(6 / (inputs + outputs));
  const out = new Float32Array(inputs * outputs);
  for (let i = 0; i < out.length; i++) out[i] = (random() * 2 - 1) * limit;
  return out;
}

/** Training data, already normalised (and for regression, the target already scaled). */
export interface FitData {
  x: Float32Array;
  y: Float32Array;
  rows: number;
  xVal: Float32Array;
  /** Validation targets in their original units (labels 0/1, or the regression target). */
  yVal: Float32Array;
  valRows: number;
}

export interface EpochReport {
  epoch: number;
  epochs: number;
  /** Mean training loss over the epoch's batches (penalty included). */
  loss: number;
  /** Validation loss: log loss for classifiers, MSE of the scaled target for regressors. */
  val_loss: number;
  /** `val_auc` for classifiers, `val_rmse` (target units) for regressors. */
  metrics: Record<string, number>;
  seconds: number;
}

export interface FitResult {
  epochsRun: number;
  bestEpoch: number;
  bestValLoss: number;
  stoppedEarly: boolean;
  history: EpochReport[];
  seconds: number;
}

export interface FitOptions {
  onEpoch?: (report: EpochReport) => void | Promise<void>;
  /** Aborting stops after the current batch with the best weights so far, and `trainNetwork` throws the signal's reason. */
  signal?: AbortSignal;
}

const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

export async function trainNetwork(net: TabularNet, data: FitData, options: FitOptions = {}): Promise<FitResult> {
  const p = net.params;
  const width = net.width;
  const optimizer = tf.train.adam(p.learningRate);
  const order = rng(deriveSeed(p.seed, 2));
  const kernels = net.variables.filter((_, i) => i % 2 === 0);
  const history: EpochReport[] = [];
  let best = { loss: Number.POSITIVE_INFINITY, epoch: 0, weights: net.snapshot() };
  let stale = 0;
  const started = performance.now();
  const xs = new Float32Array(data.rows * width);
  const ys = new Float32Array(data.rows);
  try {
    for (let epoch = 1; epoch <= p.maxEpochs; epoch++) {
      const epochStarted = performance.now();
      const perm = permutation(data.rows, order);
      for (let r = 0; r < data.rows; r++) {
        const src = perm[r] as number;
        xs.set(data.x.subarray(src * width, (src + 1) * width), r * width);
        ys[r] = data.y[src] as number;
      }
      // Batches become tensors straight from the shuffled arrays: far cheaper than slicing one big tensor on WASM.
      let lossSum = tf.scalar(0);
      let batches = 0;
      for (let start = 0; start < data.rows; start += p.batchSize) {
        const size = Math.min(p.batchSize, data.rows - start);
        const cost = optimizer.minimize(() => {
          const xb = tf.tensor2d(xs.subarray(start * width, (start + size) * width), [size, width]);
          const yb = tf.tensor2d(ys.subarray(start, start + size), [size, 1]);
          const z = net.raw(xb);
          let loss = net.task === 'binary' ? tf.losses.sigmoidCrossEntropy(yb, z) : tf.losses.meanSquaredError(yb, z);
          if (p.l2 > 0) loss = tf.add(loss, tf.mul(tf.scalar(p.l2), tf.addN(kernels.map((k) => tf.sum(tf.square(k))))));
          return loss as tf.Scalar;
        }, true) as tf.Scalar;
        const next = tf.add(lossSum, cost) as tf.Scalar;
        lossSum.dispose();
        cost.dispose();
        lossSum = next;
        batches++;
        await yieldToEventLoop();
        if (options.signal?.aborted) {
          lossSum.dispose();
          throw options.signal.reason ?? new Error('training aborted');
        }
      }
      const loss = (await lossSum.data())[0] as number;
      lossSum.dispose();
      const val = validation(net, data);
      const report: EpochReport = {
        epoch,
        epochs: p.maxEpochs,
        loss: loss / Math.max(1, batches),
        val_loss: val.loss,
        metrics: val.metrics,
        seconds: (performance.now() - epochStarted) / 1000,
      };
      history.push(report);
      if (val.loss < best.loss - p.minDelta) {
        best = { loss: val.loss, epoch, weights: net.snapshot() };
        stale = 0;
      } else stale++;
      await options.onEpoch?.(report);
      if (!Number.isFinite(val.loss)) break; // diverged: keep the best weights seen
      if (stale >= p.patience) break;
    }
  } finally {
    optimizer.dispose();
  }
  net.restore(best.weights);
  const epochsRun = history.length;
  return {
    epochsRun,
    bestEpoch: best.epoch,
    bestValLoss: best.loss,
    stoppedEarly: epochsRun < p.maxEpochs,
    history,
    seconds: (performance.now() - started) / 1000,
  };
}

function validation(net: TabularNet, data: FitData): { loss: number; metrics: Record<string, number> } {
  const outputs = net.predictNormalized(data.xVal, data.valRows);
  if (net.task === 'binary') {
    // The training objective as TF.js computes it (p clipped at its epsilon, 1e-7), so early stopping
    // watches the very loss being minimised; the reported log loss is `kernel/quality.ts`'s.
    let sum = 0;
    for (let i = 0; i < data.valRows; i++) {
      const p = Math.min(1 - 1e-7, Math.max(1e-7, outputs[i] as number));
      sum += (data.yVal[i] as number) >= 0.5 ? -Math.log(p) : -Math.log(1 - p);
    }
    return { loss: sum / data.valRows, metrics: { val_auc: auc(data.yVal, outputs) ?? Number.NaN } };
  }
  const t = net.target as TargetScaling;
  let se = 0;
  for (let i = 0; i < data.valRows; i++) se += (((outputs[i] as number) - (data.yVal[i] as number)) / t.scale) ** 2;
  return { loss: se / data.valRows, metrics: { val_rmse: regressionMetrics(data.yVal, outputs).rmse ?? Number.NaN } };
}
