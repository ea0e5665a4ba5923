import { beforeEach, describe, expect, it } from 'vitest';
import { isRetriable } from '../../../kernel/errors.ts';
import { avroType } from '../../../schemas/avro.ts';
import { encodeFramed, SchemaCodec, subjectFor } from '../../../schemas/codec.ts';
import { CONTRACTS, type Contract, defineContract } from '../../../schemas/contracts.ts';
import {
  SchemaDecodeError,
  SchemaIncompatibleError,
  SchemaRegistryUnavailableError,
  SchemaValidationError,
} from '../../../schemas/errors.ts';
import { FIXTURES } from '../../../schemas/fixtures.ts';
import { frame } from '../../../schemas/framing.ts';
import { InMemorySchemaRegistry } from '../../../schemas/memory-registry.ts';
import type { Prediction } from '../../../schemas/types.generated.ts';

const prediction = FIXTURES.Prediction[0] as Prediction;

const v1 = {
  type: 'record',
  name: 'Reading',
  namespace: 'io.rheo.test',
  doc: 'A reading.',
  fields: [
    { name: 'event_id', type: 'string', doc: 'Id.' },
    { name: 'value', type: 'double', doc: 'Value.' },
  ],
} as const;
const v2 = { ...v1, fields: [...v1.fields, { name: 'unit', type: 'string', default: 'celsius', doc: 'Unit.' }] };
const removedRequired = { ...v1, fields: [v1.fields[0], { name: 'unit', type: 'string', doc: 'Unit, no default.' }] };
const retyped = { ...v1, fields: [v1.fields[0], { name: 'value', type: 'string', doc: 'Value.' }] };

async function failure<T extends Error>(promise: Promise<unknown>, kind: new (...args: never[]) => T): Promise<T> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof kind) return error;
    throw error;
  }
  throw new Error(`expected ${kind.name}`);
}

let registry: InMemorySchemaRegistry;
let codec: SchemaCodec;
let now: number;

beforeEach(() => {
  registry = new InMemorySchemaRegistry({ globalCompatibility: 'NONE', firstId: 100 });
  now = 1_000;
  codec = new SchemaCodec(registry, { now: () => now, unknownIdTtlMs: 5_000 });
});

describe('SchemaCodec.register', () => {
  it('registers a new subject, then sets its compatibility to BACKWARD', async () => {
    const registered = await codec.register('readings-value', v1);
    expect(registered).toEqual({ subject: 'readings-value', id: 100, version: 1, compatibility: 'BACKWARD', created: true });
    expect(await registry.getCompatibility('readings-value')).toBe('BACKWARD');
    expect(registry.calls.indexOf('register readings-value')).toBeLessThan(
      registry.calls.indexOf('setCompatibility readings-value BACKWARD'),
    );
  });

  it('shares one registration among concurrent callers (a registry refuses a second level for a new subject)', async () => {
    const results = await Promise.all([1, 2, 3].map(() => codec.register('readings-value', v1)));
    expect(new Set(results.map((r) => r.id)).size).toBe(1);
    expect(registry.calls.filter((c) => c === 'register readings-value')).toHaveLength(1);
    expect(registry.calls.filter((c) => c === 'setCompatibility readings-value BACKWARD')).toHaveLength(1);
    // Settled registrations are not kept: a later call asks the registry again (and finds the schema).
    expect((await codec.register('readings-value', v1)).created).toBe(false);
  });

  it('is idempotent: the same schema again is found, not re-registered, and keeps its id', async () => {
    const first = await codec.register('readings-value', v1);
    registry.calls.length = 0;
    const again = await codec.register('readings-value', v1);
    expect(again).toEqual({ ...first, created: false });
    expect(registry.calls).not.toContain('register readings-value');
  });

  it('restores the declared level on an existing subject before checking', async () => {
    await codec.register('readings-value', v1);
    await registry.setCompatibility('readings-value', 'NONE');
    await codec.register('readings-value', v2);
    expect(await registry.getCompatibility('readings-value')).toBe('BACKWARD');
  });

  it('registers a compatible change (new field with a default) as the next version with a new id', async () => {
    await codec.register('readings-value', v1);
    const next = await codec.register('readings-value', v2);
    expect(next).toMatchObject({ version: 2, id: 101, created: true });
  });

  it.each([
    ['a required field without default added', removedRequired, /value|unit/],
    ['a field type changed', retyped, /value/],
  ])('refuses %s, naming the subject and the reasons, and registers nothing', async (_, schema, field) => {
    await codec.register('readings-value', v1);
    registry.calls.length = 0;
    const error = await failure(codec.register('readings-value', schema), SchemaIncompatibleError);
    expect(error.code).toBe('SCHEMA_INCOMPATIBLE');
    expect(error.subject).toBe('readings-value');
    expect(error.message).toContain('"readings-value"');
    expect(error.message).toContain('BACKWARD');
    expect(error.reasons.some((r) => r.startsWith('registry:'))).toBe(true);
    expect(error.reasons.some((r) => r.startsWith('avsc:'))).toBe(true);
    expect(error.reasons.join(' ')).toMatch(field);
    expect(registry.calls).not.toContain('register readings-value');
    expect(await registry.versions('readings-value')).toEqual([1]);
  });

  it('checks compatibility without registering', async () => {
    expect(await codec.checkCompatibility('readings-value', v1)).toMatchObject({ compatible: true, latestVersion: undefined });
    await codec.register('readings-value', v1);
    expect(await codec.checkCompatibility('readings-value', v2)).toMatchObject({
      compatible: true,
      latestVersion: 1,
      reasons: [],
    });
    const report = await codec.checkCompatibility('readings-value', retyped);
    expect(report.compatible).toBe(false);
    expect(report.reasons.length).toBeGreaterThan(0);
    expect(await registry.versions('readings-value')).toEqual([1]);
  });

  it('honours FULL_TRANSITIVE when asked: every version must read and be read', async () => {
    await codec.register('t-value', v1, { compatibility: 'FULL_TRANSITIVE' });
    await codec.register('t-value', v2, { compatibility: 'FULL_TRANSITIVE' });
    const withoutDefault = { ...v1, fields: [...v1.fields, { name: 'unit', type: 'string', doc: 'Unit.' }] };
    const error = await failure(
      codec.register('t-value', withoutDefault, { compatibility: 'FULL_TRANSITIVE' }),
      SchemaIncompatibleError,
    );
    expect(error.reasons.join('\n')).toMatch(/version 1/);
  });
});

