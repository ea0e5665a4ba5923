import { describe, expect, it } from 'vitest';
import { avroType, describeValue, schemaText, validationIssues } from '../../../schemas/avro.ts';
import { SchemaInvalidError } from '../../../schemas/errors.ts';

const type = avroType({
  type: 'record',
  name: 'io.rheo.test.T',
  fields: [
    { name: 'id', type: 'string' },
    { name: 'score', type: ['null', 'double'], default: null },
    {
      name: 'items',
      type: { type: 'array', items: { type: 'record', name: 'Item', fields: [{ name: 'n', type: 'long' }] } },
      default: [],
    },
    { name: 'kind', type: { type: 'enum', name: 'Kind', symbols: ['A', 'B'] } },
  ],
});

describe('avroType', () => {
  it('parses objects and JSON text, and names what is invalid', () => {
    expect(avroType('"string"').typeName).toBe('string');
    expect(() => avroType({ type: 'record', name: 'X', fields: [{ name: 'a', type: 'nope' }] }, 'x.avsc')).toThrow(
      /x.avsc is not a valid Avro schema/,
    );
    expect(() => avroType('{not json', 'y.avsc')).toThrow(SchemaInvalidError);
  });

  it('keeps named types of separate schemas apart (avsc keeps its registry on the options object)', () => {
    const a = avroType({ type: 'enum', name: 'io.rheo.test.E', symbols: ['A'] });
    const b = avroType({ type: 'enum', name: 'io.rheo.test.E', symbols: ['A', 'B'] });
    expect(a.isValid('B')).toBe(false);
    expect(b.isValid('B')).toBe(true);
  });
});

describe('validationIssues', () => {
  it('is empty for a valid value, defaulted fields may be missing', () => {
    expect(validationIssues(type, { id: 'x', kind: 'A' })).toEqual([]);
  });

  it('names every wrong field by dotted path, with the expected type and what was found', () => {
    const issues = validationIssues(type, { id: 7, score: 'high', items: [{ n: 1 }, { n: 1.5 }], kind: 'C' });
    expect(issues).toEqual([
      { path: 'id', expected: '"string"', actual: '7' },
      { path: 'score', expected: '["null","double"]', actual: '"high"' },
      { path: 'items.1.n', expected: '"long"', actual: '1.5' },
      { path: 'kind', expected: 'enum io.rheo.test.Kind', actual: '"C"' },
    ]);
  });

  it('reports missing required fields and, when asked, undeclared ones', () => {
    expect(validationIssues(type, { kind: 'A' })).toEqual([{ path: 'id', expected: '"string"', actual: 'undefined (missing)' }]);
    const value = { id: 'x', kind: 'A', scor: 0.5, items: [{ n: 1, extra: true }] };
    expect(validationIssues(type, value)).toEqual([]);
    expect(validationIssues(type, value, { noUndeclaredFields: true }).map((i) => i.path)).toEqual(['scor', 'items.0.extra']);
  });
});

describe('schemaText and describeValue', () => {
  it('keeps every attribute and compacts JSON', () => {
    expect(schemaText('{ "type": "long", "logicalType": "timestamp-millis" }')).toBe(
      '{"type":"long","logicalType":"timestamp-millis"}',
    );
    expect(schemaText({ type: 'enum', name: 'E', symbols: ['A'], default: 'A' })).toContain('"default":"A"');
  });

  it('renders values shortly', () => {
    expect(describeValue('x'.repeat(100))).toHaveLength(43);
    expect(describeValue(10n)).toBe('10n (bigint)');
    expect(describeValue({ a: 1, b: 2, c: 3, d: 4, e: 5, f: 6 })).toBe('object{a,b,c,d,e,…}');
  });
});
