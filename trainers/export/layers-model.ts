/**
 * A TensorFlow.js model trained by the user, exported to the ONNX graph Rheo registers and serves:
 * `layersModelToOnnx(model, { name })` reads a sequential stack of Dense layers off a `tf.Sequential`
 * (or a functional `tf.LayersModel` that is a plain chain) with `layer.getWeights()` and writes it with
 * the project's builder (`serving/onnx/builder.ts`, the same graph the trainer exports): one float32
 * input [N, F] of raw values, optional Sub/Div normalisation, one Gemm per Dense layer with its
 * activation, output [N, units].
 *
 *   import { layersModelToOnnx } from 'rheo';
 *   writeFileSync('model.onnx', layersModelToOnnx(model, { name: 'churn', normalisation: { mean, scale } }));
 *
 * Layers:
 * - Dense (kernel [in, out], with or without bias), activation linear, relu, tanh, sigmoid or softmax;
 * - Dropout, GaussianDropout, GaussianNoise, AlphaDropout: identities at inference, skipped;
 * - BatchNormalization (over the last axis): folded into the Dense layer before it when that one is
 *   linear, else into the next Dense layer (or a final Mul/Add when nothing follows);
 * - Activation: becomes the activation of the linear Dense layer before it;
 * - Flatten: an identity on [N, F] rows; InputLayer: skipped.
 * Anything else (Conv1D, Embedding, LSTM, a nested model…), a model with several inputs or outputs, a
 * branching graph or an input that is not [N, F] is refused with MODEL_INVALID naming the layer and its
 * class. Nothing of TensorFlow.js is imported: the model is read through the few members typed below,
 * so a model built with the user's own `@tensorflow/tfjs` (any backend: cpu, wasm, tfjs-node) works.
 */
import { RheoError } from '../../kernel/errors.ts';
import { type DenseLayer, type Normalisation, tabularModel } from '../../serving/onnx/builder.ts';

/** What is read of a weight tensor (`tf.Tensor`). */
export interface WeightTensor {
  readonly shape: readonly number[];
  dataSync(): ArrayLike<number>;
}

/** What is read of a layer (`tf.layers.Layer`). */
export interface LayerLike {
  readonly name: string;
  getClassName(): string;
  getConfig(): object;
  getWeights(): WeightTensor[];
  readonly inboundNodes?: ReadonlyArray<{ readonly inboundLayers: readonly LayerLike[] }>;
}

/** What is read of a model (`tf.LayersModel`, `tf.Sequential`). */
export interface LayersModelLike {
  readonly name: string;
  readonly layers: readonly LayerLike[];
  readonly inputs: ReadonlyArray<{ readonly shape: ReadonlyArray<number | null> }>;
  readonly outputs: ReadonlyArray<{ readonly shape: ReadonlyArray<number | null> }>;
}

export interface LayersModelToOnnxOptions {
  /** The graph's name (the model's name in Rheo, written as `rheo_model` metadata too). */
  name: string;
  /** The input tensor's name (default `features`). */
  inputName?: string;
  /** The output's name: default `probability` when the last layer is a sigmoid, else `prediction`. */
  outputName?: string;
  /** (x − mean) / scale inside the graph, so callers feed raw values (a zero scale is replaced by 1). */
  normalisation?: Normalisation;
  /** Extra `metadata_props`. */
  metadata?: Record<string, string>;
}

/** Layers that are identities at inference. */
const INFERENCE_IDENTITIES = ['Dropout', 'GaussianDropout', 'GaussianNoise', 'AlphaDropout', 'Flatten', 'InputLayer'];
const SUPPORTED_CLASSES = new Set(['Dense', 'BatchNormalization', 'Activation', ...INFERENCE_IDENTITIES]);

/** TensorFlow.js activation names → the builder's. */
const ACTIVATIONS: Record<string, DenseLayer['activation']> = {
  linear: 'none',
  relu: 'relu',
  tanh: 'tanh',
  sigmoid: 'sigmoid',
  softmax: 'softmax',
};

const SUPPORTED =
  'Dense (activation linear, relu, tanh, sigmoid or softmax), BatchNormalization, Activation, Dropout and Flatten layers';

/** A per-feature affine map x · scale + shift not yet folded into a Dense layer. */
interface Affine {
  scale: number[];
  shift: number[];
}

/**
 * Exports a sequential stack of Dense layers (see the module comment) to ONNX model bytes that
 * `rheo models register … --artifact model.onnx` accepts: input `features` float [N, F], output
 * `probability` (sigmoid last layer) or `prediction`, float [N, units].
 */
