/**
 * Avro values to Confluent-framed bytes and back, through a schema registry.
 *
 * Registering is the safe path for producers: the subject's compatibility level is set (BACKWARD by
 * default), the new schema is checked against the latest version by the registry and by avsc (the
 * library our readers resolve with), and an incompatible schema throws SchemaIncompatibleError naming
 * the subject and the reasons, before any record is produced. Decoding caches writer schemas by id,
 * resolves them into the caller's reader schema, and turns every bad input into a SchemaDecodeError
 * with a reason the processor runner can put in a dead-letter header.
 */
import type { RheoConfig } from '../kernel/config.ts';
import { type AvroSchema, type AvroType, avroType, schemaName, schemaText, validationIssues } from './avro.ts';
import { SchemaDecodeError, SchemaIncompatibleError, SchemaInvalidError, SchemaValidationError } from './errors.ts';
import { frame, unframe } from './framing.ts';
import { type Compatibility, HttpSchemaRegistry, type SchemaRegistryApi } from './registry-client.ts';

/** A schema and its avsc type, with the TypeScript types of decoded values (T) and of values to encode (TIn). */
export interface SchemaContract<T = unknown, TIn = T> {
  /** Contract name, e.g. `Prediction` (what the topic catalogue's `valueSchema` says). */
  readonly name: string;
  readonly schema: AvroSchema;
  readonly type: AvroType;
  /** Phantom: carries T and TIn for inference; never set. */
  readonly _types?: { readonly value: T; readonly input: TIn };
}

export interface RegisteredSchema {
  subject: string;
  id: number;
  version: number;
  compatibility: Compatibility;
  /** False when this exact schema was already registered under the subject. */
  created: boolean;
}

export interface CompatibilityReport {
  subject: string;
  compatibility: Compatibility;
  compatible: boolean;
  /** Why not, each prefixed by who said so (`registry:` or `avsc:`). Empty when compatible. */
  reasons: string[];
  /** Latest version compared against; undefined for a new subject (always compatible). */
  latestVersion: number | undefined;
}

export interface Decoded<T> {
  value: T;
  /** Id of the writer schema in the record's header. */
  schemaId: number;
  /** Full name of the writer schema, e.g. `io.rheo.Prediction`. */
  writerName: string;
}

export interface SchemaCodecOptions {
  /** Compatibility level `register` sets on every subject; default BACKWARD. */
  compatibility?: Compatibility;
  /** How long an id the registry did not know is answered from memory, so poison records cannot flood it; default 30 s. */
  unknownIdTtlMs?: number;
  now?: () => number;
}

interface WriterSchema {
  id: number;
  type: AvroType;
  name: string;
}

type Resolution = { resolver: unknown } | { same: true } | { error: SchemaDecodeError };

/** Subject of a topic's key or value under the topic name strategy: `<topic>-value`, `<topic>-key`. */
export function subjectFor(topic: string, part: 'key' | 'value' = 'value'): string {
  return `${topic}-${part}`;
}

export class SchemaCodec {
  readonly registry: SchemaRegistryApi;
  readonly compatibility: Compatibility;
  readonly #unknownIdTtlMs: number;
  readonly #now: () => number;
  readonly #writers = new Map<number, WriterSchema>();
  readonly #pending = new Map<number, Promise<WriterSchema>>();
  readonly #unknownUntil = new Map<number, number>();
  readonly #resolutions = new WeakMap<AvroType, Map<number, Resolution>>();
  /** Registrations in flight, so concurrent callers (one per partition, say) share one round of requests. */
  readonly #registering = new Map<string, Promise<RegisteredSchema>>();

  constructor(registry: SchemaRegistryApi, options: SchemaCodecOptions = {}) {
    this.registry = registry;
    this.compatibility = options.compatibility ?? 'BACKWARD';
    this.#unknownIdTtlMs = options.unknownIdTtlMs ?? 30_000;
    this.#now = options.now ?? Date.now;
  }

  /** A codec on the configured registry (`loadConfig().registry`). */
  static fromConfig(registry: RheoConfig['registry'], options: SchemaCodecOptions & { timeoutMs?: number } = {}): SchemaCodec {
    const http = new HttpSchemaRegistry({
      url: registry.url,
      ...(registry.auth ? { auth: registry.auth } : {}),
      ...(options.timeoutMs ? { timeoutMs: options.timeoutMs } : {}),
    });
    return new SchemaCodec(http, options);
  }

