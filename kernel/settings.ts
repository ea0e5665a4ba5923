/**
 * The one way a component declares its settings. A component writes a `SettingsSchema`: for each
 * environment variable its parser, its default for the local stack (or none) and a description;
 * `load(schema, env)` reads exactly those variables, validates all of them, and throws one
 * `CONFIG_INVALID` RheoError naming every bad variable and why. The parsers (bool, int, duration,
 * list, enum, url, json…) exist here once, so `yes` means the same thing to every component.
 *
 * Nothing is read at import time: a schema is data, and the environment is only read when `load`
 * runs (`processEnvironment()` is the one place the process's environment is taken from). The
 * README's configuration table documents every declared variable; a unit test keeps them in step.
 */
import { z } from 'zod';
import { type RheoError, rheoError } from './errors.ts';

/** Variables by name, as `process.env` holds them; tests pass plain objects. */
export type Environment = Readonly<Record<string, string | undefined>>;

/** Turns a variable's text into a typed value, or says why it cannot. */
export type Parser<T> = z.ZodType<T>;

/** One declared environment variable. */
export interface Variable<T, HasDefault extends boolean = boolean> {
  readonly parser: Parser<T>;
  readonly description: string;
  /** The value when the variable is unset (or empty); undefined for variables without one. */
  readonly fallback: HasDefault extends true ? T : undefined;
  /** The default as the README shows it (`unset` when there is none, or how it is derived). */
  readonly documentedDefault: string;
}

export type SettingsSchema = Readonly<Record<string, Variable<unknown>>>;

/** What `load` returns for a schema: each variable's parsed value, or its default, or undefined. */
export type Settings<S extends SettingsSchema> = {
  readonly [Name in keyof S]: S[Name] extends Variable<infer T, infer HasDefault>
    ? HasDefault extends true
      ? T
      : T | undefined
    : never;
};

/** A variable with a default for the local stack. */
export function variable<T>(
  parser: Parser<T>,
  options: { default: NoInfer<T>; description: string; documentedDefault?: string },
): Variable<T, true> {
  return {
    parser,
    description: options.description,
    fallback: options.default,
    documentedDefault: options.documentedDefault ?? showDefault(options.default),
  };
}

/** A variable that may stay unset; `documentedDefault` says what happens then (defaults to `unset`). */
export function optional<T>(parser: Parser<T>, options: { description: string; documentedDefault?: string }): Variable<T, false> {
  return {
    parser,
    description: options.description,
    fallback: undefined,
    documentedDefault: options.documentedDefault ?? 'unset',
  };
}

function showDefault(value: unknown): string {
  if (Array.isArray(value)) return value.join(',');
  return String(value);
}

/**
 * Reads and validates every variable of `schema` from `env`. Empty strings count as unset, so
 * `RHEO_X= cmd` falls back to the default instead of failing validation.
 */
export function load<S extends SettingsSchema>(schema: S, env: Environment = processEnvironment()): Settings<S> {
  const problems: string[] = [];
  const values: Record<string, unknown> = {};
  for (const [name, declared] of Object.entries(schema)) {
    const text = env[name];
    if (text === undefined || text === '') {
      values[name] = declared.fallback;
      continue;
    }
    const parsed = declared.parser.safeParse(text);
    if (parsed.success) values[name] = parsed.data;
    else for (const issue of parsed.error.issues) problems.push(`${[name, ...issue.path].join('.')}: ${issue.message}`);
  }
  if (problems.length > 0) throw configInvalid(problems);
  // Every key of the schema was assigned above with its parser's output or its fallback.
  return values as Settings<S>;
}

/** The one CONFIG_INVALID error: one line per problem, each starting with the variable it is about. */
export function configInvalid(problems: readonly string[]): RheoError {
  return rheoError('CONFIG_INVALID', { problems: problems.join('\n  ') }, { details: { problems: [...problems] } });
}

/** The running process's environment: the one place it is taken from, and only when asked. */
export function processEnvironment(): Environment {
  return process.env;
}

// ---- parsers: one of each ------------------------------------------------------------------

/** Any non-empty text (after the empty-means-unset rule, so this bounds length or shape only). */
export function text(options: { max?: number; pattern?: RegExp; patternName?: string } = {}): Parser<string> {
  let parser = z.string().min(1);
  if (options.max !== undefined) parser = parser.max(options.max);
  if (options.pattern) parser = parser.regex(options.pattern, options.patternName ?? `matching ${options.pattern}`);
  return parser;
}

/** `true`/`false`, `1`/`0` or `yes`/`no`, for every component alike. */
export const bool: Parser<boolean> = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((value) => value === 'true' || value === '1' || value === 'yes');

/** An integer from `min` to `max`. */
export function int(min: number, max: number): Parser<number> {
  return z.coerce.number().int().min(min).max(max);
}

/** A duration in whole milliseconds, from `min` to `max` (the variables say so by ending in `_MS`). */
export function duration(min: number, max: number): Parser<number> {
  return int(min, max);
}

/** A number above zero, up to `max` when given. */
export function positive(max?: number): Parser<number> {
  const parser = z.coerce.number().positive();
  return max === undefined ? parser : parser.max(max);
}

/** Comma-separated items, trimmed, empty ones dropped; at least one. */
export const list: Parser<string[]> = z
  .string()
  .transform((value) =>
    value
      .split(',')
      .map((part) => part.trim())
      .filter(Boolean),
  )
  .pipe(z.array(z.string()).min(1));

/** One of the given words. */
export function oneOf<const Words extends readonly [string, ...string[]]>(words: Words): Parser<Words[number]> {
  return z.enum(words);
}

/** An absolute URL. */
export const url: Parser<string> = z.url();

/** JSON text whose value matches `schema`. */
export function json<T>(schema: z.ZodType<T>): Parser<T> {
  return z
    .string()
    .transform((value, ctx): unknown => {
      try {
        return JSON.parse(value) as unknown;
      } catch {
        ctx.addIssue({ code: 'custom', message: 'not JSON' });
        return z.NEVER;
      }
    })
    .pipe(schema);
}