export function layersModelToOnnx(model: LayersModelLike, options: LayersModelToOnnxOptions): Uint8Array {
  const what = `model "${model.name}"`;
  const refuse = (reason: string, details: Record<string, unknown> = {}): never => {
    throw new RheoError('MODEL_INVALID', `cannot export ${what} to ONNX: ${reason}`, {
      details: { model: model.name, ...details },
    });
  };
  if (!options.name) refuse('options.name (the graph name) is required');
  const unsupported = model.layers.filter((l) => !SUPPORTED_CLASSES.has(l.getClassName()));
  if (unsupported.length > 0) {
    const names = unsupported.map((l) => `"${l.name}" (${l.getClassName()})`).join(', ');
    const nested = unsupported.some((l) => ['Sequential', 'Model'].includes(l.getClassName()));
    refuse(
      `${unsupported.length === 1 ? `layer ${names} is` : `layers ${names} are`} not supported; layersModelToOnnx exports ${SUPPORTED}${nested ? ' (flatten a nested model into one tf.sequential)' : ''}`,
      { layers: unsupported.map((l) => ({ layer: l.name, class: l.getClassName() })) },
    );
  }
  if (model.inputs.length !== 1 || model.outputs.length !== 1)
    refuse(
      `it has ${model.inputs.length} inputs and ${model.outputs.length} outputs; Rheo serves one float tensor [N, features] in and one tensor out`,
    );
  const inputShape = (model.inputs[0] as { shape: ReadonlyArray<number | null> }).shape;
  const features = inputShape[1];
  if (inputShape.length !== 2 || typeof features !== 'number')
    refuse(`its input is [${inputShape.map((d) => d ?? 'N').join(', ')}]; Rheo serves one float tensor [N, features]`);
  const width0 = features as number;

  const layers: DenseLayer[] = [];
  let width = width0;
  let pending: Affine | null = null;
  let previous: LayerLike | null = null;
  for (const layer of model.layers) {
    const className = layer.getClassName();
    const label = `layer "${layer.name}" (${className})`;
    const layerRefuse = (reason: string): never => refuse(`${label} ${reason}`, { layer: layer.name, class: className });
    if (className !== 'InputLayer') checkChain(layer, previous, layerRefuse);
    const config = layer.getConfig() as Record<string, unknown>;

    if (className === 'Dense') {
      const activation = ACTIVATIONS[String(config.activation ?? 'linear')];
      if (!activation)
        layerRefuse(
          `has activation "${String(config.activation)}", which the export does not support (linear, relu, tanh, sigmoid, softmax)`,
        );
      const weights = layer.getWeights();
      const kernel = weights[0];
      if (kernel?.shape.length !== 2) return layerRefuse('has no [inputs, units] kernel');
      const [rows, units] = kernel.shape as [number, number];
      if (rows !== width) layerRefuse(`takes ${rows} inputs but receives ${width}`);
      let w = matrix(kernel, rows, units);
      let b: number[] | undefined = config.useBias === false ? undefined : vector(weights[1], units, layerRefuse, 'bias');
      if (pending) {
        // (x · s + t) W + b = x · (diag(s) W) + (t W + b)
        const { scale, shift } = pending;
        const kernelRows = w;
        const bias = b;
        b = Array.from({ length: units }, (_, j) =>
          shift.reduce((sum, t, i) => sum + t * (kernelRows[i]?.[j] ?? 0), bias?.[j] ?? 0),
        );
        w = w.map((row, i) => row.map((v) => v * (scale[i] ?? 1)));
        pending = null;
      }
      if (!finite(w) || (b && !finite([b]))) layerRefuse('has weights that are not finite numbers (did training diverge?)');
      layers.push({ weights: w, ...(b ? { bias: b } : {}), activation: activation as DenseLayer['activation'] });
      width = units;
    } else if (className === 'BatchNormalization') {
      const axis = config.axis ?? -1;
      if (axis !== -1 && axis !== 1)
        layerRefuse(`normalises axis ${JSON.stringify(axis)}; only the feature axis (-1) of [N, F] folds`);
      const affine = batchNormAffine(layer, config, width, layerRefuse);
      const last = layers[layers.length - 1];
      if (!pending && last && last.activation === 'none') {
        // (x W + b) · s + t = x (W diag(s)) + (b · s + t): scale each output column of the linear layer before it.
        const { scale, shift } = affine;
        const bias = last.bias;
        last.weights = last.weights.map((row) => row.map((v, j) => v * (scale[j] ?? 1)));
        last.bias = scale.map((s, j) => (bias?.[j] ?? 0) * s + (shift[j] ?? 0));
      } else {
        pending = pending
          ? {
              scale: pending.scale.map((s, i) => s * (affine.scale[i] ?? 1)),
              shift: pending.shift.map((t, i) => t * (affine.scale[i] ?? 1) + (affine.shift[i] ?? 0)),
            }
          : affine;
      }
    } else if (className === 'Activation') {
      const name = String(config.activation ?? 'linear');
      const activation = ACTIVATIONS[name];
      const last = layers[layers.length - 1];
      if (!activation) layerRefuse(`is "${name}", which the export does not support (linear, relu, tanh, sigmoid, softmax)`);
      if (activation !== 'none') {
        if (pending || !last || last.activation !== 'none')
          layerRefuse('must follow a linear Dense layer (the export applies one activation per Dense layer)');
        (last as DenseLayer).activation = activation as DenseLayer['activation'];
      }
    }
    // Anything else is an identity at inference (Flatten of [N, F] rows included): SUPPORTED_CLASSES was checked above.
    if (className !== 'InputLayer') previous = layer;
  }
  if (layers.length === 0) refuse(`it has no Dense layer; the export supports ${SUPPORTED}`);

  const last = layers[layers.length - 1] as DenseLayer;
  const outputName = options.outputName ?? (last.activation === 'sigmoid' && !pending ? 'probability' : 'prediction');
  const inputName = options.inputName ?? 'features';
  if (inputName === outputName) refuse(`the input and the output are both named "${inputName}"`);
  const finalScaling = pending as Affine | null;
  return tabularModel({
    name: options.name,
    features: width0,
    inputName,
    ...(options.normalisation ? { normalisation: options.normalisation } : {}),
    layers,
    ...(finalScaling ? { outputScaling: { scale: finalScaling.scale, offset: finalScaling.shift } } : {}),
    outputName,
    metadata: {
      rheo_model: options.name,
      rheo_source: 'tensorflow.js',
      // What the graph computes, e.g. `dense(8,relu),dense(1,sigmoid)` (BatchNormalization folded in).
      rheo_layers: [
        ...layers.map((l) => `dense(${l.weights[0]?.length ?? 0},${l.activation === 'none' ? 'linear' : l.activation})`),
        ...(finalScaling ? ['scale'] : []),
      ].join(','),
      ...options.metadata,
    },
  });
}

