/**
 * A small client for the Confluent Schema Registry REST API (served by Apicurio Registry 3 under
 * `/apis/ccompat/v7`). It speaks HTTP only; what registering safely means lives in codec.ts.
 * Failures are typed: unreachable, timed out or 5xx/429 → SchemaRegistryUnavailableError (retriable);
 * a refusal retrying cannot fix → SchemaRegistryRejectedError; "not found" answers become `undefined`.
 */
import {
  SchemaIncompatibleError,
  SchemaInvalidError,
  SchemaRegistryRejectedError,
  SchemaRegistryUnavailableError,
} from './errors.ts';

export const COMPATIBILITY_LEVELS = [
  'BACKWARD',
  'BACKWARD_TRANSITIVE',
  'FORWARD',
  'FORWARD_TRANSITIVE',
  'FULL',
  'FULL_TRANSITIVE',
  'NONE',
] as const;
export type Compatibility = (typeof COMPATIBILITY_LEVELS)[number];

export interface RegisteredVersion {
  subject: string;
  version: number;
  id: number;
  /** The schema text as the registry stores it. */
  schema: string;
}

export interface StoredSchema {
  /** AVRO, JSON or PROTOBUF; the Confluent API omits it for Avro. */
  schemaType: string;
  schema: string;
}

export interface CompatibilityResult {
  compatible: boolean;
  /** The registry's reasons when it gives them (`?verbose=true`); may be empty. */
  messages: string[];
}

/** What the codec needs from a registry; HttpSchemaRegistry implements it, unit tests use an in-memory fake. */
export interface SchemaRegistryApi {
  /** The registry's address, for messages. */
  readonly url: string;
  /** The schema with this id, or undefined when the registry has none. */
  schemaById(id: number): Promise<StoredSchema | undefined>;
  subjects(): Promise<string[]>;
  /** Version numbers of a subject; empty when the subject does not exist. */
  versions(subject: string): Promise<number[]>;
  subjectVersion(subject: string, version: number | 'latest'): Promise<RegisteredVersion | undefined>;
  /** The version of `subject` whose schema is `schema`, or undefined when it is not registered there. */
  lookup(subject: string, schema: string): Promise<RegisteredVersion | undefined>;
  /** Registers and returns the id; an incompatible schema throws SchemaIncompatibleError. */
  register(subject: string, schema: string): Promise<number>;
  /** The subject's own compatibility level, or undefined when it has none (the global default applies). */
  getCompatibility(subject: string): Promise<Compatibility | undefined>;
  setCompatibility(subject: string, level: Compatibility): Promise<void>;
  /** Checks `schema` against a version of an existing subject without registering it. */
  testCompatibility(subject: string, schema: string, version?: number | 'latest'): Promise<CompatibilityResult>;
}

export interface HttpSchemaRegistryOptions {
  /** Base URL, e.g. `http://127.0.0.1:18081/apis/ccompat/v7`. */
  url: string;
  auth?: { username: string; password: string };
  /** Per-request timeout; default 10 s. */
  timeoutMs?: number;
  /** Injectable for tests. */
  fetch?: typeof fetch;
}

const CONTENT_TYPE = 'application/vnd.schemaregistry.v1+json';

interface Answer {
  status: number;
  body: unknown;
}

export class HttpSchemaRegistry implements SchemaRegistryApi {
  readonly url: string;
  readonly #authorization: string | undefined;
  readonly #timeoutMs: number;
  readonly #fetch: typeof fetch;

  constructor(options: HttpSchemaRegistryOptions) {
    this.url = options.url.replace(/\/+$/, '');
    this.#authorization = options.auth
      ? `Basic ${Buffer.from(`${options.auth.username}:${options.auth.password}`).toString('base64')}`
      : undefined;
    this.#timeoutMs = options.timeoutMs ?? 10_000;
    this.#fetch = options.fetch ?? fetch;
  }

