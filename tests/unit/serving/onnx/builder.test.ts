import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { logisticRegressionModel, OnnxGraph, tabularModel } from '../../../../serving/onnx/builder.ts';
import { ProtoWriter, readFields } from '../../../../serving/onnx/protobuf.ts';

const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));

async function run(bytes: Uint8Array, input: number[][], inputName = 'features') {
  const session = await ort.InferenceSession.create(bytes);
  try {
    const rows = input.length;
    const width = input[0]?.length ?? 0;
    const result = await session.run({ [inputName]: new ort.Tensor('float32', Float32Array.from(input.flat()), [rows, width]) });
    return { session, result };
  } finally {
    await session.release();
  }
}

describe('protobuf writer', () => {
  it('writes varints, negative ints, floats and nested messages that read back', () => {
    const inner = new ProtoWriter().string(1, 'x').float(2, 1.5);
    const bytes = new ProtoWriter().int(1, 300).int(2, -1).message(3, inner).packedInts(4, [1, 2, 300]).finish();
    expect(Buffer.from(bytes.subarray(0, 3)).toString('hex')).toBe('08ac02'); // field 1, varint 300
    const fields = readFields(bytes);
    expect(fields[0]).toMatchObject({ field: 1, int: 300n });
    expect(fields[1]).toMatchObject({ field: 2, int: 2n ** 64n - 1n });
    expect(readFields(fields[2]?.bytes as Uint8Array)).toMatchObject([{ field: 1 }, { field: 2, float: 1.5 }]);
    expect(() => readFields(bytes.subarray(0, bytes.length - 1))).toThrow(/truncated/);
  });
});

describe('ONNX builder', () => {
  it('writes a ModelProto with IR version, opset and metadata in the right fields', () => {
    const bytes = logisticRegressionModel({ name: 'lr', weights: [1, 2], bias: 0, metadata: { rheo_model: 'm' } });
    const fields = readFields(bytes);
    expect(fields.find((f) => f.field === 1)?.int).toBe(8n);
    const opset = readFields(fields.find((f) => f.field === 8)?.bytes as Uint8Array);
    expect(opset.find((f) => f.field === 2)?.int).toBe(17n);
    const meta = readFields(fields.find((f) => f.field === 14)?.bytes as Uint8Array).map((f) =>
      new TextDecoder().decode(f.bytes),
    );
    expect(meta).toEqual(['rheo_model', 'm']);
  });

  it('logistic regression with normalisation loads and matches a hand calculation', async () => {
    const weights = [0.5, -1, 2, 0.1];
    const mean = [1, 2, 3, 4];
    const scale = [2, 4, 0, 8]; // a zero scale is replaced by 1
    const bytes = logisticRegressionModel({ name: 'lr', weights, bias: -0.3, normalisation: { mean, scale } });
    const x = [
      [3, 4, 5, 6],
      [0, 0, 0, 0],
    ];
    const { session, result } = await run(bytes, x);
    expect(session.inputNames).toEqual(['features']);
    expect(session.outputNames).toEqual(['probability']);
    // Row 0 by hand: ((3-1)/2)·0.5 + ((4-2)/4)·(-1) + ((5-3)/1)·2 + ((6-4)/8)·0.1 − 0.3 = 0.5 − 0.5 + 4 + 0.025 − 0.3 = 3.725
    const expected = [sigmoid(3.725), sigmoid(-0.5 * 0.5 + 0.5 * 1 + -3 * 2 + -0.5 * 0.1 - 0.3)];
    const got = Array.from(result.probability?.data as Float32Array);
    expect(got[0]).toBeCloseTo(expected[0] as number, 6);
    expect(got[1]).toBeCloseTo(expected[1] as number, 6);
  });

  it('an MLP with Relu, Tanh and Softmax computes what the matrices say', async () => {
    const bytes = tabularModel({
      name: 'mlp',
      features: 2,
      layers: [
        {
          weights: [
            [1, -1, 0.5],
            [2, 1, -1],
          ],
          bias: [0, 0.5, 0],
          activation: 'relu',
        },
        { weights: [[1], [1], [1]], bias: [-1], activation: 'tanh' },
        { weights: [[1, -1]], bias: [0, 0], activation: 'softmax' },
      ],
      outputName: 'probs',
    });
    const { result } = await run(bytes, [[1, 2]]);
    // h1 = relu([1+4, -1+2+0.5, 0.5-2]) = [5, 1.5, 0]; h2 = tanh(6.5 - 1) = tanh(5.5); softmax([t, -t]).
    const t = Math.tanh(5.5);
    const p0 = Math.exp(t) / (Math.exp(t) + Math.exp(-t));
    const probs = Array.from(result.probs?.data as Float32Array);
    expect(probs[0]).toBeCloseTo(p0, 6);
    expect(probs[1]).toBeCloseTo(1 - p0, 6);
  });

  it('graphs with MatMul/Add/Log/Less/Where/Cast compute a known signal', async () => {
    // The demo generator's signal on two inputs: z = 0.9·log(1 + amount/50) + 1.1·(hour < 6) − 4.2.
    const g = new OnnxGraph('signal');
    const x = g.input('x', ['batch', 2]);
    const amount = g.matMul(x, g.constant('pick_amount', [1 / 50, 0], [2, 1]));
    const hour = g.matMul(x, g.constant('pick_hour', [0, 1], [2, 1]));
    const logAmount = g.log(g.add(amount, g.constant('one', [1])));
    const night = g.cast(g.less(hour, g.constant('six', [6])), 'float32');
    const z = g.add(
      g.add(g.mul(logAmount, g.constant('w_amount', [0.9])), g.mul(night, g.constant('w_night', [1.1]))),
      g.constant('b', [-4.2]),
    );
    const clamped = g.where(g.less(z, g.constant('floor', [-10])), g.constant('minus_ten', [-10]), z);
    g.output(g.sigmoid(clamped), 'p', ['batch', 1]);
    const { result } = await run(
      g.toModel(),
      [
        [100, 3],
        [20, 14],
      ],
      'x',
    );
    const expected = (amount: number, h: number) => sigmoid(0.9 * Math.log1p(amount / 50) + 1.1 * (h < 6 ? 1 : 0) - 4.2);
    const p = Array.from(result.p?.data as Float32Array);
    expect(p[0]).toBeCloseTo(expected(100, 3), 6);
    expect(p[1]).toBeCloseTo(expected(20, 14), 6);
  });

  it('refuses shapes that do not fit', () => {
    expect(() =>
      tabularModel({ name: 'x', features: 2, layers: [{ weights: [[1]], bias: [0], activation: 'none' }], outputName: 'y' }),
    ).toThrow(/expects 2 inputs/);
    const g = new OnnxGraph('x');
    g.input('a', [1]);
    expect(() => g.constant('a', [1])).toThrow(/already used/);
    expect(() => g.constant('c', [1, 2], [3])).toThrow(/do not fill/);
  });
});
