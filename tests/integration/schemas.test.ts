/**
 * The schema layer against the real registry (Apicurio's Confluent-compatible API): every contract
 * registers with BACKWARD set on its subject, incompatible changes are refused loudly and leave the
 * subject untouched (by our pre-check, and by the registry itself when our check is bypassed),
 * compatible changes read both ways, and schema ids stay what they were.
 */
import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { schemasCommand } from '../../cli/commands/schemas.ts';
import { loadConfig } from '../../kernel/config.ts';
import { avroType } from '../../schemas/avro.ts';
import { encodeFramed, SchemaCodec } from '../../schemas/codec.ts';
import { allContracts, defineContract } from '../../schemas/contracts.ts';
import { SchemaIncompatibleError } from '../../schemas/errors.ts';
import { FIXTURES } from '../../schemas/fixtures.ts';

const config = loadConfig();
const run = randomUUID().slice(0, 8);
const subject = (name: string) => `test.schemas.${run}.${name}-value`;

interface Reading {
  event_id: string;
  value: number;
}
interface ReadingV2 extends Reading {
  unit: string;
}

const v1 = {
  type: 'record',
  name: 'Reading',
  namespace: 'io.rheo.test',
  doc: 'A sensor reading.',
  fields: [
    { name: 'event_id', type: { type: 'string', logicalType: 'uuid' }, doc: 'Id.' },
    { name: 'value', type: 'double', doc: 'Measured value.' },
  ],
} as const;
const v2 = {
  ...v1,
  fields: [...v1.fields, { name: 'unit', type: 'string', default: 'celsius', doc: 'Unit of the value.' }],
} as const;
const addedWithoutDefault = { ...v1, fields: [...v1.fields, { name: 'unit', type: 'string', doc: 'Unit, required.' }] };
const retyped = { ...v1, fields: [v1.fields[0], { name: 'value', type: 'string', doc: 'Measured value, as text.' }] };
const removed = { ...v1, fields: [v1.fields[0]] };

async function rejection(promise: Promise<unknown>): Promise<SchemaIncompatibleError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(SchemaIncompatibleError);
  return error as SchemaIncompatibleError;
}

let codec: SchemaCodec;

beforeAll(async () => {
  codec = SchemaCodec.fromConfig(config.registry);
  await codec.registry.subjects();
});

describe('registering the contracts', () => {
  it('registers every contract with BACKWARD set on its subject, idempotently', async () => {
    for (const contract of allContracts()) {
      const first = await codec.register(subject(contract.name), contract.schema);
      expect(first).toMatchObject({ subject: subject(contract.name), version: 1, compatibility: 'BACKWARD', created: true });
      expect(await codec.registry.getCompatibility(subject(contract.name))).toBe('BACKWARD');
      const again = await codec.register(subject(contract.name), contract.schema);
      expect(again).toEqual({ ...first, created: false });
    }
  });

  it('stores the contract text as given, docs and logical types included', async () => {
    const contract = allContracts()[0];
    if (!contract) throw new Error('no contracts');
    const { id } = await codec.register(subject(contract.name), contract.schema);
    const stored = await codec.registry.schemaById(id);
    expect(stored?.schemaType).toBe('AVRO');
    expect(JSON.parse(stored?.schema ?? 'null')).toEqual(contract.schema);
  });

  it('`rheo schemas register` registers the catalogue subjects and reports subject, version, id and compatibility', async () => {
    const out: string[] = [];
    const err: string[] = [];
    const code = await schemasCommand.run(['register', '--json'], { out: (t) => out.push(t), err: (t) => err.push(t) });
    expect(err).toEqual([]);
    expect(code).toBe(0);
    const rows = JSON.parse(out.join('')) as Array<{
      subject: string;
      version: number;
      id: number;
      compatibility: string;
      status: string;
    }>;
    expect(rows.map((r) => r.subject)).toContain('predictions-value');
    expect(rows).toHaveLength(allContracts().length);
    for (const row of rows) {
      expect(['created', 'unchanged']).toContain(row.status);
      expect(row.compatibility).toBe('BACKWARD');
      expect(row.id).toBeGreaterThan(0);
      expect(row.version).toBeGreaterThan(0);
    }
    const check: string[] = [];
    expect(await schemasCommand.run(['check', '--json'], { out: (t) => check.push(t), err: () => {} })).toBe(0);
    expect((JSON.parse(check.join('')) as Array<{ status: string }>).every((r) => r.status === 'compatible')).toBe(true);
  });
});

