/**
 * Input normalisation, fitted on the training split only: per feature, the mean and the standard
 * deviation (population), a zero deviation replaced by 1 so a constant feature passes through
 * centred. The same numbers go into the exported ONNX graph (Sub, Div), so serving feeds raw values.
 */

export interface Normalization {
  mean: number[];
  scale: number[];
}

/** Fits on `rows` rows of a row-major matrix with `width` columns. */
export function fitNormalization(x: Float32Array, rows: number, width: number): Normalization {
  const mean = new Float64Array(width);
  const sq = new Float64Array(width);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < width; c++) mean[c] = (mean[c] as number) + (x[r * width + c] as number);
  }
  for (let c = 0; c < width; c++) mean[c] = rows > 0 ? (mean[c] as number) / rows : 0;
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < width; c++) sq[c] = (sq[c] as number) + ((x[r * width + c] as number) - (mean[c] as number)) ** 2;
  }
  const scale = Array.from(sq, (s) => {
    const sd = rows > 0 ? Math.sqrt(s / rows) : 0;
    return sd > 1e-12 ? sd : 1;
  });
  // Rounded to float32 now, so TensorFlow.js and the ONNX graph use bit-identical constants.
  return { mean: Array.from(Float32Array.from(mean)), scale: Array.from(Float32Array.from(scale)) };
}

/** (x − mean) / scale into a new array, in float32 arithmetic like the graph's Sub and Div. */
export function applyNormalization(x: Float32Array, width: number, n: Normalization): Float32Array {
  const out = new Float32Array(x.length);
  const mean = Float32Array.from(n.mean);
  const scale = Float32Array.from(n.scale);
  for (let i = 0; i < x.length; i++) {
    const c = i % width;
    out[i] = Math.fround(Math.fround((x[i] as number) - (mean[c] as number)) / (scale[c] as number));
  }
  return out;
}

/** Target scaling for regression: the network learns (y − mean) / scale; the graph maps it back (Mul, Add). */
export function fitTarget(y: Float32Array, rows: number): { mean: number; scale: number } {
  const n = fitNormalization(y, rows, 1);
  return { mean: n.mean[0] as number, scale: n.scale[0] as number };
}
