/**
 * What an ONNX graph takes and gives, and whether a registration's declared inputs and outputs fit
 * it — checked once, at registration, for every writer (the CLI, the gateway's register route and
 * the trainer all go through `storeAndRegister`), so a model that the serving host would refuse is
 * refused before any event exists, with the graph's real outputs in the message.
 *
 * The graph's interface comes from onnxruntime's own session metadata (names, element types and
 * shapes of inputs and outputs, onnxruntime-node ≥ 1.22), so what is checked is what the runtime
 * will load. The rules are the serving host's (serving/host/session.ts, serving/scoring.ts):
 * - inputs: the graph takes one float tensor [N, F] with F the number of declared inputs, fed in
 *   declaration order (how Rheo's exported models and skl2onnx's `FloatTensorType([None, F])` look);
 *   a graph with one input per feature is refused, naming which declared inputs it lacks;
 * - outputs: each declared output names a graph output of a compatible element type (DOUBLE: float or
 *   double; LONG, BOOLEAN and STRING outputs exist in graphs — skl2onnx's `label` is int64 — but
 *   Rheo scores and returns float outputs only), shaped [N] or [N, k] with a fixed k;
 * - the score is the first declared output: its value when k = 1, column 1 (the positive class)
 *   when k = 2, none when k > 2 (every column is still returned by name).
 */
import * as ort from 'onnxruntime-node';
import { errorMessage, RheoError } from '../../kernel/errors.ts';
import type { ModelOutput, ValueType } from '../../schemas/index.ts';

/** One graph input or output as onnxruntime reports it. */
export interface GraphValue {
  name: string;
  /** ONNX element type name (`float`, `double`, `int64`, `bool`, `string`…), or null for a non-tensor (sequence, map). */
  elementType: string | null;
  /** Dimensions: a number when fixed, a string when symbolic (`N`, `batch`, or '' when unnamed). Empty when unknown. */
  shape: Array<number | string>;
}

export interface GraphInterface {
  inputs: GraphValue[];
  outputs: GraphValue[];
}

/** The inputs and outputs a registration declares. */
export interface DeclaredInterface {
  inputs: ReadonlyArray<{ name: string; type: ValueType }>;
  outputs: readonly ModelOutput[];
}

/** Where the served score comes from, resolved at registration. */
export interface ScoringOutput {
  /** The graph output the score is read from (the first declared output). */
  output: string;
  /** The column of a two-column output (1, the positive class); 0 for a one-value output; null when there is no single score. */
  column: number | null;
  /** The output's shape, batch dimension written `N`. */
  shape: Array<number | string>;
  /** `tensor(float)`, `tensor(double)`. */
  elementType: string;
  /** One line for people: `scoring from output "probabilities" column 1 of [N, 2] (tensor(float))`. */
  description: string;
}

/** onnxruntime's tensor type names → ONNX's element type names. */
const ONNX_NAMES: Record<string, string> = {
  float32: 'float',
  float64: 'double',
  float16: 'float16',
  bfloat16: 'bfloat16',
  int8: 'int8',
  int16: 'int16',
  int32: 'int32',
  int64: 'int64',
  uint8: 'uint8',
  uint16: 'uint16',
  uint32: 'uint32',
  uint64: 'uint64',
  bool: 'bool',
  string: 'string',
};

/** The ONNX element types each declared value type accepts. */
const COMPATIBLE: Record<ValueType, readonly string[]> = {
  DOUBLE: ['float', 'double'],
  LONG: ['int8', 'int16', 'int32', 'int64', 'uint8', 'uint16', 'uint32', 'uint64'],
  BOOLEAN: ['bool'],
  STRING: ['string'],
  UNKNOWN: [],
};

/** The element types the serving host reads outputs of. */
const SERVED_OUTPUT_TYPES = new Set(['float', 'double']);

/** Reads the graph's inputs and outputs from onnxruntime's session metadata. MODEL_INVALID when the bytes do not load. */
export async function inspectOnnx(bytes: Uint8Array): Promise<GraphInterface> {
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(bytes, { graphOptimizationLevel: 'disabled', intraOpNumThreads: 1 });
  } catch (error) {
    throw new RheoError('MODEL_INVALID', `onnxruntime cannot load the artifact: ${errorMessage(error)}`, { cause: error });
  }
  try {
    const value = (meta: ort.InferenceSession.ValueMetadata): GraphValue =>
      meta.isTensor
        ? { name: meta.name, elementType: ONNX_NAMES[meta.type] ?? meta.type, shape: [...meta.shape] }
        : { name: meta.name, elementType: null, shape: [] };
    return { inputs: session.inputMetadata.map(value), outputs: session.outputMetadata.map(value) };
  } finally {
    await session.release().catch(() => undefined);
  }
}

/** `[N, 2]`: the first (batch) dimension as N when symbolic, other symbolic ones by name (`?` when unnamed). */
export function formatShape(shape: ReadonlyArray<number | string>): string {
  return `[${displayShape(shape).join(', ')}]`;
}

function displayShape(shape: ReadonlyArray<number | string>): Array<number | string> {
  return shape.map((d, i) => (typeof d === 'number' ? d : i === 0 ? 'N' : d || '?'));
}

