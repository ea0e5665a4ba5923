/**
 * The one error catalogue. Every error Rheo raises on purpose has a stable code (never reused),
 * a message, the HTTP status the gateway answers with, and whether retrying can help. The retrier
 * and the processor runner read `retriable`; the gateway reads `status`. The README's error table
 * documents every code, and unit tests keep that table and this catalogue in step, pin the number
 * of codes, keep retired codes retired, and check that every code is raised somewhere.
 *
 * Codes whose callers would otherwise repeat one phrasing carry a message `template`; raise them
 * with `rheoError(code, params)`, whose `params` are typed from the template's `{placeholders}`.
 */

export interface ErrorSpec {
  status: number;
  retriable: boolean;
  /** One line for the docs: when it happens and what to do. */
  description: string;
  /** The message, with `{name}` placeholders filled from `rheoError`'s params. */
  template?: string;
}

/**
 * Codes that once existed and were removed: never reuse one for a new meaning, since logs, alerts
 * and clients may still match on the old one. A unit test checks no live code is listed here.
 */
export const RETIRED_CODES: readonly string[] = [
  // Topic drift is a report (`rheo topics ensure` lists it and exits 3), never an error.
  'TOPIC_DRIFT',
];

export const ERROR_CATALOGUE = {
  CONFIG_INVALID: {
    status: 500,
    retriable: false,
    description: 'An environment variable failed validation; the message names each one.',
    template: 'invalid configuration:\n  {problems}',
  },
  KAFKA_UNAVAILABLE: { status: 503, retriable: true, description: 'The Kafka cluster could not be reached or timed out.' },
  KAFKA_TOPIC_MISSING: {
    status: 503,
    retriable: false,
    description: 'A catalogue topic does not exist on the cluster; run `rheo topics ensure`.',
    template: 'topic {topic} has no partitions (run `rheo topics ensure`)',
  },
  TOPIC_NOT_IN_CATALOGUE: {
    status: 500,
    retriable: false,
    description: 'Code referred to a topic that the catalogue does not declare.',
    template: 'topic {topic} is not in the catalogue: {reason}',
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
  SCHEMA_INVALID: {
    status: 500,
    retriable: false,
    description: 'A schema (an .avsc contract or a derived feature-group schema) is not valid Avro.',
  },
  SCHEMA_REGISTRY_REJECTED: {
    status: 502,
    retriable: false,
    description: 'The schema registry refused a request retrying cannot fix (401/403 or another 4xx).',
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
  MODEL_NOT_FOUND: {
    status: 404,
    retriable: false,
    description: 'The named model, version or alias is not in the registry.',
    template: '{subject} is not registered',
  },
  ILLEGAL_TRANSITION: {
    status: 409,
    retriable: false,
    description:
      'A registry command breaks a lifecycle rule (stage skip, missing or self approval, approving twice); no event was produced.',
  },
  ARTIFACT_INTEGRITY_FAILED: {
    status: 500,
    retriable: false,
    description:
      "An artifact's bytes do not match its registered sha256 (tampered or truncated); it is refused and the previous version keeps serving.",
  },
  ARTIFACT_UNAVAILABLE: {
    status: 503,
    retriable: true,
    description: 'The artifact store could not be read or written (missing file, S3 error).',
  },
  MODEL_INVALID: {
    status: 422,
    retriable: false,
    description: 'An ONNX artifact cannot be loaded, or its inputs and outputs do not match the registered schema.',
  },
  MODEL_NOT_SERVING: {
    status: 503,
    retriable: true,
    description: 'The model has no loaded version to answer with (none in production, or still loading).',
  },
  FEATURES_MISSING: {
    status: 422,
    retriable: false,
    description: 'Inputs the model needs were neither in the request nor in the online store; the message names them.',
  },
  FEATURES_UNAVAILABLE: {
    status: 503,
    retriable: true,
    description: 'The online feature store could not be read for the inputs a request did not give.',
  },
  UNAUTHENTICATED: { status: 401, retriable: false, description: 'No API key, or an unknown one, was presented.' },
  FORBIDDEN: { status: 403, retriable: false, description: 'The API key is valid but lacks the scope the route needs.' },
  RATE_LIMITED: {
    status: 429,
    retriable: true,
    description: "The API key's request rate is over its limit; retry after the `retry-after` seconds.",
  },
  PAYLOAD_TOO_LARGE: { status: 413, retriable: false, description: 'The request body is over the size limit.' },
  UNSUPPORTED_MEDIA_TYPE: {
    status: 415,
    retriable: false,
    description: 'The request body has a content type the route does not accept.',
  },
  DEADLINE_EXCEEDED: {
    status: 504,
    retriable: true,
    description: 'The request did not finish within its deadline; nothing was returned for it.',
  },
  TRAINING_DATA_INSUFFICIENT: {
    status: 422,
    retriable: false,
    description:
      'A training set is too small, lacks a class in a split, or misses a feature in too many rows; the message says which. Nothing was registered.',
  },
  EXPORT_MISMATCH: {
    status: 500,
    retriable: false,
    description:
      'An exported ONNX model does not reproduce TensorFlow.js outputs within tolerance on the test split; nothing was registered.',
  },
  PROJECT_INVALID: {
    status: 500,
    retriable: false,
    description:
      'A Rheo project (`rheo.project.ts`) is missing, cannot be imported, or its declaration is not valid; the message lists every problem.',
    template: 'project {project} is not valid:\n  {problems}',
  },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof ERROR_CATALOGUE;

/** The codes that carry a message template. */
export type TemplatedCode = {
  [C in ErrorCode]: (typeof ERROR_CATALOGUE)[C] extends { template: string } ? C : never;
}[ErrorCode];

/** The `{placeholder}` names of a template, as a union of string literals. */
type Placeholders<T extends string> = T extends `${string}{${infer Name}}${infer Rest}` ? Name | Placeholders<Rest> : never;

/** The values a templated code's message needs, one per placeholder. */
export type TemplateParams<C extends TemplatedCode> = Record<
  Placeholders<(typeof ERROR_CATALOGUE)[C]['template']>,
  string | number
>;

interface RheoErrorOptions {
  cause?: unknown;
  details?: Record<string, unknown>;
}

export class RheoError extends Error {
  override name = 'RheoError';
  readonly code: ErrorCode;
  readonly status: number;
  readonly retriable: boolean;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, options: RheoErrorOptions = {}) {
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
 * A RheoError of a templated code, its message filled in from `params`. The params are not copied
 * into `details` (which the gateway answers with); pass `details` for what a client should see.
 */
export function rheoError<C extends TemplatedCode>(
  code: C,
  params: TemplateParams<C>,
  options: RheoErrorOptions = {},
): RheoError {
  const template: string = ERROR_CATALOGUE[code].template;
  const values: Record<string, string | number> = params;
  const message = template.replace(/\{(\w+)\}/g, (placeholder, name: string) => String(values[name] ?? placeholder));
  return new RheoError(code, message, options);
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
