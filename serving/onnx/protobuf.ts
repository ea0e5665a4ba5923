/**
 * The few protobuf wire-format primitives an ONNX ModelProto needs (proto2, no groups): varints,
 * length-delimited fields, fixed32 floats. A writer builds messages bottom-up; a reader walks
 * fields back, which tests use to check what the builder wrote without any protobuf library.
 */

const WIRE_VARINT = 0;
const WIRE_FIXED64 = 1;
const WIRE_BYTES = 2;
const WIRE_FIXED32 = 5;

const encoder = new TextEncoder();

/** An append-only protobuf message. Field order is the caller's; repeated fields are written one by one. */
export class ProtoWriter {
  readonly #chunks: Uint8Array[] = [];
  #length = 0;

  #push(bytes: Uint8Array): void {
    this.#chunks.push(bytes);
    this.#length += bytes.length;
  }

  #tag(field: number, wire: number): void {
    this.#push(varint(BigInt((field << 3) | wire)));
  }

  /** int32/int64/enum/bool as a varint (negative numbers as 10-byte two's complement, per the spec). */
  int(field: number, value: number | bigint | boolean): this {
    this.#tag(field, WIRE_VARINT);
    this.#push(varint(BigInt.asUintN(64, BigInt(typeof value === 'boolean' ? Number(value) : value))));
    return this;
  }

  float(field: number, value: number): this {
    this.#tag(field, WIRE_FIXED32);
    const bytes = new Uint8Array(4);
    new DataView(bytes.buffer).setFloat32(0, value, true);
    this.#push(bytes);
    return this;
  }

  bytes(field: number, value: Uint8Array): this {
    this.#tag(field, WIRE_BYTES);
    this.#push(varint(BigInt(value.length)));
    this.#push(value);
    return this;
  }

  string(field: number, value: string): this {
    return this.bytes(field, encoder.encode(value));
  }

  message(field: number, message: ProtoWriter): this {
    return this.bytes(field, message.finish());
  }

  /** A packed repeated varint field (`[packed = true]` semantics; proto2 parsers accept both forms). */
  packedInts(field: number, values: ReadonlyArray<number | bigint>): this {
    const inner = new ProtoWriter();
    for (const v of values) inner.#push(varint(BigInt.asUintN(64, BigInt(v))));
    return this.bytes(field, inner.finish());
  }

  packedFloats(field: number, values: ArrayLike<number>): this {
    const bytes = new Uint8Array(values.length * 4);
    const view = new DataView(bytes.buffer);
    for (let i = 0; i < values.length; i++) view.setFloat32(i * 4, values[i] as number, true);
    return this.bytes(field, bytes);
  }

  finish(): Uint8Array {
    const out = new Uint8Array(this.#length);
    let offset = 0;
    for (const chunk of this.#chunks) {
      out.set(chunk, offset);
      offset += chunk.length;
    }
    return out;
  }
}

function varint(value: bigint): Uint8Array {
  const out: number[] = [];
  let v = value;
  do {
    let byte = Number(v & 0x7fn);
    v >>= 7n;
    if (v > 0n) byte |= 0x80;
    out.push(byte);
  } while (v > 0n);
  return Uint8Array.from(out);
}

export interface ProtoField {
  field: number;
  wire: number;
  /** Varint and fixed64 values. */
  int?: bigint;
  /** Length-delimited payload. */
  bytes?: Uint8Array;
  /** Fixed32 payload read as a little-endian float. */
  float?: number;
}

/** Splits one message into its fields, in wire order. Throws on truncated or malformed input. */
export function readFields(bytes: Uint8Array): ProtoField[] {
  const fields: ProtoField[] = [];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let pos = 0;
  const readVarint = (): bigint => {
    let result = 0n;
    for (let shift = 0n; ; shift += 7n) {
      if (pos >= bytes.length) throw new Error('truncated varint');
      const byte = bytes[pos++] as number;
      result |= BigInt(byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) return result;
      if (shift > 63n) throw new Error('varint too long');
    }
  };
  while (pos < bytes.length) {
    const key = Number(readVarint());
    const field = key >>> 3;
    const wire = key & 7;
    if (wire === WIRE_VARINT) fields.push({ field, wire, int: readVarint() });
    else if (wire === WIRE_FIXED64) {
      if (pos + 8 > bytes.length) throw new Error('truncated fixed64');
      fields.push({ field, wire, int: view.getBigUint64(pos, true) });
      pos += 8;
    } else if (wire === WIRE_BYTES) {
      const length = Number(readVarint());
      if (pos + length > bytes.length) throw new Error('truncated length-delimited field');
      fields.push({ field, wire, bytes: bytes.subarray(pos, pos + length) });
      pos += length;
    } else if (wire === WIRE_FIXED32) {
      if (pos + 4 > bytes.length) throw new Error('truncated fixed32');
      fields.push({ field, wire, float: view.getFloat32(pos, true) });
      pos += 4;
    } else throw new Error(`unsupported wire type ${wire}`);
  }
  return fields;
}
