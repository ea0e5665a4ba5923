/**
 * Errors of the schema layer. Those with a catalogue code extend `RheoError` (kernel/errors.ts) and add
 * the fields a caller acts on: the subject and reasons of an incompatible change, the reason a record
 * could not be decoded (the runner's dead-letter header), the fields a value got wrong.
 */
import { RheoError } from '../kernel/errors.ts';

/** A schema change breaks the subject's compatibility level; nothing was registered. */
export class SchemaIncompatibleError extends RheoError {
  override name = 'SchemaIncompatibleError';
  readonly subject: string;
  readonly reasons: readonly string[];

  constructor(subject: string, reasons: readonly string[], options: { compatibility?: string; cause?: unknown } = {}) {
    const level = options.compatibility ? ` (${options.compatibility})` : '';
    const why = reasons.length ? reasons.join('; ') : 'the registry gave no reason';
    super('SCHEMA_INCOMPATIBLE', `schema for subject "${subject}" is incompatible with its latest version${level}: ${why}`, {
      cause: options.cause,
      details: { subject, reasons: [...reasons], ...(options.compatibility ? { compatibility: options.compatibility } : {}) },
    });
    this.subject = subject;
    this.reasons = reasons;
  }
}

/**
 * Why bytes could not be decoded. The first three are framing problems, the rest body problems:
 * - `UNKNOWN_MAGIC_BYTE`: the first byte is not 0, so this is not Confluent-framed Avro;
 * - `TRUNCATED`: the record ends before its header or before its Avro body is complete;
 * - `UNKNOWN_SCHEMA_ID`: the registry has no schema with the id in the header;
 * - `NOT_AVRO`: the id names a JSON Schema or Protobuf schema;
 * - `INVALID_BODY`: the body does not parse as the writer schema (corrupt, or bytes left over);
 * - `UNRESOLVABLE`: the reader schema cannot read the writer schema (an incompatible producer).
 */
export type DecodeFailure =
  | 'UNKNOWN_MAGIC_BYTE'
  | 'TRUNCATED'
  | 'UNKNOWN_SCHEMA_ID'
  | 'NOT_AVRO'
  | 'INVALID_BODY'
  | 'UNRESOLVABLE';

/** Bytes that are not a decodable Confluent-framed Avro record. Never retriable: the runner dead-letters it. */
export class SchemaDecodeError extends RheoError {
  override name = 'SchemaDecodeError';
  readonly reason: DecodeFailure;
  readonly schemaId: number | undefined;

  constructor(reason: DecodeFailure, message: string, options: { schemaId?: number; cause?: unknown } = {}) {
    super('SCHEMA_DECODE_FAILED', `${reason}: ${message}`, {
      cause: options.cause,
      details: { reason, ...(options.schemaId === undefined ? {} : { schemaId: options.schemaId }) },
    });
    this.reason = reason;
    this.schemaId = options.schemaId;
  }
}

/** One wrong spot in a value: `path` is dotted (`inputs.amount`, `checklist.0.done`); empty for the value itself. */
export interface ValidationIssue {
  path: string;
  /** The Avro type expected there, as JSON (`"double"`, `["null","string"]`), or `undeclared field`. */
  expected: string;
  /** A short rendering of the value found. */
  actual: string;
}

/** A value does not match the schema it is being encoded with; nothing was encoded. */
export class SchemaValidationError extends RheoError {
  override name = 'SchemaValidationError';
  readonly schemaName: string;
  readonly issues: readonly ValidationIssue[];

  constructor(schemaName: string, issues: readonly ValidationIssue[], options: { subject?: string; cause?: unknown } = {}) {
    const where = options.subject ? ` (subject "${options.subject}")` : '';
    const list = issues.length ? issues.map(formatIssue).join('; ') : 'avsc rejected it without naming a field';
    super('SCHEMA_VALIDATION_FAILED', `value does not match ${schemaName}${where}: ${list}`, {
      cause: options.cause,
      details: {
        schema: schemaName,
        ...(options.subject ? { subject: options.subject } : {}),
        issues: issues.map((i) => ({ ...i })),
      },
    });
    this.schemaName = schemaName;
    this.issues = issues;
  }
}

function formatIssue(issue: ValidationIssue): string {
  const at = issue.path || '(value)';
  return issue.expected === 'undeclared field'
    ? `${at} is not a field of the schema`
    : `${at} expected ${issue.expected}, got ${issue.actual}`;
}

/** The registry could not be reached, timed out or answered 5xx/429. Retriable. */
export class SchemaRegistryUnavailableError extends RheoError {
  override name = 'SchemaRegistryUnavailableError';
  readonly url: string;

  constructor(url: string, message: string, options: { cause?: unknown; httpStatus?: number } = {}) {
    super('SCHEMA_REGISTRY_UNAVAILABLE', `schema registry unavailable at ${url}: ${message}`, {
      cause: options.cause,
      details: { url, ...(options.httpStatus === undefined ? {} : { httpStatus: options.httpStatus }) },
    });
    this.url = url;
  }
}

/** A schema (a `.avsc` file, a derived feature-group schema) is not valid Avro, or a declaration cannot become one. */
export class SchemaInvalidError extends RheoError {
  override name = 'SchemaInvalidError';

  constructor(message: string, options: { cause?: unknown; details?: Record<string, unknown> } = {}) {
    super('SCHEMA_INVALID', message, options);
  }
}

/** The registry refused a request for a reason retrying cannot fix (401/403, bad request, unexpected 4xx). */
export class SchemaRegistryRejectedError extends RheoError {
  override name = 'SchemaRegistryRejectedError';
  readonly httpStatus: number;
  readonly registryCode: number | undefined;

  constructor(message: string, httpStatus: number, registryCode?: number) {
    super('SCHEMA_REGISTRY_REJECTED', message, {
      details: { httpStatus, ...(registryCode === undefined ? {} : { registryCode }) },
    });
    this.httpStatus = httpStatus;
    this.registryCode = registryCode;
  }
}
