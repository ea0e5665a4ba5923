/**
 * `rheo schemas …`: the Avro contracts against the schema registry (list, check, register), and
 * `export`, which writes every contract and every feature group's derived schema as `.avsc` files
 * for producers and consumers written in other languages.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { FeatureRegistry } from '../../features/registry.ts';
import { defineActions } from '../../kernel/args.ts';
import { loadConfig } from '../../kernel/config.ts';
import { errorMessage } from '../../kernel/errors.ts';
import { retry } from '../../kernel/retry.ts';
import { SchemaCodec } from '../../schemas/codec.ts';
import { type Contract, contractNamed } from '../../schemas/contracts.ts';
import { SchemaIncompatibleError } from '../../schemas/errors.ts';
import { featureGroupSchema } from '../../schemas/feature-group.ts';
import type { AvroRecordSchema } from '../../schemas/index.ts';
import { featureTopic, TOPICS, type TopicEntry, valueSubject } from '../../topics/catalogue.ts';
import { CliError, type CliIO, defineCommand } from '../command.ts';
import { table } from '../format.ts';
import { PROJECT_FLAG } from '../project.ts';
import { projectRegistry } from './features.ts';

interface Binding {
  topic: TopicEntry;
  subject: string;
  contract: Contract;
}

/** Every catalogue topic whose value is an Avro contract, with its subject (topic name strategy). */
export function bindings(): Binding[] {
  const out: Binding[] = [];
  for (const topic of Object.values(TOPICS) as TopicEntry[]) {
    if (!topic.valueSchema) continue;
    const contract = contractNamed(topic.valueSchema);
    if (!contract)
      throw new CliError(
        `topic ${topic.name} names value schema "${topic.valueSchema}", which schemas/contracts.ts does not define`,
      );
    out.push({ topic, subject: valueSubject(topic), contract });
  }
  return out;
}

interface Outcome {
  subject: string;
  contract: string;
  version?: number;
  id?: number;
  compatibility?: string;
  status: 'created' | 'unchanged' | 'compatible' | 'incompatible' | 'failed';
  reasons?: string[];
}

const json = { type: 'boolean', description: 'print JSON instead of a table' } as const;

const SCHEMAS_ARGS = defineActions({
  program: 'rheo schemas',
  defaultAction: 'list',
  actions: {
    list: { flags: { json } },
    check: { flags: { json } },
    register: { flags: { json } },
    export: {
      flags: {
        dir: { type: 'string', value: 'DIR', description: 'where the .avsc files go (default ./avro; created if missing)' },
        project: PROJECT_FLAG,
        json: { type: 'boolean', description: 'print the files written as JSON' },
      },
      notes: ['One <namespace>.<name>.avsc per contract and per feature group; existing files are overwritten.'],
    },
  },
});

/** One `.avsc` file `export` wrote. */
export interface ExportedSchema {
  /** Full Avro name (`io.rheo.Prediction`). */
  schema: string;
  kind: 'contract' | 'feature-group';
  topic: string;
  subject: string;
  /** Absolute path of the file written. */
  file: string;
}

/** The full name of a record schema: its namespace (if any) and name. */
function fullName(schema: AvroRecordSchema): string {
  return schema.namespace && !schema.name.includes('.') ? `${schema.namespace}.${schema.name}` : schema.name;
}

/**
 * Writes every contract bound to a catalogue topic and every feature group's derived schema into
 * `dir`, one `<full name>.avsc` each (pretty-printed JSON, the schema exactly as registered).
 */
