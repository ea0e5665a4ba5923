/**
 * Structured logs (pino) with one redaction list, so no component can log a secret by accident.
 * The level is the one setting `RHEO_LOG_LEVEL`, declared here and read only through `logLevel`.
 */
import { type Logger, pino } from 'pino';
import { type Environment, load, oneOf, optional, processEnvironment } from './settings.ts';

export type { Logger };

const REDACT = [
  'password',
  '*.password',
  '*.*.password',
  'sasl.password',
  'apiKey',
  '*.apiKey',
  'authorization',
  '*.authorization',
];

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export type LogLevel = (typeof LOG_LEVELS)[number];

/** The level of services when `RHEO_LOG_LEVEL` is unset. */
export const DEFAULT_LOG_LEVEL: LogLevel = 'info';

export const LOG_SETTINGS = {
  // Optional rather than defaulted: a CLI command quieter than a service passes its own fallback.
  RHEO_LOG_LEVEL: optional(oneOf(LOG_LEVELS), {
    description: 'pino level; logs are JSON on stderr, secrets redacted',
    documentedDefault: DEFAULT_LOG_LEVEL,
  }),
} as const;

/** `RHEO_LOG_LEVEL` when set, else `fallback` (services use `info`; CLI commands pass a quieter one). */
export function logLevel(fallback: LogLevel = DEFAULT_LOG_LEVEL, env: Environment = processEnvironment()): LogLevel {
  return load(LOG_SETTINGS, env).RHEO_LOG_LEVEL ?? fallback;
}

export interface LoggerOptions {
  /** The level; when absent, `RHEO_LOG_LEVEL`, else `defaultLevel`. */
  level?: string;
  /** The level when neither `level` nor `RHEO_LOG_LEVEL` says one; `info` unless given. */
  defaultLevel?: LogLevel;
  /** Where lines go; defaults to stderr so stdout stays clean for CLI results. */
  destination?: NodeJS.WritableStream;
}

export function createLogger(name: string, options: LoggerOptions = {}): Logger {
  const level = options.level ?? logLevel(options.defaultLevel);
  return pino(
    { name, level, redact: { paths: REDACT, censor: '[redacted]' }, base: { pid: process.pid } },
    (options.destination ?? process.stderr) as pino.DestinationStream,
  );
}
