/** Structured logs (pino) with one redaction list, so no component can log a secret by accident. */
import { type Logger, pino } from 'pino';

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

export interface LoggerOptions {
  level?: string;
  /** Where lines go; defaults to stderr so stdout stays clean for CLI results. */
  destination?: NodeJS.WritableStream;
}

export function createLogger(name: string, options: LoggerOptions = {}): Logger {
  const level = options.level ?? process.env.RHEO_LOG_LEVEL ?? 'info';
  return pino(
    { name, level, redact: { paths: REDACT, censor: '[redacted]' }, base: { pid: process.pid } },
    (options.destination ?? process.stderr) as pino.DestinationStream,
  );
}
