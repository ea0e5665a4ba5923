/**
 * One loaded model version: an ONNX Runtime session whose interface was checked against the
 * registered input and output schema, warmed up, and fronted by a micro-batcher.
 */
import * as ort from 'onnxruntime-node';
import { errorMessage, RheoError } from '../../kernel/errors.ts';
import type { ModelVersionRegistered } from '../../schemas/index.ts';
import { type BatchResult, MicroBatcher } from './batcher.ts';

export interface SessionSettings {
  /** Rows per runtime call at most. */
  maxBatchRows: number;
  /** How long the first request of a batch waits for company (0 = the next event-loop turn). */
  lingerMs: number;
  intraOpThreads: number;
  onBatch?: (rows: number, seconds: number) => void;
}

/** One registered output as the graph gives it: its name and how many values per row (found when the session loads). */
export interface OutputLayout {
  name: string;
  width: number;
}

export const DEFAULT_SESSION_SETTINGS: SessionSettings = { maxBatchRows: 512, lingerMs: 0, intraOpThreads: 1 };

/** What a decision threshold in the version's params turns into (`decision_threshold`, `positive_label`, `negative_label`). */
export interface DecisionRule {
  threshold: number;
  positiveLabel: string;
  negativeLabel: string;
}

export class LoadedModel {
  readonly model: string;
  readonly version: string;
  readonly sha256: string;
  readonly spec: ModelVersionRegistered;
  readonly layout: readonly OutputLayout[];
  readonly width: number;
  /** The graph's one input, a float32 [batch, width] tensor (what OIP metadata lists). */
  readonly inputName: string;
  readonly decision: DecisionRule | undefined;
  readonly loadedAt = Date.now();
  lastUsed = Date.now();
  readonly #session: ort.InferenceSession;
  readonly #batcher: MicroBatcher;
  readonly #maxRows: number;
  #disposed = false;

  private constructor(
    model: string,
    version: string,
    spec: ModelVersionRegistered,
    session: ort.InferenceSession,
    inputName: string,
    layout: OutputLayout[],
    settings: SessionSettings,
  ) {
    this.model = model;
    this.version = version;
    this.sha256 = spec.sha256;
    this.spec = spec;
    this.#session = session;
    this.inputName = inputName;
    this.layout = layout;
    this.width = spec.inputs.length;
    const threshold = spec.params.decision_threshold;
    this.decision =
      typeof threshold === 'number'
        ? {
            threshold,
            positiveLabel: String(spec.params.positive_label ?? 'positive'),
            negativeLabel: String(spec.params.negative_label ?? 'negative'),
          }
        : undefined;
    this.#maxRows = settings.maxBatchRows;
    this.#batcher = new MicroBatcher(this.width, (input, rows) => this.#runBatch(input, rows), {
      maxRows: settings.maxBatchRows,
      lingerMs: settings.lingerMs,
      ...(settings.onBatch ? { onBatch: settings.onBatch } : {}),
    });
  }

  /**
   * Creates the session from verified bytes, checks it against the registered schema, and warms it
   * up. Throws MODEL_INVALID with the reason when the artifact does not fit its registration.
   */
  static async load(
    model: string,
    version: string,
    spec: ModelVersionRegistered,
    bytes: Uint8Array,
    settings: SessionSettings,
  ): Promise<LoadedModel> {
    let session: ort.InferenceSession;
    try {
      session = await ort.InferenceSession.create(bytes, {
        intraOpNumThreads: settings.intraOpThreads,
        interOpNumThreads: 1,
        executionMode: 'sequential',
        graphOptimizationLevel: 'all',
      });
    } catch (error) {
      throw new RheoError('MODEL_INVALID', `${model}@${version}: onnxruntime cannot load the artifact: ${errorMessage(error)}`, {
        cause: error,
      });
    }
    try {
      const { inputName, layout } = checkInterface(model, version, spec, session);
      const loaded = new LoadedModel(model, version, spec, session, inputName, layout, settings);
      await loaded.#warmUp();
      return loaded;
    } catch (error) {
      await session.release().catch(() => undefined);
      throw error;
    }
  }

  /**
   * Scores `rows` rows (row-major, `rows × width`), sharing a runtime call with concurrent callers.
   * More rows than a batch holds are split into batches and the outputs joined.
   */
  async score(input: Float32Array, rows: number): Promise<BatchResult> {
    if (this.#disposed) throw new RheoError('MODEL_NOT_SERVING', `${this.model}@${this.version} was unloaded`);
    this.lastUsed = Date.now();
    const max = this.#maxRows;
    if (rows <= max) return this.#batcher.submit(input, rows);
    const parts: Promise<BatchResult>[] = [];
    for (let start = 0; start < rows; start += max) {
      const n = Math.min(max, rows - start);
      parts.push(this.#batcher.submit(input.subarray(start * this.width, (start + n) * this.width), n));
    }
    const results = await Promise.all(parts);
    const outputs = this.layout.map(({ width }, o) => {
      const joined = new Float32Array(rows * width);
      let offset = 0;
      for (const r of results) {
        const part = r.outputs[o] as Float32Array;
        joined.set(part, offset);
        offset += part.length;
      }
      return joined;
    });
    const ms = results.reduce((sum, r) => sum + r.inferenceMsPerRow * r.batchRows, 0);
    return { outputs, inferenceMsPerRow: ms / rows, batchRows: max };
  }

  async #runBatch(input: Float32Array, rows: number): Promise<{ outputs: Float32Array[]; widths: number[] }> {
    const feeds = { [this.inputName]: new ort.Tensor('float32', input, [rows, this.width]) };
    let result: ort.InferenceSession.ReturnType;
    try {
      result = await this.#session.run(feeds);
    } catch (error) {
      throw new RheoError('MODEL_INVALID', `${this.model}@${this.version}: inference failed: ${errorMessage(error)}`, {
        cause: error,
      });
    }
    const outputs: Float32Array[] = [];
    const widths: number[] = [];
    for (const { name, width } of this.layout) {
      const tensor = result[name] as ort.Tensor;
      const data = tensor.data;
      outputs.push(data instanceof Float32Array ? data : Float32Array.from(data as ArrayLike<number>));
      widths.push(width);
    }
    return { outputs, widths };
  }

  async #warmUp(): Promise<void> {
    // A few zero rows through the real path: allocates the arena and proves the outputs have the declared widths.
    const rows = 4;
    const feeds = { [this.inputName]: new ort.Tensor('float32', new Float32Array(rows * this.width), [rows, this.width]) };
    let result: ort.InferenceSession.ReturnType;
    try {
      result = await this.#session.run(feeds);
    } catch (error) {
      throw new RheoError('MODEL_INVALID', `${this.model}@${this.version}: warm-up inference failed: ${errorMessage(error)}`, {
        cause: error,
      });
    }
    for (const { name, width } of this.layout) {
      const tensor = result[name] as ort.Tensor | undefined;
      if (!tensor || tensor.data.length !== rows * width)
        throw new RheoError(
          'MODEL_INVALID',
          `${this.model}@${this.version}: output ${name} does not give ${width} value(s) per row`,
        );
    }
  }

  async dispose(): Promise<void> {
    if (this.#disposed) return;
    this.#disposed = true;
    await this.#session.release().catch(() => undefined);
  }
}