  /**
   * Registers `schema` under `subject` with the compatibility level set, or finds it registered
   * already. Idempotent. Throws SchemaIncompatibleError (nothing registered) when the schema breaks the level.
   */
  register(subject: string, schema: AvroSchema, options: { compatibility?: Compatibility } = {}): Promise<RegisteredSchema> {
    const level = options.compatibility ?? this.compatibility;
    const text = schemaText(schema);
    // Two concurrent first registrations would both set the subject's level, and the registry refuses the second.
    const key = `${subject}\u0000${level}\u0000${text}`;
    let inFlight = this.#registering.get(key);
    if (!inFlight) {
      inFlight = this.#register(subject, schema, text, level).finally(() => this.#registering.delete(key));
      this.#registering.set(key, inFlight);
    }
    return inFlight;
  }

  async #register(subject: string, schema: AvroSchema, text: string, level: Compatibility): Promise<RegisteredSchema> {
    const type = avroType(schema, `schema for subject "${subject}"`);

    const existing = await this.registry.lookup(subject, text);
    if (existing) {
      await this.#ensureCompatibility(subject, level);
      this.#remember(existing.id, type);
      return { subject, id: existing.id, version: existing.version, compatibility: level, created: false };
    }

    const isNew = (await this.registry.versions(subject)).length === 0;
    if (!isNew) {
      // The level first, so the registry checks (and later enforces) what we declare.
      await this.#ensureCompatibility(subject, level);
      const report = await this.#check(subject, text, type, level);
      if (!report.compatible) throw new SchemaIncompatibleError(subject, report.reasons, { compatibility: level });
    }
    const id = await this.registry.register(subject, text);
    // A new subject has nothing to be incompatible with; its level is set right after the first version.
    if (isNew) await this.#ensureCompatibility(subject, level);
    this.#remember(id, type);
    const registered = await this.registry.lookup(subject, text);
    if (!registered)
      throw new SchemaInvalidError(`registered schema ${id} under "${subject}" but the registry cannot find it again`);
    return { subject, id, version: registered.version, compatibility: level, created: true };
  }

  /** Whether `schema` could be registered under `subject` at `compatibility`, with reasons; registers nothing. */
  async checkCompatibility(
    subject: string,
    schema: AvroSchema,
    options: { compatibility?: Compatibility } = {},
  ): Promise<CompatibilityReport> {
    const level = options.compatibility ?? this.compatibility;
    const text = schemaText(schema);
    const type = avroType(schema, `schema for subject "${subject}"`);
    if ((await this.registry.versions(subject)).length === 0) {
      return { subject, compatibility: level, compatible: true, reasons: [], latestVersion: undefined };
    }
    // The registry checks against the subject's current level; when that is not the one asked about, only avsc can answer.
    return this.#check(subject, text, type, level, { askRegistry: (await this.registry.getCompatibility(subject)) === level });
  }

  /** Registers the contract under `<topic>-value` and returns a codec bound to that topic. */
  async forTopic<T, TIn = T>(
    topic: string,
    contract: SchemaContract<T, TIn>,
    options: { compatibility?: Compatibility } = {},
  ): Promise<TopicCodec<T, TIn>> {
    return this.forSubject(subjectFor(topic, 'value'), contract, { ...options, topic });
  }

  /** Registers the contract under `subject` and returns a codec bound to it. */
  async forSubject<T, TIn = T>(
    subject: string,
    contract: SchemaContract<T, TIn>,
    options: { compatibility?: Compatibility; topic?: string } = {},
  ): Promise<TopicCodec<T, TIn>> {
    const registered = await this.register(subject, contract.schema, options);
    return new TopicCodec<T, TIn>(this, registered, contract, options.topic ?? subject.replace(/-(key|value)$/, ''));
  }

  /** Encodes `value` with the schema registered under `schemaId` (fetched once, then cached). */
  async encode(schemaId: number, value: unknown): Promise<Buffer> {
    const writer = await this.#writer(schemaId);
    return encodeFramed(writer.type, schemaId, value);
  }

  /**
   * Decodes a framed record. With `reader`, the writer's schema is resolved into it (Avro schema
   * resolution: fields the reader lacks are dropped, fields the writer lacks get their defaults).
   */
  async decode<T = unknown>(bytes: Uint8Array, options: { reader?: AvroType } = {}): Promise<Decoded<T>> {
    const { schemaId, body } = unframe(bytes);
    const writer = await this.#writer(schemaId);
    const reader = options.reader;
    let resolver: unknown;
    if (reader) {
      const resolution = this.#resolution(reader, writer);
      if ('error' in resolution) throw resolution.error;
      if ('resolver' in resolution) resolver = resolution.resolver;
    }
    const value = readBody(reader ?? writer.type, body, resolver, schemaId);
    return { value: value as T, schemaId, writerName: writer.name };
  }

  /** The writer schema registered under `id` (cached). Throws SchemaDecodeError UNKNOWN_SCHEMA_ID / NOT_AVRO. */
  async schemaById(id: number): Promise<AvroType> {
    return (await this.#writer(id)).type;
  }

  async #ensureCompatibility(subject: string, level: Compatibility): Promise<void> {
    if ((await this.registry.getCompatibility(subject)) !== level) await this.registry.setCompatibility(subject, level);
  }

  async #check(
    subject: string,
    text: string,
    type: AvroType,
    level: Compatibility,
    options: { askRegistry?: boolean } = {},
  ): Promise<CompatibilityReport> {
    const versions = await this.registry.versions(subject);
    const latestVersion = versions[versions.length - 1];
    const reasons: string[] = [];
    if (options.askRegistry ?? true) {
      const verdict = await this.registry.testCompatibility(subject, text, 'latest');
      if (!verdict.compatible) {
        // Apicurio's verbose check answers without messages; the avsc lines below name the fields.
        const messages = verdict.messages.length
          ? verdict.messages
          : [`not ${level} compatible with version ${latestVersion} (no details given)`];
        reasons.push(...messages.map((m) => `registry: ${m}`));
      }
    }
    const against = level.endsWith('_TRANSITIVE') ? versions : latestVersion === undefined ? [] : [latestVersion];
    for (const version of against) {
      const stored = await this.registry.subjectVersion(subject, version);
      if (!stored) continue;
      const previous = avroType(stored.schema, `version ${version} of "${subject}"`);
      for (const problem of resolutionProblems(type, previous, level)) reasons.push(`avsc: version ${version}: ${problem}`);
    }
    return { subject, compatibility: level, compatible: reasons.length === 0, reasons, latestVersion };
  }

  #remember(id: number, type: AvroType): void {
    if (!this.#writers.has(id)) this.#writers.set(id, { id, type, name: schemaName(type) });
  }

  async #writer(id: number): Promise<WriterSchema> {
    const cached = this.#writers.get(id);
    if (cached) return cached;
    const unknownUntil = this.#unknownUntil.get(id);
    if (unknownUntil !== undefined) {
      if (unknownUntil > this.#now()) throw unknownId(id, this.registry.url);
      this.#unknownUntil.delete(id);
    }
    let pending = this.#pending.get(id);
    if (!pending) {
      pending = this.#fetchWriter(id).finally(() => this.#pending.delete(id));
      this.#pending.set(id, pending);
    }
    return pending;
  }

  async #fetchWriter(id: number): Promise<WriterSchema> {
    const stored = await this.registry.schemaById(id);
    if (!stored) {
      this.#unknownUntil.set(id, this.#now() + this.#unknownIdTtlMs);
      throw unknownId(id, this.registry.url);
    }
    if (stored.schemaType !== 'AVRO') {
      throw new SchemaDecodeError('NOT_AVRO', `schema ${id} is ${stored.schemaType}, not Avro`, { schemaId: id });
    }
    let type: AvroType;
    try {
      type = avroType(stored.schema, `schema ${id}`);
    } catch (error) {
      throw new SchemaDecodeError('INVALID_BODY', `schema ${id} from the registry does not parse: ${(error as Error).message}`, {
        schemaId: id,
        cause: error,
      });
    }
    const writer = { id, type, name: schemaName(type) };
    this.#writers.set(id, writer);
    return writer;
  }

  #resolution(reader: AvroType, writer: WriterSchema): Resolution {
    let byWriter = this.#resolutions.get(reader);
    if (!byWriter) {
      byWriter = new Map();
      this.#resolutions.set(reader, byWriter);
    }
    let resolution = byWriter.get(writer.id);
    if (!resolution) {
      if (reader === writer.type || reader.equals(writer.type)) resolution = { same: true };
      else {
        try {
          resolution = { resolver: reader.createResolver(writer.type) };
        } catch (error) {
          resolution = {
            error: new SchemaDecodeError(
              'UNRESOLVABLE',
              `reader ${schemaName(reader)} cannot read writer schema ${writer.id}: ${(error as Error).message}`,
              {
                schemaId: writer.id,
                cause: error,
              },
            ),
          };
        }
      }
      byWriter.set(writer.id, resolution);
    }
    return resolution;
  }
}

