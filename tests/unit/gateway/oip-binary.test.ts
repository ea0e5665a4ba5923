/** The binary tensor data extension's framing: split, decode, encode, bind and serialize, round trips and malformed frames. */
import { describe, expect, it } from 'vitest';
import {
  bindBinaryInputs,
  decodeTensor,
  encodeTensor,
  parseInferResponse,
  type RequestTensor,
  serializeInferResponse,
  splitInferBody,
} from '../../../gateway/oip-binary.ts';
import { RheoError } from '../../../kernel/errors.ts';

/** The RheoError `fn` throws (it must throw one). */
function refusal(fn: () => unknown): RheoError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(RheoError);
    return error as RheoError;
  }
  throw new Error('expected a refusal');
}

const f32 = (...values: number[]) => Buffer.from(new Float32Array(values).buffer);

describe('splitInferBody', () => {
  it('is all JSON without the header, and JSON then bytes with it', () => {
    const json = Buffer.from('{"inputs":[]}');
    expect(splitInferBody(json, undefined)).toEqual({ json, binary: Buffer.alloc(0) });
    const body = Buffer.concat([json, Buffer.from([1, 2, 3])]);
    const { json: head, binary } = splitInferBody(body, String(json.length));
    expect(head.toString()).toBe('{"inputs":[]}');
    expect([...binary]).toEqual([1, 2, 3]);
    expect(splitInferBody(json, ` ${json.length} `).binary.length).toBe(0);
  });

  it('refuses a header length past the body, zero, or not a number', () => {
    const body = Buffer.from('{"inputs":[]}');
    expect(refusal(() => splitInferBody(body, '14')).message).toBe(
      'Inference-Header-Content-Length 14 is larger than the body (13 bytes)',
    );
    for (const bad of ['0', '-1', '1.5', 'abc', '', '1e3', '99999999999999999999'])
      expect(refusal(() => splitInferBody(body, bad)).code, bad).toBe('BAD_REQUEST');
    expect(refusal(() => splitInferBody(body, ['5', '6'])).code).toBe('BAD_REQUEST');
  });
});

describe('tensor bytes', () => {
  it('round-trips every writable datatype, little-endian and row-major', () => {
    const cases: Array<[string, number[] | boolean[] | string[]]> = [
      ['FP32', [0.5, -1.25, 2 ** 40, 0]],
      ['FP64', [0.1, -2.000000001, 1e300, 0]],
      ['INT64', [0, -1, 2 ** 40, 7]],
      ['INT32', [0, -1, 2 ** 30, 7]],
      ['INT16', [0, -1, 300, 7]],
      ['INT8', [0, -1, 100, 7]],
      ['UINT8', [0, 255, 1, 7]],
      ['UINT16', [0, 65535, 1, 7]],
      ['UINT32', [0, 2 ** 32 - 1, 1, 7]],
      ['UINT64', [0, 2 ** 50, 1, 7]],
      ['BOOL', [true, false, false, true]],
      ['BYTES', ['card-1', '', 'ünïcode', 'x'.repeat(300)]],
    ];
    for (const [datatype, values] of cases) {
      const bytes = encodeTensor(datatype, values);
      expect(decodeTensor('t', datatype, [2, 2], bytes), datatype).toEqual(values);
    }
    // Little-endian on the wire, whatever the host.
    expect([...encodeTensor('INT32', [1])]).toEqual([1, 0, 0, 0]);
    expect([...encodeTensor('BYTES', ['ab'])]).toEqual([2, 0, 0, 0, 97, 98]);
    expect(decodeTensor('t', 'FP32', [2], f32(1.5, -2))).toEqual([1.5, -2]);
  });

  it('reads FP16 and BF16', () => {
    const half = Buffer.from(new Uint16Array([0x3c00, 0xc000, 0x7bff, 0x0001, 0x7c00]).buffer);
    expect(decodeTensor('t', 'FP16', [5], half)).toEqual([1, -2, 65504, 2 ** -24, Number.POSITIVE_INFINITY]);
    const bf = Buffer.from(new Uint16Array([0x3f80, 0xc040]).buffer);
    expect(decodeTensor('t', 'BF16', [2], bf)).toEqual([1, -3]);
  });

  it('refuses bytes that do not fit the datatype and shape, naming the input and the sizes', () => {
    expect(refusal(() => decodeTensor('amount', 'FP32', [1, 4], f32(1, 2, 3))).message).toBe(
      'input amount: 12 bytes do not hold shape [1, 4] of FP32 (4 × 4 = 16 bytes)',
    );
    expect(refusal(() => decodeTensor('x', 'FP64', [2], f32(1, 2, 3))).code).toBe('BAD_REQUEST');
    expect(refusal(() => decodeTensor('x', 'COMPLEX', [1], f32(1))).message).toContain('not an inference datatype');
    expect(refusal(() => decodeTensor('x', 'FP32', [-1, 4], f32(1))).message).toContain('is not a list of sizes');
    // BYTES: truncated length, a length past the end, too few or too many elements.
    expect(refusal(() => decodeTensor('id', 'BYTES', [1], Buffer.from([1, 0]))).message).toContain('truncated');
    expect(refusal(() => decodeTensor('id', 'BYTES', [1], Buffer.from([9, 0, 0, 0, 97]))).message).toContain(
      'claims 9 bytes but 1 remain',
    );
    expect(refusal(() => decodeTensor('id', 'BYTES', [2], encodeTensor('BYTES', ['a']))).code).toBe('BAD_REQUEST');
    expect(refusal(() => decodeTensor('id', 'BYTES', [1], encodeTensor('BYTES', ['a', 'b']))).code).toBe('BAD_REQUEST');
  });
});

