import { describe, expect, it } from 'vitest';
import { SchemaDecodeError } from '../../../schemas/errors.ts';
import { frame, HEADER_SIZE, MAX_SCHEMA_ID, peekSchemaId, unframe } from '../../../schemas/framing.ts';

function decodeFailure(bytes: Uint8Array): SchemaDecodeError {
  try {
    unframe(bytes);
  } catch (error) {
    if (error instanceof SchemaDecodeError) return error;
    throw error;
  }
  throw new Error('unframe accepted the bytes');
}

describe('frame', () => {
  it('writes magic byte 0, the id as 4 big-endian bytes, then the body', () => {
    expect([...frame(0x01020304, Buffer.from([0xaa, 0xbb]))]).toEqual([0, 1, 2, 3, 4, 0xaa, 0xbb]);
    expect([...frame(1, new Uint8Array())]).toEqual([0, 0, 0, 0, 1]);
  });

  it('refuses ids the 4-byte signed header cannot carry', () => {
    for (const bad of [-1, 1.5, MAX_SCHEMA_ID + 1, Number.NaN]) expect(() => frame(bad, Buffer.alloc(0))).toThrow(RangeError);
    expect(unframe(frame(MAX_SCHEMA_ID, Buffer.alloc(0))).schemaId).toBe(MAX_SCHEMA_ID);
  });
});

describe('unframe', () => {
  it('inverts frame, returning a view on the body', () => {
    const body = Buffer.from('avro body');
    const framed = frame(4242, body);
    const out = unframe(framed);
    expect(out.schemaId).toBe(4242);
    expect(out.body.equals(body)).toBe(true);
    expect(out.body.buffer).toBe(framed.buffer);
  });

  it('accepts a plain Uint8Array and an empty body', () => {
    const bytes = new Uint8Array([0, 0, 0, 1, 0]);
    expect(unframe(bytes.subarray(0, HEADER_SIZE))).toMatchObject({ schemaId: 256 });
    expect(unframe(bytes.subarray(0, HEADER_SIZE)).body.length).toBe(0);
  });

  it('reports an unknown magic byte, naming the byte', () => {
    const error = decodeFailure(Buffer.from([1, 0, 0, 0, 1, 2]));
    expect(error.reason).toBe('UNKNOWN_MAGIC_BYTE');
    expect(error.code).toBe('SCHEMA_DECODE_FAILED');
    expect(error.retriable).toBe(false);
    expect(error.message).toContain('0x01');
    expect(decodeFailure(Buffer.from('{"json":true}')).reason).toBe('UNKNOWN_MAGIC_BYTE');
  });

  it('reports empty values and values shorter than the header as truncated', () => {
    expect(decodeFailure(Buffer.alloc(0)).reason).toBe('TRUNCATED');
    expect(decodeFailure(Buffer.from([0, 0, 1])).reason).toBe('TRUNCATED');
  });

  it('reports a negative id as unknown', () => {
    const error = decodeFailure(Buffer.from([0, 0xff, 0xff, 0xff, 0xff]));
    expect(error.reason).toBe('UNKNOWN_SCHEMA_ID');
    expect(error.schemaId).toBe(-1);
  });
});

describe('peekSchemaId', () => {
  it('reads the id without throwing', () => {
    expect(peekSchemaId(frame(9, Buffer.from([1])))).toBe(9);
    expect(peekSchemaId(Buffer.from([1, 0, 0, 0, 9]))).toBeUndefined();
    expect(peekSchemaId(Buffer.from([0, 0]))).toBeUndefined();
  });
});