describe('SchemaCodec encode and decode', () => {
  it('round-trips every contract fixture through the registry', async () => {
    for (const [name, contract] of Object.entries(CONTRACTS)) {
      const bound = await codec.forTopic(`t.${name}`, contract as Contract);
      expect(bound.subject).toBe(`t.${name}-value`);
      for (const fixture of FIXTURES[name as keyof typeof FIXTURES]) {
        const bytes = bound.encode(fixture);
        expect(bytes[0]).toBe(0);
        expect(bytes.readInt32BE(1)).toBe(bound.schemaId);
        expect({ ...((await bound.decode(bytes)) as object) }).toEqual(fixture);
      }
    }
  });

  it('resolves across versions: v1 records read by a v2 reader get defaults, v2 records read by a v1 reader drop new fields', async () => {
    const c1 = defineContract<{ event_id: string; value: number }>(v1);
    const c2 = defineContract<{ event_id: string; value: number; unit: string }>(v2);
    const w1 = await codec.forTopic('readings', c1);
    const w2 = await codec.forTopic('readings', c2);
    expect(w2.schemaId).not.toBe(w1.schemaId);
    const old = w1.encode({ event_id: 'a', value: 21.5 });
    const young = w2.encode({ event_id: 'b', value: 70, unit: 'fahrenheit' });
    expect({ ...(await w2.decode(old)) }).toEqual({ event_id: 'a', value: 21.5, unit: 'celsius' });
    expect({ ...(await w1.decode(young)) }).toEqual({ event_id: 'b', value: 70 });
    const raw = await codec.decode(young);
    expect(raw).toMatchObject({ schemaId: w2.schemaId, writerName: 'io.rheo.test.Reading' });
  });

  it('decodes records written by a producer the codec never saw, fetching the schema once and caching it', async () => {
    const other = new SchemaCodec(registry);
    const { id } = await other.register('readings-value', v1);
    const bytes = encodeFramed(avroType(v1), id, { event_id: 'x', value: 1 });
    registry.calls.length = 0;
    const [a, b] = await Promise.all([codec.decode(bytes), codec.decode(bytes)]);
    await codec.decode(bytes);
    expect(a.value).toEqual(b.value);
    expect(registry.calls.filter((c) => c.startsWith('schemaById'))).toEqual([`schemaById ${id}`]);
  });

  it('encodes by id, fetching the writer schema from the registry', async () => {
    const { id } = await new SchemaCodec(registry).register('readings-value', v1);
    const bytes = await codec.encode(id, { event_id: 'x', value: 2 });
    expect((await codec.decode(bytes)).value).toEqual({ event_id: 'x', value: 2 });
  });

  it('reports the wrong fields of a value, and encodes nothing', async () => {
    const bound = await codec.forTopic('predictions', CONTRACTS.Prediction);
    const bad = { ...prediction, latency_ms: 'fast', variant: 'BOGUS', inputs: { amount: 1n } };
    let error: SchemaValidationError | undefined;
    try {
      bound.encode(bad as never);
    } catch (e) {
      error = e as SchemaValidationError;
    }
    expect(error).toBeInstanceOf(SchemaValidationError);
    expect(error?.code).toBe('SCHEMA_VALIDATION_FAILED');
    expect(error?.issues.map((i) => i.path)).toEqual(['variant', 'inputs.amount', 'latency_ms']);
    expect(error?.message).toContain('io.rheo.Prediction');
    expect(error?.message).toContain('subject "predictions-value"');
    expect(error?.message).toContain('latency_ms expected "double", got "fast"');
  });

  it('refuses a field the schema does not declare (a typo would otherwise vanish into the default)', async () => {
    const bound = await codec.forTopic('predictions', CONTRACTS.Prediction);
    const typo = { ...prediction, predicted_lable: 'fraud' };
    expect(() => bound.encode(typo as never)).toThrow(/predicted_lable is not a field of the schema/);
  });

  it('lets producers leave out defaulted fields', async () => {
    const bound = await codec.forTopic('feedback', CONTRACTS.Feedback);
    const value = await bound.decode(
      bound.encode({ event_id: 'e', event_time: 1, label: 1, observed_time: 2, prediction_id: 'p' }),
    );
    expect(value).toMatchObject({ entity_id: null, reference_time: null, label_source: null });
  });
});

