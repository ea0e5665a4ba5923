/**
 * The exported graph, run by ONNX Runtime (the same runtime that serves it): its interface, its
 * outputs on a matrix, and the parity check against TensorFlow.js that gates registration.
 */
import * as ort from 'onnxruntime-node';
import { errorMessage, RheoError } from '../../kernel/errors.ts';

export interface OnnxInterface {
  inputName: string;
  inputShape: Array<number | string>;
  outputName: string;
  outputShape: Array<number | string>;
}

export interface OnnxScorer {
  readonly interface: OnnxInterface;
  /** The first output, one value per row. */
  score(x: Float32Array, rows: number, width: number): Promise<Float32Array>;
  close(): Promise<void>;
}

/** Loads model bytes into an ONNX Runtime session; MODEL_INVALID when the runtime refuses them. */
export async function onnxScorer(bytes: Uint8Array, chunkRows = 8192): Promise<OnnxScorer> {
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1, interOpNumThreads: 1 });
  } catch (error) {
    throw new RheoError('MODEL_INVALID', `onnxruntime cannot load the model: ${errorMessage(error)}`, { cause: error });
  }
  const input = session.inputMetadata[0] as ort.InferenceSession.TensorValueMetadata | undefined;
  const output = session.outputMetadata[0] as ort.InferenceSession.TensorValueMetadata | undefined;
  if (!input || !output) throw new RheoError('MODEL_INVALID', 'the model has no input or no output');
  const info: OnnxInterface = {
    inputName: input.name,
    inputShape: [...input.shape],
    outputName: output.name,
    outputShape: [...output.shape],
  };
  return {
    interface: info,
    async score(x, rows, width) {
      const out = new Float32Array(rows);
      for (let start = 0; start < rows; start += chunkRows) {
        const size = Math.min(chunkRows, rows - start);
        const feeds = {
          [info.inputName]: new ort.Tensor('float32', x.slice(start * width, (start + size) * width), [size, width]),
        };
        const result = await session.run(feeds);
        const data = (result[info.outputName] as ort.Tensor).data as Float32Array;
        if (data.length !== size)
          throw new RheoError('MODEL_INVALID', `output ${info.outputName} has ${data.length} values for ${size} rows`);
        out.set(data, start);
      }
      return out;
    },
    close: () => session.release(),
  };
}

export interface Parity {
  rows: number;
  maxAbsDiff: number;
  /** Largest |onnx − tfjs| / max(1, |tfjs|): what the tolerance bounds. */
  maxScaledDiff: number;
  tolerance: number;
}

/** Compares ONNX Runtime's outputs with TensorFlow.js's; EXPORT_MISMATCH past the tolerance (scaled by max(1, |y|)). */
export function compareOutputs(tfjs: Float32Array, onnx: Float32Array, tolerance = 1e-5): Parity {
  if (tfjs.length !== onnx.length)
    throw new RheoError('EXPORT_MISMATCH', `ONNX gave ${onnx.length} outputs, TensorFlow.js ${tfjs.length}`);
  let maxAbsDiff = 0;
  let maxScaledDiff = 0;
  for (let i = 0; i < tfjs.length; i++) {
    const a = tfjs[i] as number;
    const d = Math.abs((onnx[i] as number) - a);
    if (!(d <= maxAbsDiff)) maxAbsDiff = d; // NaN propagates
    const scaled = d / Math.max(1, Math.abs(a));
    if (!(scaled <= maxScaledDiff)) maxScaledDiff = scaled;
  }
  const parity = { rows: tfjs.length, maxAbsDiff, maxScaledDiff, tolerance };
  if (!(maxScaledDiff <= tolerance))
    throw new RheoError(
      'EXPORT_MISMATCH',
      `the ONNX export differs from TensorFlow.js by up to ${maxScaledDiff.toExponential(2)} (tolerance ${tolerance}) on ${tfjs.length} rows`,
      { details: { ...parity } },
    );
  return parity;
}