  async schemaById(id: number): Promise<StoredSchema | undefined> {
    const answer = await this.#request('GET', `/schemas/ids/${id}`, undefined, [404]);
    if (answer.status === 404) return undefined;
    const body = answer.body as { schema?: unknown; schemaType?: unknown };
    if (typeof body.schema !== 'string') throw this.#unexpected('GET', `/schemas/ids/${id}`, answer);
    return { schema: body.schema, schemaType: typeof body.schemaType === 'string' ? body.schemaType.toUpperCase() : 'AVRO' };
  }

  async subjects(): Promise<string[]> {
    const answer = await this.#request('GET', '/subjects');
    return Array.isArray(answer.body) ? answer.body.map(String) : [];
  }

  async versions(subject: string): Promise<number[]> {
    const answer = await this.#request('GET', `/subjects/${enc(subject)}/versions`, undefined, [404]);
    if (answer.status === 404) return [];
    return Array.isArray(answer.body) ? answer.body.map(Number).sort((a, b) => a - b) : [];
  }

  async subjectVersion(subject: string, version: number | 'latest'): Promise<RegisteredVersion | undefined> {
    const path = `/subjects/${enc(subject)}/versions/${version}`;
    const answer = await this.#request('GET', path, undefined, [404]);
    if (answer.status === 404) return undefined;
    return this.#registeredVersion('GET', path, answer, subject);
  }

  async lookup(subject: string, schema: string): Promise<RegisteredVersion | undefined> {
    const path = `/subjects/${enc(subject)}`;
    const answer = await this.#request('POST', path, { schema }, [404]);
    if (answer.status === 404) return undefined;
    return this.#registeredVersion('POST', path, answer, subject, schema);
  }

  async register(subject: string, schema: string): Promise<number> {
    const path = `/subjects/${enc(subject)}/versions`;
    const answer = await this.#request('POST', path, { schema }, [409, 422]);
    if (answer.status === 409) throw new SchemaIncompatibleError(subject, registryMessages(answer.body));
    if (answer.status === 422) {
      throw new SchemaInvalidError(
        `registry refused the schema for subject "${subject}" as invalid: ${registryMessages(answer.body).join('; ')}`,
        {
          details: { subject },
        },
      );
    }
    const id = (answer.body as { id?: unknown }).id;
    if (typeof id !== 'number') throw this.#unexpected('POST', path, answer);
    return id;
  }

  async getCompatibility(subject: string): Promise<Compatibility | undefined> {
    const answer = await this.#request('GET', `/config/${enc(subject)}`, undefined, [404]);
    if (answer.status === 404) return undefined;
    const body = answer.body as { compatibilityLevel?: unknown; compatibility?: unknown };
    const level = String(body.compatibilityLevel ?? body.compatibility ?? '').toUpperCase();
    return (COMPATIBILITY_LEVELS as readonly string[]).includes(level) ? (level as Compatibility) : undefined;
  }

  async setCompatibility(subject: string, level: Compatibility): Promise<void> {
    await this.#request('PUT', `/config/${enc(subject)}`, { compatibility: level });
  }

  async testCompatibility(subject: string, schema: string, version: number | 'latest' = 'latest'): Promise<CompatibilityResult> {
    const path = `/compatibility/subjects/${enc(subject)}/versions/${version}?verbose=true`;
    const answer = await this.#request('POST', path, { schema }, [409, 422]);
    if (answer.status === 409 || answer.status === 422) return { compatible: false, messages: registryMessages(answer.body) };
    const body = answer.body as { is_compatible?: unknown; messages?: unknown };
    if (typeof body.is_compatible !== 'boolean') throw this.#unexpected('POST', path, answer);
    return { compatible: body.is_compatible, messages: Array.isArray(body.messages) ? body.messages.map(String) : [] };
  }

