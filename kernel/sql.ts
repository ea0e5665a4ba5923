/**
 * The one audited way to put values into ClickHouse SQL. ClickHouse 18.16 has no server-side query
 * parameters, so every value is rendered as a literal here and nowhere else:
 *
 *   sql`SELECT * FROM ${ident('features_card')} WHERE entity_id IN ${list(ids)} AND t <= ${at}`
 *
 * - strings: single-quoted; backslash, quote and control characters escaped (ClickHouse string syntax);
 * - numbers: finite only; bigint as digits; booleans as 1/0; null as NULL;
 * - Date: `toDateTime(<epoch seconds>)`, which means the same instant whatever the server's timezone;
 * - identifiers: only [A-Za-z_][A-Za-z0-9_]* (optionally db.table), back-quoted; anything else is refused;
 * - fragments built by `sql` nest without re-escaping.
 */
import { RheoError } from './errors.ts';

export class SqlFragment {
  readonly text: string;
  constructor(text: string) {
    this.text = text;
  }
  toString(): string {
    return this.text;
  }
}

export type SqlValue = string | number | bigint | boolean | null | Date | SqlFragment | readonly SqlValue[];

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * A value refused before it could reach SQL. A catalogue error (BAD_REQUEST: the value came from a
 * caller), kept as its own class so code and tests can tell a refusal by the quoting rules apart.
 */
export class SqlInjectionError extends RheoError {
  override name = 'SqlInjectionError';
  constructor(message: string) {
    super('BAD_REQUEST', message);
  }
}

/** A table or column name, checked and back-quoted. Accepts `db.table`. */
export function ident(name: string): SqlFragment {
  const parts = name.split('.');
  if (parts.length > 2 || !parts.every((part) => IDENTIFIER.test(part))) {
    throw new SqlInjectionError(`not a plain SQL identifier: ${JSON.stringify(name)}`);
  }
  return new SqlFragment(parts.map((part) => `\`${part}\``).join('.'));
}

const ESCAPES: Record<string, string> = {
  '\\': '\\\\',
  "'": "\\'",
  '\n': '\\n',
  '\r': '\\r',
  '\t': '\\t',
  '\0': '\\0',
  '\b': '\\b',
  '\f': '\\f',
};

export function quoteString(value: string): string {
  return `'${value.replace(/[\\'\n\r\t\0\b\f]/g, (ch) => ESCAPES[ch] as string)}'`;
}

export function literal(value: SqlValue): string {
  if (value === null) return 'NULL';
  if (value instanceof SqlFragment) return value.text;
  if (typeof value === 'string') return quoteString(value);
  if (typeof value === 'boolean') return value ? '1' : '0';
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new SqlInjectionError(`not a finite number: ${value}`);
    return String(value);
  }
  if (value instanceof Date) {
    const ms = value.getTime();
    if (Number.isNaN(ms)) throw new SqlInjectionError('invalid date');
    return `toDateTime(${Math.floor(ms / 1000)})`;
  }
  if (Array.isArray(value)) return `[${value.map(literal).join(', ')}]`;
  throw new SqlInjectionError(`unsupported SQL value of type ${typeof value}`);
}

/** A parenthesised list for `IN`: `('a', 'b')`. An empty list renders `(NULL)`, which matches nothing. */
export function list(values: readonly SqlValue[]): SqlFragment {
  return new SqlFragment(values.length === 0 ? '(NULL)' : `(${values.map(literal).join(', ')})`);
}

/** Tagged template: the only place values are joined into SQL text. */
export function sql(strings: TemplateStringsArray, ...values: SqlValue[]): SqlFragment {
  let text = strings[0] ?? '';
  for (let i = 0; i < values.length; i++) text += literal(values[i] as SqlValue) + (strings[i + 1] ?? '');
  return new SqlFragment(text);
}

/** Joins fragments with a separator (for column lists, AND chains). */
export function join(fragments: readonly SqlFragment[], separator = ', '): SqlFragment {
  return new SqlFragment(fragments.map((f) => f.text).join(separator));
}