describe('bindBinaryInputs', () => {
  const input = (name: string, datatype: string, shape: number[], size?: number, data?: unknown[]): RequestTensor => ({
    name,
    datatype,
    shape,
    ...(data ? { data } : {}),
    ...(size === undefined ? {} : { parameters: { binary_data_size: size } }),
  });

  it('takes the binary inputs in header order, leaving JSON ones as they are', () => {
    const ids = encodeTensor('BYTES', ['card-1', 'card-2']);
    const binary = Buffer.concat([f32(1, 2, 3, 4, 5, 6), ids]);
    const inputs = [
      input('features', 'FP32', [2, 3], 24),
      input('extra', 'INT32', [1], undefined, [7]),
      input('entity_id', 'BYTES', [2], ids.length),
    ];
    const bound = bindBinaryInputs(inputs, binary);
    expect(bound.map((i) => i.data)).toEqual([[1, 2, 3, 4, 5, 6], [7], ['card-1', 'card-2']]);
    expect(inputs[0]?.data).toBeUndefined();
  });

  it('refuses sizes past the end, unclaimed bytes, and inputs with both or neither of data and a size', () => {
    expect(refusal(() => bindBinaryInputs([input('a', 'FP32', [2], 8)], f32(1))).message).toBe(
      'input a: binary_data_size 8 at byte 0 runs past the 4 bytes of binary data after the header',
    );
    expect(refusal(() => bindBinaryInputs([input('a', 'FP32', [1], 4)], f32(1, 2))).message).toBe(
      "4 bytes of binary data after the header are not claimed by any input's binary_data_size",
    );
    expect(refusal(() => bindBinaryInputs([input('a', 'FP32', [1])], Buffer.alloc(0))).message).toBe(
      'input a has neither data nor parameters.binary_data_size',
    );
    expect(refusal(() => bindBinaryInputs([input('a', 'FP32', [1], 4, [1])], f32(1))).message).toBe(
      'input a has both data and parameters.binary_data_size',
    );
    expect(refusal(() => bindBinaryInputs([input('a', 'FP32', [1], -4)], f32(1))).code).toBe('BAD_REQUEST');
    // A size that fits the bytes but not the shape is the datatype check's refusal.
    expect(refusal(() => bindBinaryInputs([input('a', 'FP32', [2], 4)], f32(1))).message).toContain('do not hold shape [2]');
  });
});

describe('responses', () => {
  const response = {
    model_name: 'm',
    id: 'r',
    outputs: [
      { name: 'probabilities', datatype: 'FP32', shape: [2, 2], data: [0.25, 0.75, 0.5, 0.5] },
      { name: 'score', datatype: 'FP32', shape: [2], data: [0.75, 0.5] },
    ],
  };

  it('stays JSON when no output is binary', () => {
    expect(serializeInferResponse(response, () => false)).toEqual({ json: response });
  });

  it('puts binary outputs after the JSON header, and a client reads back the same tensors', () => {
    const framed = serializeInferResponse(response, (o) => o.name === 'probabilities');
    if (!('body' in framed)) throw new Error('expected a binary response');
    const header = JSON.parse(framed.body.subarray(0, framed.headerLength).toString());
    expect(header.outputs[0]).toEqual({
      name: 'probabilities',
      datatype: 'FP32',
      shape: [2, 2],
      parameters: { binary_data_size: 16 },
    });
    expect(header.outputs[1].data).toEqual([0.75, 0.5]);
    expect(framed.body.length).toBe(framed.headerLength + 16);
    expect(parseInferResponse(framed.body, framed.headerLength)).toMatchObject({ outputs: response.outputs });
  });
});

describe('malformed frames never crash', () => {
  it('answers random bodies, header lengths and sizes with BAD_REQUEST or a result', () => {
    let seed = 42;
    const random = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const datatypes = ['FP32', 'FP64', 'INT64', 'BOOL', 'BYTES', 'FP16', 'UINT8', 'NOPE'];
    for (let i = 0; i < 2_000; i++) {
      const body = Buffer.from(Array.from({ length: Math.floor(random() * 64) }, () => Math.floor(random() * 256)));
      const headerLength = random() < 0.2 ? undefined : String(Math.floor(random() * 80));
      const inputs: RequestTensor[] = Array.from({ length: 1 + Math.floor(random() * 3) }, (_, k) => ({
        name: `in${k}`,
        datatype: datatypes[Math.floor(random() * datatypes.length)] as string,
        shape: [Math.floor(random() * 5), Math.floor(random() * 5)],
        parameters: { binary_data_size: Math.floor(random() * 40) },
      }));
      try {
        const { binary } = splitInferBody(body, headerLength);
        bindBinaryInputs(inputs, binary);
      } catch (error) {
        expect(error).toBeInstanceOf(RheoError);
        expect((error as RheoError).code).toBe('BAD_REQUEST');
      }
    }
  });
});
