/**
 * Generates `types.generated.ts` from the contracts' `.avsc` files, so TypeScript types follow the
 * contracts and never drift from them (a unit test regenerates and compares).
 *
 *   node schemas/codegen.ts           rewrite schemas/types.generated.ts
 *   node schemas/codegen.ts --check   exit 1 when it is stale
 *
 * For each record `X` it emits `interface X` (a decoded value: every field present) and, when some
 * field has an Avro default, `interface XInput` (what a producer may pass: defaulted fields optional).
 * Enums become a `const` list of symbols plus a union type of the same name. Unions must be ones
 * avsc leaves unwrapped (at most one branch per kind: null, boolean, number, string, bytes, array,
 * object), so decoded values are plain; anything else is refused here rather than silently wrapped.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { defineArgs, parseOrExplain } from '../kernel/args.ts';
import type { AvroSchema } from './avro.ts';

export interface SourceSchema {
  file: string;
  schema: AvroSchema;
}

interface NamedDef {
  fullName: string;
  tsName: string;
  kind: 'record' | 'enum' | 'fixed';
  definition: Record<string, unknown>;
  namespace: string | undefined;
  file: string;
}

const PRIMITIVES: Record<string, string> = {
  null: 'null',
  boolean: 'boolean',
  int: 'number',
  long: 'number',
  float: 'number',
  double: 'number',
  string: 'string',
  bytes: 'Buffer',
};

const LOGICAL: Record<string, string> = {
  'long:timestamp-millis': 'EpochMillis',
  'long:local-timestamp-millis': 'EpochMillis',
  'string:uuid': 'Uuid',
};

const WIDTH = 120;

export function generateTypes(sources: readonly SourceSchema[]): string {
  const named = new Map<string, NamedDef>();
  const order: string[] = [];

  // Pass 1: collect every named type, in order of appearance, checking duplicates are identical.
  function collect(schema: unknown, namespace: string | undefined, file: string): void {
    if (Array.isArray(schema)) {
      for (const branch of schema) collect(branch, namespace, file);
      return;
    }
    if (schema === null || typeof schema !== 'object') return;
    const s = schema as Record<string, unknown>;
    const type = s.type;
    if (type === 'record' || type === 'error' || type === 'enum' || type === 'fixed') {
      const { fullName, ns } = qualify(String(s.name), typeof s.namespace === 'string' ? s.namespace : namespace);
      const tsName = fullName.slice(fullName.lastIndexOf('.') + 1);
      const previous = named.get(fullName);
      if (previous) {
        if (JSON.stringify(previous.definition) !== JSON.stringify(s)) {
          throw new Error(
            `${fullName} is defined differently in ${previous.file} and ${file}; a named type must be identical wherever it is defined`,
          );
        }
        return;
      }
      for (const other of named.values()) {
        if (other.tsName === tsName)
          throw new Error(
            `${fullName} (${file}) and ${other.fullName} (${other.file}) would share the TypeScript name ${tsName}`,
          );
      }
      named.set(fullName, { fullName, tsName, kind: type === 'error' ? 'record' : type, definition: s, namespace: ns, file });
      order.push(fullName);
      if (type === 'record' || type === 'error') {
        for (const field of (s.fields as Array<Record<string, unknown>>) ?? []) collect(field.type, ns, file);
      }
      return;
    }
    if (type === 'array') collect(s.items, namespace, file);
    else if (type === 'map') collect(s.values, namespace, file);
    else if (typeof type === 'object') collect(type, namespace, file);
  }
  for (const source of sources) collect(source.schema, undefined, source.file);

  function resolve(name: string, namespace: string | undefined): NamedDef {
    const candidates = name.includes('.') ? [name] : [namespace ? `${namespace}.${name}` : name, name];
    for (const candidate of candidates) {
      const def = named.get(candidate);
      if (def) return def;
    }
    throw new Error(`unknown named type ${name}`);
  }

  // Pass 2: which records need an Input variant (a defaulted field, or a field reaching such a record).
  const needsInput = new Set<string>();
  const references = (schema: unknown, namespace: string | undefined, out: Set<string>): void => {
    if (typeof schema === 'string') {
      if (!(schema in PRIMITIVES)) out.add(resolve(schema, namespace).fullName);
    } else if (Array.isArray(schema)) {
      for (const branch of schema) references(branch, namespace, out);
    } else if (schema && typeof schema === 'object') {
      const s = schema as Record<string, unknown>;
      if (s.type === 'record' || s.type === 'enum' || s.type === 'fixed' || s.type === 'error')
        out.add(qualify(String(s.name), namespace).fullName);
      else if (s.type === 'array') references(s.items, namespace, out);
      else if (s.type === 'map') references(s.values, namespace, out);
      else if (typeof s.type === 'string' && !(s.type in PRIMITIVES)) references(s.type, namespace, out);
    }
  };
  for (let changed = true; changed; ) {
    changed = false;
    for (const def of named.values()) {
      if (def.kind !== 'record' || needsInput.has(def.fullName)) continue;
      const fields = def.definition.fields as Array<Record<string, unknown>>;
      const refs = new Set<string>();
      for (const field of fields) references(field.type, def.namespace, refs);
      if (fields.some((f) => f.default !== undefined) || [...refs].some((r) => needsInput.has(r))) {
        needsInput.add(def.fullName);
        changed = true;
      }
    }
  }

  // Pass 3: TypeScript text.
  function tsType(schema: unknown, namespace: string | undefined, input: boolean): string {
    if (typeof schema === 'string') {
      const primitive = PRIMITIVES[schema];
      if (primitive) return primitive;
      return refName(resolve(schema, namespace), input);
    }
    if (Array.isArray(schema)) return unionType(schema, namespace, input);
    const s = schema as Record<string, unknown>;
    const logical = typeof s.logicalType === 'string' ? LOGICAL[`${String(s.type)}:${s.logicalType}`] : undefined;
    if (logical) return logical;
    switch (s.type) {
      case 'record':
      case 'error':
      case 'enum':
      case 'fixed':
        return refName(resolve(String(s.name), namespace), input);
      case 'array': {
        const item = tsType(s.items, namespace, input);
        return item.includes(' ') ? `Array<${item}>` : `${item}[]`;
      }
      case 'map':
        return `Record<string, ${tsType(s.values, namespace, input)}>`;
      default:
        return tsType(s.type, namespace, input);
    }
  }

  function refName(def: NamedDef, input: boolean): string {
    if (def.kind === 'fixed') return 'Buffer';
    return input && needsInput.has(def.fullName) ? `${def.tsName}Input` : def.tsName;
  }

  function unionType(branches: readonly unknown[], namespace: string | undefined, input: boolean): string {
    const seen = new Map<string, unknown>();
    for (const branch of branches) {
      const kind = bucket(branch, namespace);
      if (seen.has(kind)) {
        throw new Error(
          `union ${JSON.stringify(branches)} has two ${kind} branches; avsc would wrap it, which Rheo contracts do not allow`,
        );
      }
      seen.set(kind, branch);
    }
    const parts = branches.filter((b) => b !== 'null').map((b) => tsType(b, namespace, input));
    if (branches.includes('null')) parts.push('null');
    return parts.join(' | ');
  }

  function bucket(schema: unknown, namespace: string | undefined): string {
    const typeName =
      typeof schema === 'string' ? schema : Array.isArray(schema) ? 'union' : String((schema as Record<string, unknown>).type);
    switch (typeName) {
      case 'null':
        return 'null';
      case 'boolean':
        return 'boolean';
      case 'int':
      case 'long':
      case 'float':
      case 'double':
        return 'number';
      case 'string':
      case 'enum':
        return 'string';
      case 'bytes':
      case 'fixed':
        return 'buffer';
      case 'array':
        return 'array';
      case 'map':
      case 'record':
      case 'error':
        return 'object';
      case 'union':
        throw new Error('a union cannot directly contain a union');
      default: {
        if (typeof schema === 'object' && schema !== null) return bucket((schema as Record<string, unknown>).type, namespace);
        const def = resolve(typeName, namespace);
        return def.kind === 'enum' ? 'string' : def.kind === 'fixed' ? 'buffer' : 'object';
      }
    }
  }

  const out: string[] = [
    '// Generated by schemas/codegen.ts from schemas/contracts/*.avsc. Do not edit: change the .avsc file and run',
    '// `node schemas/codegen.ts`. A unit test fails when this file is stale.',
    '',
    '/** Milliseconds since the Unix epoch, UTC (Avro `timestamp-millis`). */',
    'export type EpochMillis = number;',
    '/** A UUID in its canonical 36-character text form (Avro `uuid`). */',
    'export type Uuid = string;',
  ];

  for (const fullName of order) {
    const def = named.get(fullName) as NamedDef;
    const d = def.definition;
    out.push('');
    if (def.kind === 'fixed') continue;
    if (def.kind === 'enum') {
      out.push(...docComment(String(d.doc ?? ''), ''));
      const symbols = (d.symbols as string[]).map((sym) => `'${sym}'`);
      const oneLine = `export const ${def.tsName} = [${symbols.join(', ')}] as const;`;
      if (oneLine.length <= WIDTH) out.push(oneLine);
      else out.push(`export const ${def.tsName} = [`, ...symbols.map((sym) => `  ${sym},`), '] as const;');
      out.push(`export type ${def.tsName} = (typeof ${def.tsName})[number];`);
      continue;
    }
    const fields = d.fields as Array<Record<string, unknown>>;
    out.push(...docComment(`${String(d.doc ?? '')}\n\nAvro record \`${fullName}\`.`, ''));
    out.push(`export interface ${def.tsName} {`);
    for (const field of fields) {
      out.push(...docComment(String(field.doc ?? ''), '  '));
      out.push(`  ${String(field.name)}: ${tsType(field.type, def.namespace, false)};`);
    }
    out.push('}');
    if (needsInput.has(fullName)) {
      out.push('');
      out.push(
        ...docComment(
          `${def.tsName} as a producer writes it: fields with an Avro default may be left out and get the default.`,
          '',
        ),
      );
      out.push(`export interface ${def.tsName}Input {`);
      for (const field of fields) {
        const optional = field.default !== undefined ? '?' : '';
        out.push(`  ${String(field.name)}${optional}: ${tsType(field.type, def.namespace, true)};`);
      }
      out.push('}');
    }
  }
  out.push('');
  return out.join('\n');
}

