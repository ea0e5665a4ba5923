/**
 * A small ONNX graph builder for tabular models: it writes valid `ModelProto` bytes (IR 8, default
 * opset 17) without any protobuf library. Enough operators for normalisation, linear layers and
 * MLPs — Sub/Div/Mul/Add, Gemm/MatMul, Relu/Tanh/Sigmoid/Softmax, plus Log/Less/Cast/Where/Identity —
 * so tests build their fixtures at run time and the trainer's exporter can reuse it.
 *
 *   const g = new OnnxGraph('fraud');
 *   const x = g.input('features', ['batch', 4]);
 *   const z = g.div(g.sub(x, g.constant('mean', mean)), g.constant('scale', scale));
 *   g.output(g.sigmoid(g.gemm(z, g.constant('w', w, [4, 1]), g.constant('b', [b]))), 'probability', ['batch', 1]);
 *   const bytes = g.toModel();
 */
import { ProtoWriter } from './protobuf.ts';

/** ONNX TensorProto.DataType values for the types the builder writes. */
export const ONNX_TYPE = { float32: 1, int64: 7, bool: 9, float64: 11 } as const;
export type OnnxElementType = keyof typeof ONNX_TYPE;

/** A dimension: a fixed size or a symbolic name (e.g. `batch`). */
export type Dim = number | string;

export type AttributeValue = number | string | number[] | { float: number } | { floats: number[] };

/** A named value in the graph (an input, a constant or a node output). */
export interface ValueRef {
  readonly name: string;
}

interface NodeSpec {
  op: string;
  inputs: string[];
  outputs: string[];
  name: string;
  attributes: Record<string, AttributeValue>;
}

interface TensorSpec {
  name: string;
  type: OnnxElementType;
  dims: number[];
  data: Float32Array | Float64Array | BigInt64Array | Uint8Array;
}

interface ValueInfo {
  name: string;
  type: OnnxElementType;
  shape: Dim[];
}

export interface ModelOptions {
  producerName?: string;
  producerVersion?: string;
  opset?: number;
  irVersion?: number;
  docString?: string;
  /** Written as `metadata_props` (ONNX's key/value model metadata). */
  metadata?: Record<string, string>;
}

export class OnnxGraph {
  readonly name: string;
  readonly #nodes: NodeSpec[] = [];
  readonly #initializers: TensorSpec[] = [];
  readonly #inputs: ValueInfo[] = [];
  readonly #outputs: ValueInfo[] = [];
  readonly #names = new Set<string>();
  #counter = 0;

  constructor(name: string) {
    this.name = name;
  }

  #fresh(prefix: string): string {
    let name: string;
    do name = `${prefix}_${this.#counter++}`;
    while (this.#names.has(name));
    this.#names.add(name);
    return name;
  }

  #claim(name: string): string {
    if (this.#names.has(name)) throw new Error(`ONNX graph ${this.name}: the name "${name}" is already used`);
    this.#names.add(name);
    return name;
  }

  input(name: string, shape: Dim[], type: OnnxElementType = 'float32'): ValueRef {
    this.#inputs.push({ name: this.#claim(name), type, shape });
    return { name };
  }

  /** A constant tensor (graph initializer); `dims` defaults to a 1-D tensor of the data's length. */
  constant(
    name: string,
    values: ArrayLike<number> | ArrayLike<bigint>,
    dims?: number[],
    type: OnnxElementType = 'float32',
  ): ValueRef {
    const shape = dims ?? [values.length];
    const count = shape.reduce((a, b) => a * b, 1);
    if (count !== values.length)
      throw new Error(`constant ${name}: ${values.length} values do not fill shape [${shape.join(', ')}]`);
    const data =
      type === 'float32'
        ? Float32Array.from(values as ArrayLike<number>)
        : type === 'float64'
          ? Float64Array.from(values as ArrayLike<number>)
          : type === 'int64'
            ? BigInt64Array.from(Array.from(values as ArrayLike<number | bigint>, (v) => BigInt(v)))
            : Uint8Array.from(values as ArrayLike<number>, (v) => (v ? 1 : 0));
    this.#initializers.push({ name: this.#claim(name), type, dims: shape, data });
    return { name };
  }

