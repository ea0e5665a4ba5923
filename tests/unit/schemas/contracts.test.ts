import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { type AvroType, validationIssues } from '../../../schemas/avro.ts';
import { encodeFramed } from '../../../schemas/codec.ts';
import { GENERATED_FILE, generateForContracts } from '../../../schemas/codegen.ts';
import { allContracts, CONTRACTS, CONTRACTS_DIR, type ContractName, contractNamed } from '../../../schemas/contracts.ts';
import { FIXTURES } from '../../../schemas/fixtures.ts';
import { unframe } from '../../../schemas/framing.ts';
import { TOPICS } from '../../../topics/catalogue.ts';

type Json = Record<string, unknown>;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const names = Object.keys(CONTRACTS) as ContractName[];

/** Every record and enum definition in a schema, with the path it was found at. */
function namedDefinitions(schema: unknown, path = ''): Array<{ path: string; def: Json }> {
  if (Array.isArray(schema)) return schema.flatMap((branch, i) => namedDefinitions(branch, `${path}[${i}]`));
  if (schema === null || typeof schema !== 'object') return [];
  const s = schema as Json;
  const out: Array<{ path: string; def: Json }> = [];
  if (s.type === 'record' || s.type === 'enum') out.push({ path: path || String(s.name), def: s });
  if (s.type === 'record')
    for (const f of s.fields as Json[]) out.push(...namedDefinitions(f.type, `${path || String(s.name)}.${String(f.name)}`));
  else if (s.type === 'array') out.push(...namedDefinitions(s.items, `${path}[]`));
  else if (s.type === 'map') out.push(...namedDefinitions(s.values, `${path}{}`));
  else if (typeof s.type === 'object') out.push(...namedDefinitions(s.type, path));
  return out;
}

function records(schema: unknown): Array<{ path: string; def: Json }> {
  return namedDefinitions(schema).filter((d) => d.def.type === 'record');
}

/** Full names of the record types a value actually visits with non-null data. */
function visitedRecords(type: AvroType, value: unknown, out = new Set<string>()): Set<string> {
  const t = type as AvroType & {
    fields?: Array<{ name: string; type: AvroType }>;
    itemsType?: AvroType;
    valuesType?: AvroType;
    types?: AvroType[];
  };
  if (value === null || value === undefined) return out;
  if (type.typeName === 'record') {
    out.add(type.name as string);
    for (const f of t.fields ?? []) visitedRecords(f.type, (value as Json)[f.name], out);
  } else if (type.typeName === 'array') for (const item of value as unknown[]) visitedRecords(t.itemsType as AvroType, item, out);
  else if (type.typeName === 'map')
    for (const item of Object.values(value as Json)) visitedRecords(t.valuesType as AvroType, item, out);
  else if (type.typeName.startsWith('union')) {
    const branch = (t.types ?? []).find((b) => b.isValid(value));
    if (branch) visitedRecords(branch, value, out);
  }
  return out;
}