/** A functional model must be a chain: each layer called once, on the layer before it. */
function checkChain(layer: LayerLike, previous: LayerLike | null, refuse: (reason: string) => never): void {
  const nodes = layer.inboundNodes;
  if (!nodes) return;
  if (nodes.length !== 1) refuse(`is called ${nodes.length} times; the export takes a sequential stack of layers`);
  const inbound = (nodes[0] as { inboundLayers: readonly LayerLike[] }).inboundLayers;
  if (inbound.length !== 1) refuse(`takes ${inbound.length} inputs; the export takes a sequential stack of layers`);
  const from = inbound[0] as LayerLike;
  if (previous ? from !== previous : from.getClassName() !== 'InputLayer')
    refuse(
      `takes its input from "${from.name}" rather than ${previous ? `"${previous.name}"` : 'the model input'}; the export takes a sequential stack of layers`,
    );
}

/** BatchNormalization at inference: x · γ / √(var + ε) + (β − mean · γ / √(var + ε)). */
function batchNormAffine(
  layer: LayerLike,
  config: Record<string, unknown>,
  width: number,
  refuse: (reason: string) => never,
): Affine {
  const weights = layer.getWeights();
  const center = config.center !== false;
  const scaled = config.scale !== false;
  const expected = 2 + (center ? 1 : 0) + (scaled ? 1 : 0);
  if (weights.length !== expected) refuse(`has ${weights.length} weights, not ${expected}`);
  let i = 0;
  const gamma = scaled ? vector(weights[i++], width, refuse, 'gamma') : new Array<number>(width).fill(1);
  const beta = center ? vector(weights[i++], width, refuse, 'beta') : new Array<number>(width).fill(0);
  const mean = vector(weights[i++], width, refuse, 'moving mean');
  const variance = vector(weights[i++], width, refuse, 'moving variance');
  const epsilon = typeof config.epsilon === 'number' ? config.epsilon : 1e-3;
  const scale = gamma.map((g, j) => g / Math.sqrt((variance[j] ?? 1) + epsilon));
  const shift = beta.map((b, j) => b - (mean[j] ?? 0) * (scale[j] ?? 1));
  if (!finite([scale, shift])) refuse('has statistics that are not finite numbers');
  return { scale, shift };
}

function matrix(tensor: WeightTensor, rows: number, cols: number): number[][] {
  const data = tensor.dataSync();
  return Array.from({ length: rows }, (_, i) => Array.from({ length: cols }, (_, j) => Number(data[i * cols + j])));
}

function vector(tensor: WeightTensor | undefined, length: number, refuse: (reason: string) => never, what: string): number[] {
  if (tensor?.shape.length !== 1 || tensor.shape[0] !== length)
    return refuse(`has no ${what} of ${length} values${tensor ? ` (found [${tensor.shape.join(', ')}])` : ''}`);
  return Array.from(tensor.dataSync(), Number);
}

function finite(rows: readonly (readonly number[])[]): boolean {
  return rows.every((row) => row.every(Number.isFinite));
}