/** `"probabilities" tensor(float) [N, 2]`, or `"output_probability" (not a tensor)`. */
export function describeValue(value: GraphValue): string {
  return value.elementType === null
    ? `"${value.name}" (not a tensor)`
    : `"${value.name}" tensor(${value.elementType}) ${value.shape.length ? formatShape(value.shape) : '[shape unknown]'}`;
}

/**
 * Checks the declared inputs and outputs against the graph and resolves the scoring output.
 * Pure. Throws MODEL_INVALID naming the problem and the graph's actual inputs or outputs.
 */
export function resolveInterface(graph: GraphInterface, declared: DeclaredInterface): ScoringOutput {
  const outputsText = graph.outputs.map(describeValue).join(', ');
  const refuse = (reason: string, details: Record<string, unknown> = {}): never => {
    throw new RheoError('MODEL_INVALID', reason, {
      details: {
        graph_inputs: graph.inputs.map(describeValue),
        graph_outputs: graph.outputs.map(describeValue),
        ...details,
      },
    });
  };
  checkInputs(graph, declared, refuse);
  if (declared.outputs.length === 0) refuse(`no outputs declared; the graph's outputs are ${outputsText}`);
  const resolved: Array<{ value: GraphValue; width: number }> = [];
  for (const output of declared.outputs) {
    const value = graph.outputs.find((o) => o.name === output.name);
    if (!value)
      refuse(`declared output "${output.name}" is not an output of the graph; its outputs are ${outputsText}`, {
        output: output.name,
      });
    const found = value as GraphValue;
    const type = found.elementType;
    if (type === null)
      refuse(
        `output "${found.name}" is not a tensor (a sequence or map, e.g. skl2onnx's ZipMap); convert with zipmap disabled or declare another of ${outputsText}`,
        { output: output.name },
      );
    if (!COMPATIBLE[output.type].includes(type as string))
      refuse(`declared output "${output.name}" is ${output.type} but the graph gives ${describeValue(found)}`, {
        output: output.name,
      });
    if (!SERVED_OUTPUT_TYPES.has(type as string))
      refuse(
        `output ${describeValue(found)} is not a float tensor; Rheo scores and returns float outputs only (the graph's outputs are ${outputsText})`,
        { output: output.name },
      );
    const dims = found.shape;
    if (dims.length !== 1 && dims.length !== 2)
      refuse(`output ${describeValue(found)} must be [N] or [N, k]`, { output: output.name });
    const width = dims.length === 1 ? 1 : dims[1];
    if (typeof width !== 'number')
      refuse(`output ${describeValue(found)} needs a fixed number of columns`, { output: output.name });
    resolved.push({ value: found, width: width as number });
  }
  const first = resolved[0] as { value: GraphValue; width: number };
  const { name, shape } = first.value;
  const elementType = `tensor(${first.value.elementType})`;
  const column = first.width === 1 ? 0 : first.width === 2 ? 1 : null;
  const description =
    first.width === 1
      ? `scoring from output "${name}" ${formatShape(shape)} (${elementType})`
      : first.width === 2
        ? `scoring from output "${name}" column 1 of ${formatShape(shape)} (${elementType})`
        : `no single score: output "${name}" is ${formatShape(shape)} (${elementType}); its columns are returned as ${name}_0 … ${name}_${first.width - 1}`;
  return { output: name, column, shape: displayShape(shape), elementType, description };
}

function checkInputs(graph: GraphInterface, declared: DeclaredInterface, refuse: (reason: string) => never): void {
  const count = declared.inputs.length;
  const inputsText = graph.inputs.map(describeValue).join(', ');
  if (count === 0) refuse(`no inputs declared; the graph's inputs are ${inputsText}`);
  if (graph.inputs.length !== 1) {
    const missing = declared.inputs.filter((i) => !graph.inputs.some((g) => g.name === i.name)).map((i) => i.name);
    refuse(
      missing.length
        ? `declared inputs ${missing.join(', ')} are not inputs of the graph, whose inputs are ${inputsText}`
        : `the graph takes ${graph.inputs.length} separate inputs (${inputsText}); Rheo feeds one float tensor [N, ${count}] of the declared inputs in order`,
    );
  }
  const input = graph.inputs[0] as GraphValue;
  if (input.elementType !== 'float')
    refuse(`input ${describeValue(input)} must be tensor(float) [N, ${count}] (the declared inputs in order)`);
  if (input.shape.length !== 2) refuse(`input ${describeValue(input)} must be [N, ${count}] (the declared inputs in order)`);
  const features = input.shape[1];
  if (typeof features === 'number' && features !== count)
    refuse(
      `input ${describeValue(input)} takes ${features} features but ${count} inputs are declared (${declared.inputs.map((i) => i.name).join(', ')})`,
    );
}

/** Inspects the artifact and resolves its scoring output against the declaration (MODEL_INVALID when it does not fit). */
export async function checkRegistration(bytes: Uint8Array, declared: DeclaredInterface): Promise<ScoringOutput> {
  return resolveInterface(await inspectOnnx(bytes), declared);
}