/** The registered interface against the session's: one float32 input [batch, features], each registered output present as [batch] or [batch, k]. */
function checkInterface(
  model: string,
  version: string,
  spec: ModelVersionRegistered,
  session: ort.InferenceSession,
): { inputName: string; layout: OutputLayout[] } {
  const refuse = (reason: string): never => {
    throw new RheoError('MODEL_INVALID', `${model}@${version}: ${reason}`);
  };
  if (session.inputMetadata.length !== 1)
    refuse(
      `the graph has ${session.inputMetadata.length} inputs; a tabular model takes one float32 tensor [batch, ${spec.inputs.length}]`,
    );
  const input = session.inputMetadata[0] as ort.InferenceSession.ValueMetadata;
  if (!input.isTensor || input.type !== 'float32') refuse(`input ${input.name} must be a float32 tensor`);
  const shape = (input as ort.InferenceSession.TensorValueMetadata).shape;
  if (shape.length !== 2) refuse(`input ${input.name} has rank ${shape.length}; expected [batch, ${spec.inputs.length}]`);
  const features = shape[1];
  if (typeof features === 'number' && features !== spec.inputs.length)
    refuse(
      `input ${input.name} takes ${features} features but ${spec.inputs.length} are registered (${spec.inputs.map((i) => i.name).join(', ')})`,
    );
  const layout: OutputLayout[] = [];
  for (const output of spec.outputs) {
    const meta = session.outputMetadata.find((m) => m.name === output.name);
    if (!meta)
      refuse(`registered output ${output.name} is not an output of the graph (it has ${session.outputNames.join(', ')})`);
    const tensor = meta as ort.InferenceSession.TensorValueMetadata;
    if (!tensor.isTensor || (tensor.type !== 'float32' && tensor.type !== 'float64'))
      refuse(`output ${output.name} must be a float tensor`);
    const dims = tensor.shape;
    if (dims.length > 2 || dims.length === 0) refuse(`output ${output.name} must be [batch] or [batch, k]`);
    const width = dims.length === 1 ? 1 : dims[1];
    if (typeof width !== 'number') refuse(`output ${output.name} needs a fixed width (its shape is [${dims.join(', ')}])`);
    layout.push({ name: output.name, width: width as number });
  }
  return { inputName: input.name, layout };
}