describe('SchemaCodec decode failures', () => {
  async function decodeFailure(bytes: Uint8Array, reader = CONTRACTS.Prediction.type): Promise<SchemaDecodeError> {
    return failure(codec.decode(bytes, { reader }), SchemaDecodeError);
  }

  it('types each bad input with a reason for the dead-letter header, never retriable', async () => {
    const bound = await codec.forTopic('predictions', CONTRACTS.Prediction);
    const good = bound.encode(prediction);
    const cases: Array<[string, Uint8Array, string]> = [
      ['a JSON value', Buffer.from('{"a":1}'), 'UNKNOWN_MAGIC_BYTE'],
      ['an empty value', Buffer.alloc(0), 'TRUNCATED'],
      ['a short header', good.subarray(0, 3), 'TRUNCATED'],
      ['a cut body', good.subarray(0, good.length - 10), 'TRUNCATED'],
      ['trailing bytes', Buffer.concat([good, Buffer.from([1, 2, 3])]), 'INVALID_BODY'],
      ['an unknown id', frame(999_999, good.subarray(5)), 'UNKNOWN_SCHEMA_ID'],
    ];
    for (const [what, bytes, reason] of cases) {
      const error = await decodeFailure(bytes);
      expect(error.reason, what).toBe(reason);
      expect(error.code).toBe('SCHEMA_DECODE_FAILED');
      expect(isRetriable(error)).toBe(false);
    }
  });

  it('reports a writer the reader cannot resolve', async () => {
    const { id } = await codec.register('other-value', v1);
    const error = await decodeFailure(encodeFramed(avroType(v1), id, { event_id: 'x', value: 1 }));
    expect(error.reason).toBe('UNRESOLVABLE');
    expect(error.schemaId).toBe(id);
  });

  it('reports a schema id of another schema type', async () => {
    const id = registry.addForeignSchema('JSON', '{"type":"object"}');
    expect((await decodeFailure(frame(id, Buffer.from([2, 0])))).reason).toBe('NOT_AVRO');
  });

  it('remembers unknown ids for a while so poison records cannot flood the registry', async () => {
    const bytes = frame(777, Buffer.from([0]));
    await decodeFailure(bytes);
    await decodeFailure(bytes);
    expect(registry.calls.filter((c) => c === 'schemaById 777')).toHaveLength(1);
    now += 5_001;
    await decodeFailure(bytes);
    expect(registry.calls.filter((c) => c === 'schemaById 777')).toHaveLength(2);
  });

  it('passes a registry outage through as retriable, and does not cache it', async () => {
    const { id } = await new SchemaCodec(registry).register('readings-value', v1);
    const bytes = encodeFramed(avroType(v1), id, { event_id: 'x', value: 1 });
    registry.unavailable = true;
    const error = await failure(codec.decode(bytes), SchemaRegistryUnavailableError);
    expect(error.code).toBe('SCHEMA_REGISTRY_UNAVAILABLE');
    expect(isRetriable(error)).toBe(true);
    registry.unavailable = false;
    expect((await codec.decode(bytes)).value).toEqual({ event_id: 'x', value: 1 });
  });
});

describe('subjectFor', () => {
  it('follows the topic name strategy', () => {
    expect(subjectFor('predictions')).toBe('predictions-value');
    expect(subjectFor('features.card_activity', 'key')).toBe('features.card_activity-key');
  });
});
