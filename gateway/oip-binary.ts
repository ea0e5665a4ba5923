/**
 * The Open Inference Protocol's binary tensor data extension (as Triton and its clients speak it),
 * as pure functions over bytes, so the framing is tested apart from HTTP:
 *
 * - **Request.** With an `Inference-Header-Content-Length: N` header, the body's first N bytes are
 *   the JSON inference header and the rest is raw tensor data: the inputs whose
 *   `parameters.binary_data_size` is set, one after another in the header's input order, each
 *   exactly that many bytes. Without the header the whole body is the JSON.
 * - **Tensor bytes.** Little-endian, row-major; the element count is the product of the shape.
 *   BYTES elements are each a 4-byte little-endian length and that many bytes (UTF-8 here).
 * - **Response.** Outputs chosen as binary lose `data` and get `parameters.binary_data_size`; their
 *   bytes follow the JSON in output order, and the JSON's length goes in the response's
 *   `Inference-Header-Content-Length`.
 *
 * Every malformed frame (header length past the body, sizes that do not fit a datatype and shape,
 * bytes no input claims, an input with both or neither of `data` and `binary_data_size`) is a
 * `BAD_REQUEST` saying which input and which sizes; nothing here throws anything else on any input.
 */
import { RheoError } from '../kernel/errors.ts';

export type TensorValue = number | boolean | string;

export interface RequestTensor {
  name: string;
  shape: number[];
  datatype: string;
  data?: unknown[];
  parameters?: { binary_data_size?: unknown; [key: string]: unknown };
}

export interface ResponseTensor {
  name: string;
  shape: number[];
  datatype: string;
  data: TensorValue[];
}

/** Bytes per element of each fixed-size datatype (BYTES is variable). */
export const ELEMENT_BYTES: Readonly<Record<string, number>> = {
  BOOL: 1,
  UINT8: 1,
  UINT16: 2,
  UINT32: 4,
  UINT64: 8,
  INT8: 1,
  INT16: 2,
  INT32: 4,
  INT64: 8,
  FP16: 2,
  BF16: 2,
  FP32: 4,
  FP64: 8,
};

const bad = (message: string) => new RheoError('BAD_REQUEST', message);

/** Splits a request body into its JSON header text and the binary tensor data after it. */
export function splitInferBody(body: Buffer, headerLength: string | string[] | undefined): { json: Buffer; binary: Buffer } {
  if (headerLength === undefined) return { json: body, binary: body.subarray(body.length) };
  const text = Array.isArray(headerLength) ? headerLength.join(',') : headerLength.trim();
  if (!/^\d{1,15}$/.test(text))
    throw bad(`Inference-Header-Content-Length must be a byte count, got ${JSON.stringify(text.slice(0, 40))}`);
  const n = Number(text);
  if (n === 0) throw bad('Inference-Header-Content-Length is 0: the body must start with the JSON inference header');
  if (n > body.length) throw bad(`Inference-Header-Content-Length ${n} is larger than the body (${body.length} bytes)`);
  return { json: body.subarray(0, n), binary: body.subarray(n) };
}

/** The element count of a shape (its product), refusing shapes that are not lists of non-negative integers. */
export function elementCount(name: string, shape: readonly number[]): number {
  let count = 1;
  for (const d of shape) {
    if (!Number.isSafeInteger(d) || d < 0) throw bad(`input ${name}: shape [${shape.join(', ')}] is not a list of sizes`);
    count *= d;
    if (count > Number.MAX_SAFE_INTEGER) throw bad(`input ${name}: shape [${shape.join(', ')}] is too large`);
  }
  return count;
}

/**
 * Gives every input with `parameters.binary_data_size` its `data`, decoded from `binary` in input
 * order; returns new input objects (the header is not changed). Every byte must be claimed.
 */
