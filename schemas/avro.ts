/**
 * The one place that turns Avro schemas into avsc types, so every reader and writer uses the same
 * options (unions unwrapped where unambiguous, no logical-type classes: timestamps are epoch
 * milliseconds as numbers, UUIDs strings), and the one place that explains why a value is invalid.
 */
import avro from 'avsc';
import { SchemaInvalidError, type ValidationIssue } from './errors.ts';

export type AvroType = avro.Type;

/** An Avro schema as parsed JSON: a record object, a primitive name, or a union array. */
export type AvroSchema = string | readonly unknown[] | { readonly [key: string]: unknown };

/** A record schema as parsed JSON. */
export interface AvroRecordSchema {
  readonly type: 'record';
  readonly name: string;
  readonly namespace?: string;
  readonly doc?: string;
  readonly fields: readonly AvroFieldSchema[];
  readonly [attribute: string]: unknown;
}

export interface AvroFieldSchema {
  readonly name: string;
  readonly type: AvroSchema;
  readonly doc?: string;
  readonly default?: unknown;
  readonly [attribute: string]: unknown;
}

/** Parses a schema (JSON object or text) into an avsc type; an invalid schema throws SchemaInvalidError naming `what`. */
export function avroType(schema: AvroSchema | string, what = 'schema'): AvroType {
  let parsed: unknown = schema;
  if (typeof schema === 'string' && /^\s*[[{"]/.test(schema)) {
    try {
      parsed = JSON.parse(schema);
    } catch (error) {
      throw new SchemaInvalidError(`${what} is not JSON: ${(error as Error).message}`, { cause: error });
    }
  }
  try {
    // A fresh options object each time: avsc keeps its registry of named types on it.
    return avro.Type.forSchema(parsed as avro.Schema, { wrapUnions: 'auto' });
  } catch (error) {
    throw new SchemaInvalidError(`${what} is not a valid Avro schema: ${(error as Error).message}`, { cause: error });
  }
}

/**
 * The text we register: the schema's JSON, compact, with every attribute kept (docs, logical types,
 * enum defaults). avsc's own `schema()` drops logical types and enum defaults, so it is never used for this.
 */
export function schemaText(schema: AvroSchema): string {
  return typeof schema === 'string' && /^\s*[[{"]/.test(schema) ? JSON.stringify(JSON.parse(schema)) : JSON.stringify(schema);
}

/** Full name of a named schema (`io.rheo.Prediction`), or its type name for unnamed ones. */
export function schemaName(type: AvroType): string {
  return type.name ?? type.typeName;
}

/**
 * Every reason `value` is not valid for `type`. Field-level problems come from avsc's `errorHook`;
 * with `noUndeclaredFields`, fields a record does not declare are reported too (a typo in an optional
 * field would otherwise vanish silently, since avsc writes the default in its place).
 */
export function validationIssues(
  type: AvroType,
  value: unknown,
  options: { noUndeclaredFields?: boolean } = {},
): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  type.isValid(value, {
    errorHook: (path: string[], actual: unknown, expected: AvroType) => {
      issues.push({ path: path.join('.'), expected: describeType(expected), actual: describeValue(actual) });
    },
  });
  if (options.noUndeclaredFields && issues.length === 0) collectUndeclared(type, value, [], issues);
  return issues;
}

function collectUndeclared(type: AvroType, value: unknown, path: string[], issues: ValidationIssue[]): void {
  if (value === null || typeof value !== 'object') return;
  const t = type as AvroType & {
    fields?: Array<{ name: string; type: AvroType }>;
    itemsType?: AvroType;
    valuesType?: AvroType;
    types?: AvroType[];
  };
  switch (type.typeName) {
    case 'record':
    case 'error': {
      const declared = new Map((t.fields ?? []).map((f) => [f.name, f.type]));
      for (const [key, fieldValue] of Object.entries(value)) {
        const fieldType = declared.get(key);
        if (fieldType === undefined) {
          if (fieldValue !== undefined)
            issues.push({ path: [...path, key].join('.'), expected: 'undeclared field', actual: describeValue(fieldValue) });
        } else {
          collectUndeclared(fieldType, fieldValue, [...path, key], issues);
        }
      }
      return;
    }
    case 'array':
      if (Array.isArray(value) && t.itemsType) {
        for (const [i, item] of value.entries()) collectUndeclared(t.itemsType, item, [...path, String(i)], issues);
      }
      return;
    case 'map':
      if (t.valuesType)
        for (const [key, item] of Object.entries(value)) collectUndeclared(t.valuesType, item, [...path, key], issues);
      return;
    case 'union:unwrapped': {
      const branch = (t.types ?? []).find((b) => b.isValid(value));
      if (branch) collectUndeclared(branch, value, path, issues);
      return;
    }
    default:
      return;
  }
}

function describeType(type: AvroType): string {
  const named = type.name;
  if (named) return `${type.typeName} ${named}`;
  try {
    return JSON.stringify(type.schema());
  } catch {
    return type.typeName;
  }
}

/** A short, log-safe rendering of a value (strings and containers are cut). */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'undefined (missing)';
  if (value === null) return 'null';
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (typeof value === 'bigint') return `${value}n (bigint)`;
  if (Buffer.isBuffer(value)) return `<${value.length} bytes>`;
  if (Array.isArray(value)) return `array(${value.length})`;
  if (typeof value === 'object')
    return `object{${Object.keys(value).slice(0, 5).join(',')}${Object.keys(value).length > 5 ? ',…' : ''}}`;
  return typeof value;
}