/** A codec bound to one subject and one contract: sync encode with the registered id, decode into the contract. */
export class TopicCodec<T, TIn = T> {
  readonly topic: string;
  readonly subject: string;
  readonly schemaId: number;
  readonly version: number;
  readonly contract: SchemaContract<T, TIn>;
  readonly #codec: SchemaCodec;

  constructor(codec: SchemaCodec, registered: RegisteredSchema, contract: SchemaContract<T, TIn>, topic: string) {
    this.#codec = codec;
    this.topic = topic;
    this.subject = registered.subject;
    this.schemaId = registered.id;
    this.version = registered.version;
    this.contract = contract;
  }

  /** Validates and encodes; a wrong value throws SchemaValidationError naming the fields. */
  encode(value: TIn): Buffer {
    return encodeFramed(this.contract.type, this.schemaId, value, this.subject);
  }

  /** Decodes a record written with any schema the contract can resolve (older or newer versions). */
  async decode(bytes: Uint8Array): Promise<T> {
    return (await this.decodeRecord(bytes)).value;
  }

  async decodeRecord(bytes: Uint8Array): Promise<Decoded<T>> {
    return this.#codec.decode<T>(bytes, { reader: this.contract.type });
  }
}

/**
 * Validates `value` against `type` (undeclared fields included) and frames its Avro body with `schemaId`.
 * Pure: no registry. Throws SchemaValidationError listing every wrong field.
 */