function qualify(name: string, namespace: string | undefined): { fullName: string; ns: string | undefined } {
  if (name.includes('.')) return { fullName: name, ns: name.slice(0, name.lastIndexOf('.')) };
  return { fullName: namespace ? `${namespace}.${name}` : name, ns: namespace };
}

function docComment(text: string, indent: string): string[] {
  const paragraphs = text
    .trim()
    .split(/\n\s*\n/)
    .map((p) => p.replace(/\s+/g, ' ').replace(/\*\//g, '*\\/').trim())
    .filter(Boolean);
  if (paragraphs.length === 0) return [];
  const single = `${indent}/** ${paragraphs[0]} */`;
  if (paragraphs.length === 1 && single.length <= WIDTH) return [single];
  const lines = [`${indent}/**`];
  paragraphs.forEach((paragraph, i) => {
    if (i > 0) lines.push(`${indent} *`);
    let line = '';
    for (const word of paragraph.split(' ')) {
      if (line && `${indent} * ${line} ${word}`.length > WIDTH) {
        lines.push(`${indent} * ${line}`);
        line = word;
      } else line = line ? `${line} ${word}` : word;
    }
    if (line) lines.push(`${indent} * ${line}`);
  });
  lines.push(`${indent} */`);
  return lines;
}

export const GENERATED_FILE = fileURLToPath(new URL('./types.generated.ts', import.meta.url));

/** The generated text for the contracts in this repository. */
export async function generateForContracts(): Promise<string> {
  const { allContracts } = await import('./contracts.ts');
  return generateTypes(allContracts().map((c) => ({ file: c.file ?? c.fullName, schema: c.schema })));
}

const CODEGEN_ARGS = defineArgs({
  program: 'node schemas/codegen.ts',
  flags: { check: { type: 'boolean', description: 'write nothing; exit 1 when schemas/types.generated.ts is stale' } },
});

const args = import.meta.main ? parseOrExplain(CODEGEN_ARGS, process.argv.slice(2), 'codegen') : undefined;
if (args) {
  const text = await generateForContracts();
  let current = '';
  try {
    current = readFileSync(GENERATED_FILE, 'utf8');
  } catch {
    // first run
  }
  if (args.flags.check) {
    if (current !== text) {
      process.stderr.write('schemas/types.generated.ts is stale: run `node schemas/codegen.ts`\n');
      process.exitCode = 1;
    }
  } else if (current !== text) {
    writeFileSync(GENERATED_FILE, text);
    process.stderr.write('wrote schemas/types.generated.ts\n');
  }
}