export function bindBinaryInputs(inputs: readonly RequestTensor[], binary: Buffer): RequestTensor[] {
  let offset = 0;
  const bound = inputs.map((input): RequestTensor => {
    const size = input.parameters?.binary_data_size;
    if (size === undefined) {
      if (input.data === undefined) throw bad(`input ${input.name} has neither data nor parameters.binary_data_size`);
      return input;
    }
    if (input.data !== undefined) throw bad(`input ${input.name} has both data and parameters.binary_data_size`);
    if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0)
      throw bad(`input ${input.name}: parameters.binary_data_size must be a byte count, got ${JSON.stringify(size)}`);
    if (offset + size > binary.length)
      throw bad(
        `input ${input.name}: binary_data_size ${size} at byte ${offset} runs past the ${binary.length} bytes of binary data after the header`,
      );
    const data = decodeTensor(input.name, input.datatype, input.shape, binary.subarray(offset, offset + size));
    offset += size;
    return { ...input, data };
  });
  if (offset !== binary.length)
    throw bad(`${binary.length - offset} bytes of binary data after the header are not claimed by any input's binary_data_size`);
  return bound;
}

/** A tensor's values from its raw bytes; the byte count must be exactly what the datatype and shape need. */
export function decodeTensor(name: string, datatype: string, shape: readonly number[], bytes: Buffer): TensorValue[] {
  const count = elementCount(name, shape);
  if (datatype === 'BYTES') return decodeBytesTensor(name, shape, count, bytes);
  const size = ELEMENT_BYTES[datatype];
  if (size === undefined) throw bad(`input ${name}: datatype ${JSON.stringify(datatype)} is not an inference datatype`);
  if (bytes.length !== count * size)
    throw bad(
      `input ${name}: ${bytes.length} bytes do not hold shape [${shape.join(', ')}] of ${datatype} (${count} × ${size} = ${count * size} bytes)`,
    );
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  const read = READERS[datatype] as (view: DataView, at: number) => TensorValue;
  const out: TensorValue[] = new Array(count);
  for (let i = 0; i < count; i++) out[i] = read(view, i * size);
  return out;
}

function decodeBytesTensor(name: string, shape: readonly number[], count: number, bytes: Buffer): string[] {
  const out: string[] = [];
  let at = 0;
  while (at < bytes.length) {
    if (out.length === count) break;
    if (at + 4 > bytes.length) throw bad(`input ${name}: BYTES element ${out.length} has a truncated 4-byte length`);
    const length = bytes.readUInt32LE(at);
    if (at + 4 + length > bytes.length)
      throw bad(`input ${name}: BYTES element ${out.length} claims ${length} bytes but ${bytes.length - at - 4} remain`);
    out.push(bytes.toString('utf8', at + 4, at + 4 + length));
    at += 4 + length;
  }
  if (out.length !== count || at !== bytes.length)
    throw bad(
      `input ${name}: ${bytes.length} bytes of BYTES do not hold shape [${shape.join(', ')}] (${count} length-prefixed elements)`,
    );
  return out;
}

const READERS: Readonly<Record<string, (view: DataView, at: number) => TensorValue>> = {
  BOOL: (v, at) => v.getUint8(at) !== 0,
  UINT8: (v, at) => v.getUint8(at),
  UINT16: (v, at) => v.getUint16(at, true),
  UINT32: (v, at) => v.getUint32(at, true),
  UINT64: (v, at) => Number(v.getBigUint64(at, true)),
  INT8: (v, at) => v.getInt8(at),
  INT16: (v, at) => v.getInt16(at, true),
  INT32: (v, at) => v.getInt32(at, true),
  INT64: (v, at) => Number(v.getBigInt64(at, true)),
  FP16: (v, at) => halfToNumber(v.getUint16(at, true)),
  BF16: (v, at) => {
    const f = new DataView(new ArrayBuffer(4));
    f.setUint32(0, v.getUint16(at, true) << 16);
    return f.getFloat32(0);
  },
  FP32: (v, at) => v.getFloat32(at, true),
  FP64: (v, at) => v.getFloat64(at, true),
};