export function encodeFramed(type: AvroType, schemaId: number, value: unknown, subject?: string): Buffer {
  if (!type.isValid(value, { noUndeclaredFields: true })) {
    const issues = validationIssues(type, value, { noUndeclaredFields: true });
    throw new SchemaValidationError(schemaName(type), issues, subject ? { subject } : {});
  }
  let body: Buffer;
  try {
    body = type.toBuffer(value);
  } catch (error) {
    throw new SchemaValidationError(schemaName(type), validationIssues(type, value), {
      cause: error,
      ...(subject ? { subject } : {}),
    });
  }
  return frame(schemaId, body);
}

function readBody(type: AvroType, body: Buffer, resolver: unknown, schemaId: number): unknown {
  try {
    // avsc's typings name the resolver class but do not export it.
    return type.fromBuffer(body, resolver as Parameters<AvroType['fromBuffer']>[1]);
  } catch (error) {
    const message = (error as Error).message ?? String(error);
    const reason = /truncated/i.test(message) ? 'TRUNCATED' : 'INVALID_BODY';
    throw new SchemaDecodeError(reason, `Avro body (${body.length} bytes) does not decode with schema ${schemaId}: ${message}`, {
      schemaId,
      cause: error,
    });
  }
}

function unknownId(id: number, url: string): SchemaDecodeError {
  return new SchemaDecodeError('UNKNOWN_SCHEMA_ID', `the registry at ${url} has no schema with id ${id}`, { schemaId: id });
}

/** What avsc's schema resolution says about `next` replacing `previous` under `level`; empty when it can. */
export function resolutionProblems(next: AvroType, previous: AvroType, level: Compatibility): string[] {
  const problems: string[] = [];
  const backward = level.startsWith('BACKWARD') || level.startsWith('FULL');
  const forward = level.startsWith('FORWARD') || level.startsWith('FULL');
  if (backward) {
    for (const p of explainResolution(next, previous, []))
      problems.push(`the new schema cannot read data written with the old one: ${p}`);
  }
  if (forward) {
    for (const p of explainResolution(previous, next, []))
      problems.push(`the old schema cannot read data written with the new one: ${p}`);
  }
  return problems;
}

interface FieldLike {
  name: string;
  type: AvroType;
  aliases?: string[];
  defaultValue(): unknown;
}

/**
 * Why `reader` cannot resolve `writer`, one line per culprit with its field path. avsc only says
 * "cannot read X as Y" for the whole record, so on failure the records are walked field by field.
 */
function explainResolution(reader: AvroType, writer: AvroType, path: string[]): string[] {
  try {
    reader.createResolver(writer);
    return [];
  } catch (error) {
    const at = path.length ? `field ${path.join('.')}` : 'the record';
    const fallback = [`${at}: ${(error as Error).message}`];
    const r = reader as AvroType & { fields?: FieldLike[]; itemsType?: AvroType; valuesType?: AvroType };
    const w = writer as AvroType & { fields?: FieldLike[]; itemsType?: AvroType; valuesType?: AvroType };
    if (reader.typeName === 'record' && writer.typeName === 'record' && r.fields && w.fields) {
      const written = new Map(w.fields.map((f) => [f.name, f]));
      const out: string[] = [];
      for (const field of r.fields) {
        const source = written.get(field.name) ?? (field.aliases ?? []).map((a) => written.get(a)).find(Boolean);
        if (!source) {
          if (field.defaultValue() === undefined)
            out.push(`field ${[...path, field.name].join('.')} is missing from the writer schema and has no default`);
        } else out.push(...explainResolution(field.type, source.type, [...path, field.name]));
      }
      return out.length ? out : fallback;
    }
    if (reader.typeName === 'array' && writer.typeName === 'array' && r.itemsType && w.itemsType) {
      const out = explainResolution(r.itemsType, w.itemsType, [...path, '[]']);
      return out.length ? out : fallback;
    }
    if (reader.typeName === 'map' && writer.typeName === 'map' && r.valuesType && w.valuesType) {
      const out = explainResolution(r.valuesType, w.valuesType, [...path, '{}']);
      return out.length ? out : fallback;
    }
    return fallback;
  }
}