export function exportSchemas(dir: string, groups: FeatureRegistry): ExportedSchema[] {
  const target = resolve(dir);
  mkdirSync(target, { recursive: true });
  const entries: Array<Omit<ExportedSchema, 'file'> & { body: AvroRecordSchema }> = [
    ...bindings().map((b) => ({
      schema: b.contract.fullName,
      kind: 'contract' as const,
      topic: b.topic.name,
      subject: b.subject,
      body: b.contract.schema,
    })),
    ...groups.list().map((group) => {
      const body = featureGroupSchema(group);
      const topic = featureTopic(group.name);
      return { schema: fullName(body), kind: 'feature-group' as const, topic: topic.name, subject: valueSubject(topic), body };
    }),
  ];
  const seen = new Set<string>();
  return entries.map(({ body, ...entry }) => {
    if (seen.has(entry.schema)) throw new CliError(`two schemas are named ${entry.schema}; nothing more was written`);
    seen.add(entry.schema);
    const file = join(target, `${entry.schema}.avsc`);
    writeFileSync(file, `${JSON.stringify(body, null, 2)}\n`);
    return { ...entry, file };
  });
}

export const schemasCommand = defineCommand({
  name: 'schemas',
  summary:
    'list the Avro contracts, check them against the registry, register them with compatibility set, or export them as .avsc files',
  args: SCHEMAS_ARGS,
  async run(args, io) {
    if (args.action === 'export') {
      const written = exportSchemas(args.flags.dir ?? 'avro', await projectRegistry(args.flags.project));
      if (args.flags.json) io.out(JSON.stringify(written, null, 2));
      else io.out(table(written.map(({ schema, kind, subject, file }) => ({ schema, kind, subject, file }))));
      return 0;
    }
    const { action } = args;
    const json = args.flags.json;
    const all = bindings();
    if (action === 'list') {
      const rows = all.map((b) => ({
        contract: b.contract.name,
        version: b.contract.version,
        topic: b.topic.name,
        subject: b.subject,
        file: `schemas/contracts/${b.contract.file}`,
        fields: b.contract.schema.fields.length,
      }));
      io.out(json ? JSON.stringify(rows, null, 2) : table(rows));
      return 0;
    }

    const config = loadConfig();
    const codec = SchemaCodec.fromConfig(config.registry);
    await reachRegistry(codec, io);
    const outcomes: Outcome[] = [];
    for (const b of all) outcomes.push(await apply(action, codec, b));
    if (json) io.out(JSON.stringify(outcomes, null, 2));
    else
      io.out(
        table(
          outcomes.map(({ reasons: _, ...row }) => row),
          ['subject', 'contract', 'version', 'id', 'compatibility', 'status'],
        ),
      );
    const bad = outcomes.filter((o) => o.status === 'incompatible' || o.status === 'failed');
    for (const o of bad) io.err(`${o.subject}: ${o.status}: ${(o.reasons ?? []).join('; ')}`);
    return bad.length ? 1 : 0;
  },
});

/** One probe, retried for a few seconds in case the registry is still starting; then one clear failure. */
async function reachRegistry(codec: SchemaCodec, io: CliIO): Promise<void> {
  try {
    await retry(() => codec.registry.subjects(), {
      attempts: 5,
      initialDelayMs: 300,
      maxDelayMs: 2_000,
      onRetry: (error, attempt) => io.err(`waiting for the schema registry (${attempt}): ${errorMessage(error)}`),
    });
  } catch (error) {
    throw new CliError(`${errorMessage(error)}; is the stack up? (rheo stack status)`);
  }
}

async function apply(action: 'register' | 'check', codec: SchemaCodec, b: Binding): Promise<Outcome> {
  const base = { subject: b.subject, contract: b.contract.name };
  try {
    if (action === 'check') {
      const report = await codec.checkCompatibility(b.subject, b.contract.schema);
      return {
        ...base,
        compatibility: report.compatibility,
        ...(report.latestVersion === undefined ? {} : { version: report.latestVersion }),
        status: report.compatible ? 'compatible' : 'incompatible',
        ...(report.compatible ? {} : { reasons: report.reasons }),
      };
    }
    const r = await codec.register(b.subject, b.contract.schema);
    return { ...base, version: r.version, id: r.id, compatibility: r.compatibility, status: r.created ? 'created' : 'unchanged' };
  } catch (error) {
    if (error instanceof SchemaIncompatibleError) return { ...base, status: 'incompatible', reasons: [...error.reasons] };
    return { ...base, status: 'failed', reasons: [errorMessage(error)] };
  }
}
