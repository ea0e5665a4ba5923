/**
 * The one error catalogue. Every error Rheo raises on purpose has a stable code (never reused),
 * a message, the HTTP status the gateway answers with, and whether retrying can help. The retrier
 * and the processor runner read `retriable`; the gateway reads `status`. The README's error table
 * documents every code, and a unit test keeps that table and this catalogue in step.
 */

export interface ErrorSpec {
  status: number;
  retriable: boolean;
  /** One line for the docs: when it happens and what to do. */
  description: string;
}

export const ERROR_CATALOGUE = {
  CONFIG_INVALID: {
    status: 500,
    retriable: false,
    description: 'An environment variable failed validation; the message names each one.',
  },
  KAFKA_UNAVAILABLE: { status: 503, retriable: true, description: 'The Kafka cluster could not be reached or timed out.' },
  KAFKA_TOPIC_MISSING: {
    status: 503,
    retriable: false,
    description: 'A catalogue topic does not exist on the cluster; run `rheo topics ensure`.',
  },
  TOPIC_NOT_IN_CATALOGUE: {
    status: 500,
    retriable: false,
    description: 'Code referred to a topic that the catalogue does not declare.',
  },
  TOPIC_DRIFT: {
    status: 500,
    retriable: false,
    description: 'The cluster topic differs from its catalogue entry in a way that cannot be fixed in place.',
  },
  SCHEMA_REGISTRY_UNAVAILABLE: {
    status: 503,
    retriable: true,
    description: 'The schema registry could not be reached or answered 5xx.',
  },
  SCHEMA_INCOMPATIBLE: {
    status: 409,
    retriable: false,
    description: 'A schema change breaks the subject compatibility (BACKWARD by default); nothing was registered.',
  },
  SCHEMA_VALIDATION_FAILED: {
    status: 400,
    retriable: false,
    description: 'A value does not match its Avro schema; the message names the field.',
  },
  SCHEMA_DECODE_FAILED: {
    status: 422,
    retriable: false,
    description: 'Bytes are not a Confluent-framed Avro record of a known schema.',
  },
  SINK_UNAVAILABLE: {
    status: 503,
    retriable: true,
    description: 'A sink (Redis, ClickHouse, Kafka) refused or timed out a write; the runner pauses and retries.',
  },
  PROCESSING_FAILED: {
    status: 500,
    retriable: false,
    description:
      'A processor rejected a record; per policy it goes to the dead-letter topic, stops the processor, or is skipped.',
  },
  SHUTTING_DOWN: { status: 503, retriable: true, description: 'The service is draining after SIGTERM.' },
  BAD_REQUEST: { status: 400, retriable: false, description: 'The request failed validation; the message says which part.' },
  NOT_FOUND: { status: 404, retriable: false, description: 'The named resource does not exist.' },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof ERROR_CATALOGUE;

export class RheoError extends Error {
  override name = 'RheoError';
  readonly code: ErrorCode;
  readonly status: number;
  readonly retriable: boolean;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, options: { cause?: unknown; details?: Record<string, unknown> } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    const spec: ErrorSpec = ERROR_CATALOGUE[code];
    this.code = code;
    this.status = spec.status;
    this.retriable = spec.retriable;
    this.details = options.details;
  }

  toJSON(): Record<string, unknown> {
    return {
      code: this.code,
      message: this.message,
      retriable: this.retriable,
      ...(this.details ? { details: this.details } : {}),
    };
  }
}

/**
 * Whether retrying may help. Our own errors say so; third-party errors are retriable when they
 * say so themselves (kafkajs sets `retriable`) or are network-level failures.
 */
export function isRetriable(error: unknown): boolean {
  if (error instanceof RheoError) return error.retriable;
  if (typeof error !== 'object' || error === null) return false;
  const candidate = error as { retriable?: unknown; code?: unknown };
  if (typeof candidate.retriable === 'boolean') return candidate.retriable;
  return typeof candidate.code === 'string' && NETWORK_CODES.has(candidate.code);
}

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
]);

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
