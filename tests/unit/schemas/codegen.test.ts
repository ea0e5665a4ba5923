import { describe, expect, it } from 'vitest';
import { generateTypes } from '../../../schemas/codegen.ts';

const record = (fields: unknown[], extra: Record<string, unknown> = {}) => ({
  type: 'record',
  name: 'Thing',
  namespace: 'io.rheo.test',
  doc: 'A thing.',
  fields,
  ...extra,
});

describe('generateTypes', () => {
  it('emits a decoded interface and an Input interface whose defaulted fields are optional', () => {
    const text = generateTypes([
      {
        file: 't.avsc',
        schema: record([
          { name: 'id', type: { type: 'string', logicalType: 'uuid' }, doc: 'Id.' },
          { name: 'at', type: { type: 'long', logicalType: 'timestamp-millis' }, doc: 'Time.' },
          { name: 'note', type: ['null', 'string'], default: null, doc: 'Note.' },
          { name: 'tags', type: { type: 'array', items: 'string' }, default: [], doc: 'Tags.' },
          { name: 'values', type: { type: 'map', values: ['null', 'double', 'string', 'boolean'] }, doc: 'Values.' },
        ]),
      },
    ]);
    expect(text).toContain('export interface Thing {');
    expect(text).toContain('  id: Uuid;');
    expect(text).toContain('  at: EpochMillis;');
    expect(text).toContain('  note: string | null;');
    expect(text).toContain('  values: Record<string, number | string | boolean | null>;');
    expect(text).toContain('export interface ThingInput {');
    expect(text).toContain('  note?: string | null;');
    expect(text).toContain('  tags?: string[];');
    expect(text).toContain('  /** Note. */');
  });

  it('emits enums as a const symbol list and a union type, and refers to named types by name', () => {
    const text = generateTypes([
      {
        file: 't.avsc',
        schema: record([
          { name: 'stage', type: { type: 'enum', name: 'Stage', doc: 'Stage.', symbols: ['A', 'B'], default: 'A' }, doc: 'Now.' },
          { name: 'previous', type: ['null', 'Stage'], default: null, doc: 'Before.' },
        ]),
      },
    ]);
    expect(text).toContain("export const Stage = ['A', 'B'] as const;");
    expect(text).toContain('export type Stage = (typeof Stage)[number];');
    expect(text).toContain('  previous: Stage | null;');
  });

  it('uses the Input variant of a nested record only when that record has defaults', () => {
    const inner = { type: 'record', name: 'Inner', doc: 'Inner.', fields: [{ name: 'x', type: 'int', default: 0, doc: 'X.' }] };
    const plain = { type: 'record', name: 'Plain', doc: 'Plain.', fields: [{ name: 'y', type: 'int', doc: 'Y.' }] };
    const text = generateTypes([
      {
        file: 't.avsc',
        schema: record([
          { name: 'inner', type: inner, doc: 'I.' },
          { name: 'plain', type: plain, doc: 'P.' },
        ]),
      },
    ]);
    expect(text).toMatch(/export interface ThingInput \{\n {2}inner: InnerInput;\n {2}plain: Plain;\n\}/);
    expect(text).not.toContain('PlainInput');
  });

  it('refuses unions avsc would wrap, so decoded values stay plain', () => {
    const schema = record([{ name: 'n', type: ['int', 'long'], doc: 'N.' }]);
    expect(() => generateTypes([{ file: 't.avsc', schema }])).toThrow(/two number branches/);
  });

  it('refuses a named type defined differently in two files', () => {
    const a = record([{ name: 's', type: { type: 'enum', name: 'S', doc: 'S.', symbols: ['A'] }, doc: 'S.' }]);
    const b = {
      ...record([{ name: 's', type: { type: 'enum', name: 'S', doc: 'S.', symbols: ['A', 'B'] }, doc: 'S.' }]),
      name: 'Other',
    };
    expect(() =>
      generateTypes([
        { file: 'a.avsc', schema: a },
        { file: 'b.avsc', schema: b },
      ]),
    ).toThrow(/defined differently in a.avsc and b.avsc/);
  });
});
