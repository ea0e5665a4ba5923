/**
 * An in-memory schema registry with the Confluent API's semantics, for tests that need no services
 * (this module's and the processors'). Ids are global and shared by identical schemas across subjects,
 * versions count from 1, compatibility is checked with avsc's schema resolution, and failures can be
 * injected. `calls` records every call in order.
 */
import { avroType } from './avro.ts';
import { resolutionProblems } from './codec.ts';
import { SchemaIncompatibleError, SchemaRegistryUnavailableError } from './errors.ts';
import type {
  Compatibility,
  CompatibilityResult,
  RegisteredVersion,
  SchemaRegistryApi,
  StoredSchema,
} from './registry-client.ts';

interface Subject {
  versions: Array<{ version: number; id: number; schema: string }>;
  compatibility: Compatibility | undefined;
}

export class InMemorySchemaRegistry implements SchemaRegistryApi {
  readonly url = 'memory://registry';
  readonly calls: string[] = [];
  /** Level that applies to subjects without their own; Apicurio's default is NONE. */
  globalCompatibility: Compatibility;
  /** While true every call throws SchemaRegistryUnavailableError. */
  unavailable = false;
  readonly #schemas = new Map<number, StoredSchema>();
  readonly #idsByText = new Map<string, number>();
  readonly #subjects = new Map<string, Subject>();
  #nextId: number;

  constructor(options: { globalCompatibility?: Compatibility; firstId?: number } = {}) {
    this.globalCompatibility = options.globalCompatibility ?? 'NONE';
    this.#nextId = options.firstId ?? 1;
  }

  /** Stores a schema of another type (e.g. JSON) and returns its id, to test NOT_AVRO. */
  addForeignSchema(schemaType: string, schema: string): number {
    const id = this.#nextId++;
    this.#schemas.set(id, { schemaType, schema });
    return id;
  }

  async schemaById(id: number): Promise<StoredSchema | undefined> {
    this.#call(`schemaById ${id}`);
    return this.#schemas.get(id);
  }

  async subjects(): Promise<string[]> {
    this.#call('subjects');
    return [...this.#subjects.keys()].sort();
  }

  async versions(subject: string): Promise<number[]> {
    this.#call(`versions ${subject}`);
    return (this.#subjects.get(subject)?.versions ?? []).map((v) => v.version);
  }

  async subjectVersion(subject: string, version: number | 'latest'): Promise<RegisteredVersion | undefined> {
    this.#call(`subjectVersion ${subject} ${version}`);
    const versions = this.#subjects.get(subject)?.versions ?? [];
    const found = version === 'latest' ? versions[versions.length - 1] : versions.find((v) => v.version === version);
    return found ? { subject, ...found } : undefined;
  }

  async lookup(subject: string, schema: string): Promise<RegisteredVersion | undefined> {
    this.#call(`lookup ${subject}`);
    const key = normalize(schema);
    const found = this.#subjects.get(subject)?.versions.find((v) => normalize(v.schema) === key);
    return found ? { subject, ...found } : undefined;
  }

  async register(subject: string, schema: string): Promise<number> {
    this.#call(`register ${subject}`);
    const entry = this.#subjects.get(subject) ?? { versions: [], compatibility: undefined };
    const key = normalize(schema);
    const existing = entry.versions.find((v) => normalize(v.schema) === key);
    if (existing) return existing.id;
    const problems = this.#problems(entry, schema);
    if (problems.length) throw new SchemaIncompatibleError(subject, problems);
    let id = this.#idsByText.get(key);
    if (id === undefined) {
      id = this.#nextId++;
      this.#idsByText.set(key, id);
      this.#schemas.set(id, { schemaType: 'AVRO', schema });
    }
    entry.versions.push({ version: (entry.versions[entry.versions.length - 1]?.version ?? 0) + 1, id, schema });
    this.#subjects.set(subject, entry);
    return id;
  }

  async getCompatibility(subject: string): Promise<Compatibility | undefined> {
    this.#call(`getCompatibility ${subject}`);
    return this.#subjects.get(subject)?.compatibility;
  }

  async setCompatibility(subject: string, level: Compatibility): Promise<void> {
    this.#call(`setCompatibility ${subject} ${level}`);
    const entry = this.#subjects.get(subject) ?? { versions: [], compatibility: undefined };
    entry.compatibility = level;
    this.#subjects.set(subject, entry);
  }

  async testCompatibility(subject: string, schema: string, version: number | 'latest' = 'latest'): Promise<CompatibilityResult> {
    this.#call(`testCompatibility ${subject} ${version}`);
    const entry = this.#subjects.get(subject);
    if (!entry) return { compatible: true, messages: [] };
    const messages = this.#problems(entry, schema);
    return { compatible: messages.length === 0, messages };
  }

  #problems(entry: Subject, schema: string): string[] {
    const level = entry.compatibility ?? this.globalCompatibility;
    const against = level.endsWith('_TRANSITIVE') ? entry.versions : entry.versions.slice(-1);
    const next = avroType(schema);
    return against.flatMap((v) => resolutionProblems(next, avroType(v.schema), level).map((p) => `version ${v.version}: ${p}`));
  }

  #call(what: string): void {
    this.calls.push(what);
    if (this.unavailable) throw new SchemaRegistryUnavailableError(this.url, `${what}: injected outage`);
  }
}

function normalize(schema: string): string {
  return JSON.stringify(JSON.parse(schema));
}