describe('evolving a subject under BACKWARD', () => {
  it('refuses an added field without default and a changed type, naming the subject and the field, registering nothing', async () => {
    const s = subject('reading-refused');
    await codec.register(s, v1);
    for (const [schema, field] of [
      [addedWithoutDefault, 'unit'],
      [retyped, 'value'],
    ] as const) {
      const error = await rejection(codec.register(s, schema));
      expect(error.code).toBe('SCHEMA_INCOMPATIBLE');
      expect(error.subject).toBe(s);
      expect(error.message).toContain(`"${s}"`);
      expect(error.reasons.join('\n')).toContain(`field ${field}`);
      expect(error.reasons.some((r) => r.startsWith('registry:'))).toBe(true);
    }
    expect(await codec.registry.versions(s)).toEqual([1]);
  });

  it('is enforced by the registry itself: a direct registration that skips our check is refused too', async () => {
    const s = subject('reading-enforced');
    await codec.register(s, v1);
    await rejection(codec.registry.register(s, JSON.stringify(retyped)));
    expect(await codec.registry.versions(s)).toEqual([1]);
  });

  it('accepts removing a field under BACKWARD (new readers ignore it) but refuses it under FULL', async () => {
    const backward = subject('reading-removed');
    await codec.register(backward, v1);
    expect(await codec.register(backward, removed)).toMatchObject({ version: 2, created: true });
    const full = subject('reading-removed-full');
    await codec.register(full, v1, { compatibility: 'FULL' });
    const error = await rejection(codec.register(full, removed, { compatibility: 'FULL' }));
    expect(error.reasons.join('\n')).toContain('field value');
  });

  it('registers a new field with a default as v2; v1 and v2 records read each other through schema resolution', async () => {
    const s = subject('reading-evolved');
    const c1 = defineContract<Reading>(v1);
    const c2 = defineContract<ReadingV2>(v2);
    const w1 = await codec.forSubject(s, c1);
    const w2 = await codec.forSubject(s, c2);
    expect(w2.version).toBe(w1.version + 1);
    expect(w2.schemaId).not.toBe(w1.schemaId);

    const oldRecord = w1.encode({ event_id: randomUUID(), value: 21.5 });
    const newRecord = w2.encode({ event_id: randomUUID(), value: 70.2, unit: 'fahrenheit' });
    // A fresh codec: nothing cached, every writer schema comes from the registry by id.
    const cold = SchemaCodec.fromConfig(config.registry);
    expect(await cold.decode(oldRecord, { reader: c2.type })).toMatchObject({
      schemaId: w1.schemaId,
      value: { value: 21.5, unit: 'celsius' },
    });
    const readByV1 = await cold.decode<Reading>(newRecord, { reader: c1.type });
    expect(readByV1.schemaId).toBe(w2.schemaId);
    expect(readByV1.value.value).toBe(70.2);
    expect(readByV1.value).not.toHaveProperty('unit');
  });
});

describe('schema ids', () => {
  it('survive: re-registering keeps the id, a new version gets a new one, old ids still resolve to their schema', async () => {
    const s = subject('reading-ids');
    const first = await codec.register(s, v1);
    const second = await codec.register(s, v2);
    const again = await codec.register(s, v1);
    expect(again.id).toBe(first.id);
    expect(again.version).toBe(first.version);
    expect(second.id).not.toBe(first.id);
    expect(JSON.parse((await codec.registry.schemaById(first.id))?.schema ?? 'null')).toEqual(v1);
    expect(JSON.parse((await codec.registry.schemaById(second.id))?.schema ?? 'null')).toEqual(v2);
    expect(await codec.registry.subjectVersion(s, 'latest')).toMatchObject({ version: second.version, id: second.id });
  });

  it('identify the schema, not the subject: the same schema under two subjects decodes with either id', async () => {
    const a = await codec.register(subject('reading-shared-a'), v1);
    const b = await codec.register(subject('reading-shared-b'), v1);
    const cold = SchemaCodec.fromConfig(config.registry);
    for (const id of new Set([a.id, b.id])) {
      const bytes = encodeFramed(avroType(v1), id, { event_id: randomUUID(), value: 1 });
      expect((await cold.decode(bytes)).writerName).toBe('io.rheo.test.Reading');
    }
  });

  it('decode every contract fixture from a cold cache', async () => {
    const cold = SchemaCodec.fromConfig(config.registry);
    for (const contract of allContracts()) {
      const bound = await codec.forSubject(subject(contract.name), contract);
      for (const fixture of FIXTURES[contract.name as keyof typeof FIXTURES]) {
        const decoded = await cold.decode(bound.encode(fixture as never), { reader: contract.type });
        expect(decoded.schemaId).toBe(bound.schemaId);
        expect({ ...(decoded.value as object) }).toEqual(fixture);
      }
    }
  });

  it('an id the registry never issued decodes to UNKNOWN_SCHEMA_ID', async () => {
    const bytes = encodeFramed(avroType(v1), 2_000_000_000, { event_id: randomUUID(), value: 1 });
    await expect(codec.decode(bytes)).rejects.toMatchObject({ code: 'SCHEMA_DECODE_FAILED', reason: 'UNKNOWN_SCHEMA_ID' });
  });
});