describe('contracts', () => {
  it('are one record per event of the design, named as the topic catalogue names them', () => {
    expect(names.sort()).toEqual([
      'DriftReport',
      'Feedback',
      'ModelLifecycleEvent',
      'Prediction',
      'PredictionRequest',
      'RetrainRequest',
      'TrainingRunEvent',
    ]);
    for (const topic of Object.values(TOPICS)) {
      expect(topic.valueSchema && contractNamed(topic.valueSchema), `${topic.name} → ${topic.valueSchema}`).toBeDefined();
    }
    for (const c of allContracts()) {
      expect(c.fullName).toBe(`io.rheo.${c.name}`);
      expect(c.schema.namespace).toBe('io.rheo');
      expect(c.version).toBe(c.history.length);
      expect(c.history.every((line, i) => line.startsWith(`${i + 1}: `))).toBe(true);
    }
  });

  it.each(names)('%s carries event_id (uuid string) and event_time (timestamp-millis)', (name) => {
    const fields = CONTRACTS[name].schema.fields;
    expect(fields.find((f) => f.name === 'event_id')?.type).toEqual({ type: 'string', logicalType: 'uuid' });
    expect(fields.find((f) => f.name === 'event_time')?.type).toEqual({ type: 'long', logicalType: 'timestamp-millis' });
  });

  it.each(names)('%s documents every field, record and enum', (name) => {
    const undocumented: string[] = [];
    for (const { path, def } of namedDefinitions(CONTRACTS[name].schema)) {
      if (typeof def.doc !== 'string' || def.doc.trim().length < 3)
        undocumented.push(`${path} (${String(def.type)} ${String(def.name)})`);
      if (def.type === 'record') {
        for (const f of def.fields as Json[])
          if (typeof f.doc !== 'string' || f.doc.trim().length < 3) undocumented.push(`${path}.${String(f.name)}`);
      }
    }
    expect(undocumented).toEqual([]);
  });

  it.each(names)(
    '%s is built for evolution: optional fields default to null, enums have a default symbol, times are timestamp-millis',
    (name) => {
      const problems: string[] = [];
      for (const { path, def } of namedDefinitions(CONTRACTS[name].schema)) {
        if (def.type === 'enum' && !(def.symbols as string[]).includes(def.default as string))
          problems.push(`${path}: enum without a default symbol`);
        if (def.type !== 'record') continue;
        for (const f of def.fields as Json[]) {
          const type = f.type;
          if (Array.isArray(type) && type.includes('null')) {
            if (type[0] !== 'null' || f.default !== null)
              problems.push(`${path}.${String(f.name)}: nullable without "null" first and default null`);
          }
          if (/_time$|^window_(start|end)$|^data_(start|end)$/.test(String(f.name))) {
            const base = Array.isArray(type) ? type.find((b) => b !== 'null') : type;
            if (JSON.stringify(base) !== JSON.stringify({ type: 'long', logicalType: 'timestamp-millis' }))
              problems.push(`${path}.${String(f.name)}: a time that is not timestamp-millis`);
          }
        }
      }
      expect(problems).toEqual([]);
    },
  );

  it('registers the file text as compact JSON, keeping docs, logical types and enum defaults', () => {
    const c = CONTRACTS.Prediction;
    expect(c.file).toBe('prediction.avsc');
    expect(JSON.parse(c.text)).toEqual(JSON.parse(readFileSync(`${CONTRACTS_DIR}prediction.avsc`, 'utf8')));
    expect(c.text).not.toMatch(/\n/);
    expect(c.text).toContain('"logicalType":"timestamp-millis"');
    expect(c.text).toContain('"default":"UNKNOWN"');
  });
});

describe('generated TypeScript types', () => {
  it('are fresh: regenerating from the .avsc files gives schemas/types.generated.ts byte for byte', async () => {
    expect(readFileSync(GENERATED_FILE, 'utf8')).toBe(await generateForContracts());
  });
});

describe.each(names)('%s fixtures', (name) => {
  const contract = CONTRACTS[name];
  const fixtures = FIXTURES[name] as readonly unknown[];

  it('are valid for the schema, with no field the schema lacks', () => {
    expect(fixtures.length).toBeGreaterThan(0);
    for (const fixture of fixtures) expect(validationIssues(contract.type, fixture, { noUndeclaredFields: true })).toEqual([]);
  });

  it('round-trip through the Avro binary encoding and the Confluent framing unchanged', () => {
    for (const fixture of fixtures) {
      const bytes = encodeFramed(contract.type, 7, fixture);
      const { schemaId, body } = unframe(bytes);
      expect(schemaId).toBe(7);
      expect({ ...contract.type.fromBuffer(body) }).toEqual(fixture);
    }
  });

  it('exercise every record type of the schema with a non-null value', () => {
    const visited = new Set<string>();
    for (const fixture of fixtures) visitedRecords(contract.type, fixture, visited);
    const declared = records(contract.schema).map((r) => String(r.def.name));
    const missing = declared.filter((n) => ![...visited].some((v) => v === n || v.endsWith(`.${n}`)));
    expect(missing).toEqual([]);
  });

  it('use canonical lower-case UUIDs for event ids', () => {
    for (const fixture of fixtures) expect((fixture as Json).event_id).toMatch(UUID);
  });
});