/** IEEE 754 binary16 to a number. */
function halfToNumber(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exponent = (h >> 10) & 0x1f;
  const fraction = h & 0x3ff;
  if (exponent === 0) return sign * 2 ** -14 * (fraction / 1024);
  if (exponent === 0x1f) return fraction ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * 2 ** (exponent - 15) * (1 + fraction / 1024);
}

/** The raw bytes of a tensor's values (the inverse of `decodeTensor`; FP16 and BF16 are not written). */
export function encodeTensor(datatype: string, values: readonly TensorValue[]): Buffer {
  if (datatype === 'BYTES') {
    const parts = values.map((v) => Buffer.from(String(v), 'utf8'));
    const out = Buffer.alloc(parts.reduce((sum, p) => sum + 4 + p.length, 0));
    let at = 0;
    for (const p of parts) {
      out.writeUInt32LE(p.length, at);
      p.copy(out, at + 4);
      at += 4 + p.length;
    }
    return out;
  }
  const size = ELEMENT_BYTES[datatype];
  const write = WRITERS[datatype];
  if (size === undefined || !write) throw new RheoError('PROCESSING_FAILED', `cannot write ${datatype} tensors`);
  const out = Buffer.alloc(values.length * size);
  const view = new DataView(out.buffer, out.byteOffset, out.length);
  for (let i = 0; i < values.length; i++) write(view, i * size, values[i] as TensorValue);
  return out;
}

const WRITERS: Readonly<Record<string, (view: DataView, at: number, value: TensorValue) => void>> = {
  BOOL: (v, at, x) => v.setUint8(at, x ? 1 : 0),
  UINT8: (v, at, x) => v.setUint8(at, Number(x)),
  UINT16: (v, at, x) => v.setUint16(at, Number(x), true),
  UINT32: (v, at, x) => v.setUint32(at, Number(x), true),
  UINT64: (v, at, x) => v.setBigUint64(at, BigInt(Math.trunc(Number(x))), true),
  INT8: (v, at, x) => v.setInt8(at, Number(x)),
  INT16: (v, at, x) => v.setInt16(at, Number(x), true),
  INT32: (v, at, x) => v.setInt32(at, Number(x), true),
  INT64: (v, at, x) => v.setBigInt64(at, BigInt(Math.trunc(Number(x))), true),
  FP32: (v, at, x) => v.setFloat32(at, Number(x), true),
  FP64: (v, at, x) => v.setFloat64(at, Number(x), true),
};

/**
 * A response body: JSON when no output is binary; otherwise the JSON header (binary outputs carry
 * `parameters.binary_data_size` instead of `data`) followed by their bytes, and its length.
 */
export function serializeInferResponse(
  response: Record<string, unknown> & { outputs: ResponseTensor[] },
  binary: (output: ResponseTensor) => boolean,
): { body: Buffer; headerLength: number } | { json: Record<string, unknown> } {
  if (!response.outputs.some(binary)) return { json: response };
  const parts: Buffer[] = [];
  const outputs = response.outputs.map((output) => {
    if (!binary(output)) return output;
    const bytes = encodeTensor(output.datatype, output.data);
    parts.push(bytes);
    const { data: _data, ...rest } = output;
    return { ...rest, parameters: { binary_data_size: bytes.length } };
  });
  const header = Buffer.from(JSON.stringify({ ...response, outputs }), 'utf8');
  return { body: Buffer.concat([header, ...parts]), headerLength: header.length };
}

/** The inverse of `serializeInferResponse`, as a client reads it (for tests and tools). */
export function parseInferResponse(body: Buffer, headerLength: number | undefined): Record<string, unknown> {
  const { json, binary } = splitInferBody(body, headerLength === undefined ? undefined : String(headerLength));
  const response = JSON.parse(json.toString('utf8')) as { outputs?: Array<RequestTensor & { data?: unknown[] }> };
  if (response.outputs) response.outputs = bindBinaryInputs(response.outputs, binary);
  return response;
}
