/**
 * The Confluent wire format, with no registry and no Avro: byte 0 is the magic byte 0, bytes 1–4 the
 * schema id as a big-endian signed 32-bit integer, the rest the Avro binary body. Any
 * Confluent-compatible client reads and writes exactly this.
 */
import { SchemaDecodeError } from './errors.ts';

export const MAGIC_BYTE = 0;
export const HEADER_SIZE = 5;
/** Largest id the 4-byte header can carry (Confluent ids are Java ints). */
export const MAX_SCHEMA_ID = 0x7fffffff;

export interface Unframed {
  schemaId: number;
  /** The Avro body; a view on the input, not a copy. */
  body: Buffer;
}

/** Prepends the 5-byte header to an Avro body. */
export function frame(schemaId: number, body: Uint8Array): Buffer {
  if (!Number.isInteger(schemaId) || schemaId < 0 || schemaId > MAX_SCHEMA_ID) {
    throw new RangeError(`schema id must be an integer in [0, ${MAX_SCHEMA_ID}], got ${schemaId}`);
  }
  const out = Buffer.allocUnsafe(HEADER_SIZE + body.length);
  out[0] = MAGIC_BYTE;
  out.writeInt32BE(schemaId, 1);
  out.set(body, HEADER_SIZE);
  return out;
}

/**
 * Splits a framed record into schema id and body. Throws SchemaDecodeError with reason
 * `TRUNCATED` (shorter than the header) or `UNKNOWN_MAGIC_BYTE`. An empty body is framing-wise valid;
 * whether it decodes is the schema's business.
 */
export function unframe(bytes: Uint8Array): Unframed {
  const buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buf.length === 0) throw new SchemaDecodeError('TRUNCATED', 'empty value: no magic byte, no schema id');
  if (buf[0] !== MAGIC_BYTE) {
    throw new SchemaDecodeError(
      'UNKNOWN_MAGIC_BYTE',
      `first byte is 0x${(buf[0] as number).toString(16).padStart(2, '0')}, expected 0x00 (Confluent framing)`,
    );
  }
  if (buf.length < HEADER_SIZE)
    throw new SchemaDecodeError('TRUNCATED', `${buf.length} bytes, shorter than the ${HEADER_SIZE}-byte header`);
  const schemaId = buf.readInt32BE(1);
  if (schemaId < 0) throw new SchemaDecodeError('UNKNOWN_SCHEMA_ID', `negative schema id ${schemaId} in header`, { schemaId });
  return { schemaId, body: buf.subarray(HEADER_SIZE) };
}

/** The schema id of a framed record, or undefined when the bytes are not framed (cheap: no copy, no throw). */
export function peekSchemaId(bytes: Uint8Array): number | undefined {
  if (bytes.length < HEADER_SIZE || bytes[0] !== MAGIC_BYTE) return undefined;
  const id = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).readInt32BE(1);
  return id < 0 ? undefined : id;
}
