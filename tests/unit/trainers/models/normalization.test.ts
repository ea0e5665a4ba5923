import { describe, expect, it } from 'vitest';
import { applyNormalization, fitNormalization, fitTarget } from '../../../../trainers/models/normalization.ts';

describe('normalisation', () => {
  it('fits mean and population deviation per column on the rows given; a constant column gets scale 1', () => {
    // 3 rows × 3 columns; the last is constant.
    const x = Float32Array.from([1, 10, 5, 2, 20, 5, 3, 30, 5]);
    const n = fitNormalization(x, 3, 3);
    expect(n.mean).toEqual([2, 20, 5]);
    expect(n.scale[0]).toBeCloseTo(Math.sqrt(2 / 3), 6);
    expect(n.scale[1]).toBeCloseTo(Math.sqrt(200 / 3), 4);
    expect(n.scale[2]).toBe(1);
    const z = applyNormalization(x, 3, n);
    expect(Array.from(z.subarray(0, 3)).map((v) => Number(v.toFixed(4)))).toEqual([-1.2247, -1.2247, 0]);
    // Centred and scaled: mean 0, deviation 1 on the fitting rows.
    const col0 = [z[0], z[3], z[6]] as number[];
    expect(col0.reduce((a, b) => a + b, 0)).toBeCloseTo(0, 6);
  });

  it('is fitted on the training split only: validation rows do not move it', () => {
    const train = Float32Array.from([0, 2, 4]);
    const n = fitNormalization(train, 3, 1);
    expect(n).toEqual({ mean: [2], scale: [Math.fround(Math.sqrt(8 / 3))] });
    const validation = Float32Array.from([100]);
    expect(applyNormalization(validation, 1, n)[0]).toBeCloseTo((100 - 2) / Math.sqrt(8 / 3), 4);
  });

  it('rounds statistics to float32, so TensorFlow.js and the ONNX graph use identical constants', () => {
    const n = fitNormalization(Float32Array.from([0.1, 0.2, 0.7]), 3, 1);
    expect(n.mean[0]).toBe(Math.fround(n.mean[0] as number));
    expect(n.scale[0]).toBe(Math.fround(n.scale[0] as number));
  });

  it('scales a regression target', () => {
    expect(fitTarget(Float32Array.from([10, 20, 30]), 3).mean).toBe(20);
  });
});
