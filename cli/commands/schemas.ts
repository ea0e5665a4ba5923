import { defineActions } from '../../kernel/args.ts';
import { loadConfig } from '../../kernel/config.ts';
import { errorMessage } from '../../kernel/errors.ts';
import { retry } from '../../kernel/retry.ts';
import { SchemaCodec } from '../../schemas/codec.ts';
import { type Contract, contractNamed } from '../../schemas/contracts.ts';
import { SchemaIncompatibleError } from '../../schemas/errors.ts';
import { TOPICS, type TopicEntry, valueSubject } from '../../topics/catalogue.ts';
import { CliError, type CliIO, defineCommand } from '../command.ts';
import { table } from '../format.ts';

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
  actions: { list: { flags: { json } }, check: { flags: { json } }, register: { flags: { json } } },
});

export const schemasCommand = defineCommand({
  name: 'schemas',
  summary: 'list the Avro contracts, check them against the registry, or register them with compatibility set',
  args: SCHEMAS_ARGS,
  async run(args, io) {
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