  #registeredVersion(method: string, path: string, answer: Answer, subject: string, schema?: string): RegisteredVersion {
    const body = answer.body as { subject?: unknown; version?: unknown; id?: unknown; schema?: unknown };
    if (typeof body.version !== 'number' || typeof body.id !== 'number') throw this.#unexpected(method, path, answer);
    return {
      subject: typeof body.subject === 'string' ? body.subject : subject,
      version: body.version,
      id: body.id,
      schema: typeof body.schema === 'string' ? body.schema : (schema ?? ''),
    };
  }

  /** One HTTP exchange. `expected` lists the non-2xx statuses the caller handles itself. */
  async #request(method: string, path: string, body?: unknown, expected: readonly number[] = []): Promise<Answer> {
    const headers: Record<string, string> = { accept: `${CONTENT_TYPE}, application/json` };
    if (body !== undefined) headers['content-type'] = CONTENT_TYPE;
    if (this.#authorization) headers.authorization = this.#authorization;
    let response: Response;
    try {
      response = await this.#fetch(`${this.url}${path}`, {
        method,
        headers,
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(this.#timeoutMs),
      });
    } catch (error) {
      throw new SchemaRegistryUnavailableError(this.url, `${method} ${path}: ${networkReason(error, this.#timeoutMs)}`, {
        cause: error,
      });
    }
    const text = await response.text().catch(() => '');
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      // keep the raw text for the message
    }
    const answer = { status: response.status, body: parsed };
    if (response.ok || expected.includes(response.status)) return answer;
    const reason = `${method} ${path} answered ${response.status}: ${registryMessages(parsed).join('; ') || response.statusText}`;
    if (response.status >= 500 || response.status === 429 || response.status === 408) {
      throw new SchemaRegistryUnavailableError(this.url, reason, { httpStatus: response.status });
    }
    const registryCode = (parsed as { error_code?: unknown } | undefined)?.error_code;
    throw new SchemaRegistryRejectedError(
      `schema registry at ${this.url} refused ${reason}${response.status === 401 || response.status === 403 ? ' (check RHEO_SCHEMA_REGISTRY_USERNAME and _PASSWORD)' : ''}`,
      response.status,
      typeof registryCode === 'number' ? registryCode : undefined,
    );
  }

  #unexpected(method: string, path: string, answer: Answer): SchemaRegistryRejectedError {
    return new SchemaRegistryRejectedError(
      `schema registry at ${this.url} gave an unexpected answer to ${method} ${path} (${answer.status}): ${JSON.stringify(answer.body)?.slice(0, 200)}`,
      answer.status,
    );
  }
}

function enc(segment: string): string {
  return encodeURIComponent(segment);
}

/** The human part of a registry error body (`{error_code, message}`, Apicurio's `{detail, title}`, or `messages`). */
export function registryMessages(body: unknown): string[] {
  if (body === undefined || body === null || body === '') return [];
  if (typeof body === 'string') return [body.slice(0, 500)];
  if (typeof body !== 'object') return [String(body)];
  const b = body as { message?: unknown; messages?: unknown; detail?: unknown; title?: unknown; causes?: unknown };
  const out: string[] = [];
  if (Array.isArray(b.messages)) out.push(...b.messages.map(String));
  if (typeof b.message === 'string' && b.message) out.push(b.message);
  if (typeof b.detail === 'string' && b.detail && !out.includes(b.detail)) out.push(b.detail);
  if (Array.isArray(b.causes)) {
    for (const cause of b.causes) {
      const c = cause as { description?: unknown; context?: unknown };
      if (typeof c.description === 'string')
        out.push(typeof c.context === 'string' ? `${c.description} at ${c.context}` : c.description);
    }
  }
  if (out.length === 0 && typeof b.title === 'string') out.push(b.title);
  return out;
}

function networkReason(error: unknown, timeoutMs: number): string {
  if (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError'))
    return `no answer within ${timeoutMs} ms`;
  const cause = (error as { cause?: { code?: unknown; message?: unknown } } | undefined)?.cause;
  if (cause && typeof cause.code === 'string')
    return `${cause.code}${typeof cause.message === 'string' ? ` (${cause.message})` : ''}`;
  const message = error instanceof Error ? error.message : String(error);
  return cause && typeof cause.message === 'string' ? `${message}: ${cause.message}` : message;
}