  /** Any operator of the default domain; returns its outputs. */
  node(op: string, inputs: ValueRef[], attributes: Record<string, AttributeValue> = {}, outputCount = 1): ValueRef[] {
    const outputs = Array.from({ length: outputCount }, () => this.#fresh(op.toLowerCase()));
    this.#nodes.push({
      op,
      inputs: inputs.map((i) => i.name),
      outputs,
      name: this.#fresh(`node_${op.toLowerCase()}`),
      attributes,
    });
    return outputs.map((name) => ({ name }));
  }

  #one(op: string, inputs: ValueRef[], attributes: Record<string, AttributeValue> = {}): ValueRef {
    return this.node(op, inputs, attributes)[0] as ValueRef;
  }

  add(a: ValueRef, b: ValueRef): ValueRef {
    return this.#one('Add', [a, b]);
  }
  sub(a: ValueRef, b: ValueRef): ValueRef {
    return this.#one('Sub', [a, b]);
  }
  mul(a: ValueRef, b: ValueRef): ValueRef {
    return this.#one('Mul', [a, b]);
  }
  div(a: ValueRef, b: ValueRef): ValueRef {
    return this.#one('Div', [a, b]);
  }
  matMul(a: ValueRef, b: ValueRef): ValueRef {
    return this.#one('MatMul', [a, b]);
  }
  /** Y = alpha·A·B + beta·C (B is [in, out] unless transB). */
  gemm(a: ValueRef, b: ValueRef, c?: ValueRef, options: { transB?: boolean; alpha?: number; beta?: number } = {}): ValueRef {
    const attributes: Record<string, AttributeValue> = {};
    if (options.transB) attributes.transB = 1;
    if (options.alpha !== undefined) attributes.alpha = { float: options.alpha };
    if (options.beta !== undefined) attributes.beta = { float: options.beta };
    return this.#one('Gemm', c ? [a, b, c] : [a, b], attributes);
  }
  relu(x: ValueRef): ValueRef {
    return this.#one('Relu', [x]);
  }
  tanh(x: ValueRef): ValueRef {
    return this.#one('Tanh', [x]);
  }
  sigmoid(x: ValueRef): ValueRef {
    return this.#one('Sigmoid', [x]);
  }
  softmax(x: ValueRef, axis = -1): ValueRef {
    return this.#one('Softmax', [x], { axis });
  }
  log(x: ValueRef): ValueRef {
    return this.#one('Log', [x]);
  }
  less(a: ValueRef, b: ValueRef): ValueRef {
    return this.#one('Less', [a, b]);
  }
  where(condition: ValueRef, a: ValueRef, b: ValueRef): ValueRef {
    return this.#one('Where', [condition, a, b]);
  }
  cast(x: ValueRef, to: OnnxElementType): ValueRef {
    return this.#one('Cast', [x], { to: ONNX_TYPE[to] });
  }
  identity(x: ValueRef): ValueRef {
    return this.#one('Identity', [x]);
  }

  /** Declares `value` a graph output named `name` (an Identity node renames it when needed). */
  output(value: ValueRef, name: string, shape: Dim[], type: OnnxElementType = 'float32'): ValueRef {
    if (value.name !== name) {
      this.#claim(name);
      this.#nodes.push({
        op: 'Identity',
        inputs: [value.name],
        outputs: [name],
        name: this.#fresh('node_output'),
        attributes: {},
      });
    }
    this.#outputs.push({ name, type, shape });
    return { name };
  }

  /** Serialises the model: `ModelProto` bytes onnxruntime loads directly. */
  toModel(options: ModelOptions = {}): Uint8Array {
    if (this.#inputs.length === 0 || this.#outputs.length === 0)
      throw new Error(`ONNX graph ${this.name} needs inputs and outputs`);
    const graph = new ProtoWriter();
    for (const node of this.#nodes) graph.message(1, nodeProto(node));
    graph.string(2, this.name);
    for (const tensor of this.#initializers) graph.message(5, tensorProto(tensor));
    for (const input of this.#inputs) graph.message(11, valueInfoProto(input));
    for (const output of this.#outputs) graph.message(12, valueInfoProto(output));

    const model = new ProtoWriter()
      .int(1, options.irVersion ?? 8)
      .string(2, options.producerName ?? 'rheo')
      .string(3, options.producerVersion ?? '1')
      .string(4, 'io.rheo');
    if (options.docString) model.string(6, options.docString);
    model.message(7, graph);
    model.message(8, new ProtoWriter().string(1, '').int(2, options.opset ?? 17));
    for (const [key, value] of Object.entries(options.metadata ?? {}))
      model.message(14, new ProtoWriter().string(1, key).string(2, value));
    return model.finish();
  }
}

function nodeProto(node: NodeSpec): ProtoWriter {
  const w = new ProtoWriter();
  for (const input of node.inputs) w.string(1, input);
  for (const output of node.outputs) w.string(2, output);
  w.string(3, node.name).string(4, node.op);
  for (const [name, value] of Object.entries(node.attributes)) w.message(5, attributeProto(name, value));
  return w;
}

// AttributeProto.AttributeType: FLOAT 1, INT 2, STRING 3, FLOATS 6, INTS 7.
function attributeProto(name: string, value: AttributeValue): ProtoWriter {
  const w = new ProtoWriter().string(1, name);
  if (typeof value === 'number') {
    if (!Number.isInteger(value)) throw new Error(`attribute ${name}: use { float: ${value} } for a float attribute`);
    return w.int(3, value).int(20, 2);
  }
  if (typeof value === 'string') return w.string(4, value).int(20, 3);
  if (Array.isArray(value)) {
    for (const v of value) w.int(8, v);
    return w.int(20, 7);
  }
  if ('float' in value) return w.float(2, value.float).int(20, 1);
  for (const v of value.floats) w.float(7, v);
  return w.int(20, 6);
}

function tensorProto(tensor: TensorSpec): ProtoWriter {
  const w = new ProtoWriter();
  for (const dim of tensor.dims) w.int(1, dim);
  w.int(2, ONNX_TYPE[tensor.type]).string(8, tensor.name);
  // raw_data is little-endian; typed arrays are platform-endian, so write through a DataView.
  const data = tensor.data;
  const raw = new Uint8Array(data.byteLength);
  const view = new DataView(raw.buffer);
  for (let i = 0; i < data.length; i++) {
    if (data instanceof Float32Array) view.setFloat32(i * 4, data[i] as number, true);
    else if (data instanceof Float64Array) view.setFloat64(i * 8, data[i] as number, true);
    else if (data instanceof BigInt64Array) view.setBigInt64(i * 8, data[i] as bigint, true);
    else view.setUint8(i, data[i] as number);
  }
  return w.bytes(9, raw);
}

function valueInfoProto(info: ValueInfo): ProtoWriter {
  const shape = new ProtoWriter();
  for (const dim of info.shape) {
    const d = new ProtoWriter();
    if (typeof dim === 'number') d.int(1, dim);
    else d.string(2, dim);
    shape.message(1, d);
  }
  const tensorType = new ProtoWriter().int(1, ONNX_TYPE[info.type]).message(2, shape);
  return new ProtoWriter().string(1, info.name).message(2, new ProtoWriter().message(1, tensorType));
}

// ---------------------------------------------------------------------------------------------
// Tabular model templates: normalisation inside the graph, so callers feed raw feature values.

export interface Normalisation {
  /** Subtracted from each feature (length = features). */
  mean: number[];
  /** Each feature is divided by it after the subtraction; zeros are replaced by 1. */
  scale: number[];
}

export interface DenseLayer {
  /** [in][out] weights. */
  weights: number[][];
  /** [out] biases; without them the Gemm has no C input (a layer trained with `useBias: false`). */
  bias?: number[];
  activation: 'relu' | 'tanh' | 'sigmoid' | 'softmax' | 'none';
}

export interface TabularModelSpec {
  name: string;
  /** Feature count; the input tensor is [batch, features]. */
  features: number;
  inputName?: string;
  normalisation?: Normalisation;
  layers: DenseLayer[];
  /** Maps the last layer's output back to target units (regression on a scaled target): y · scale + offset. */
  outputScaling?: { scale: number[]; offset: number[] };
  outputName: string;
  metadata?: Record<string, string>;
  opset?: number;
}

/** A feed-forward model over one float input [batch, features]: optional (x − mean) / scale, dense layers, optional output scaling. */
export function tabularModel(spec: TabularModelSpec): Uint8Array {
  const g = new OnnxGraph(spec.name);
  let x = g.input(spec.inputName ?? 'features', ['batch', spec.features]);
  if (spec.normalisation) {
    const { mean, scale } = spec.normalisation;
    if (mean.length !== spec.features || scale.length !== spec.features)
      throw new Error(`normalisation of ${spec.name} must have ${spec.features} means and scales`);
    x = g.div(
      g.sub(x, g.constant('norm_mean', mean)),
      g.constant(
        'norm_scale',
        scale.map((s) => (s === 0 ? 1 : s)),
      ),
    );
  }
  let width = spec.features;
  spec.layers.forEach((layer, i) => {
    if (layer.weights.length !== width) throw new Error(`layer ${i} of ${spec.name} expects ${width} inputs`);
    const out = layer.bias?.length ?? layer.weights[0]?.length ?? 0;
    if (layer.weights.some((row) => row.length !== out))
      throw new Error(`layer ${i} of ${spec.name}: weights are not [${width}][${out}]`);
    const w = g.constant(`layer${i}_w`, layer.weights.flat(), [width, out]);
    x = g.gemm(x, w, layer.bias ? g.constant(`layer${i}_b`, layer.bias) : undefined);
    if (layer.activation === 'relu') x = g.relu(x);
    else if (layer.activation === 'tanh') x = g.tanh(x);
    else if (layer.activation === 'sigmoid') x = g.sigmoid(x);
    else if (layer.activation === 'softmax') x = g.softmax(x, 1);
    width = out;
  });
  if (spec.outputScaling) {
    const { scale, offset } = spec.outputScaling;
    if (scale.length !== width || offset.length !== width)
      throw new Error(`output scaling of ${spec.name} must have ${width} scales and offsets`);
    x = g.add(g.mul(x, g.constant('output_scale', scale)), g.constant('output_offset', offset));
  }
  g.output(x, spec.outputName, ['batch', width]);
  return g.toModel({ metadata: spec.metadata ?? {}, ...(spec.opset ? { opset: spec.opset } : {}) });
}

/** Logistic regression: sigmoid(((x − mean) / scale) · w + b), output [batch, 1]. */
export function logisticRegressionModel(spec: {
  name: string;
  weights: number[];
  bias: number;
  normalisation?: Normalisation;
  inputName?: string;
  outputName?: string;
  metadata?: Record<string, string>;
}): Uint8Array {
  return tabularModel({
    name: spec.name,
    features: spec.weights.length,
    ...(spec.inputName ? { inputName: spec.inputName } : {}),
    ...(spec.normalisation ? { normalisation: spec.normalisation } : {}),
    layers: [{ weights: spec.weights.map((w) => [w]), bias: [spec.bias], activation: 'sigmoid' }],
    outputName: spec.outputName ?? 'probability',
    ...(spec.metadata ? { metadata: spec.metadata } : {}),
  });
}
