/**
 * Interop with clients we did not write. Our codec's records, produced with kafkajs, are read off the
 * topic by kcat and decoded by fastavro (an independent Avro implementation, with its own framing and
 * registry calls in tests/support/fastavro_confluent.py); records encoded by fastavro and produced by
 * kcat are decoded by our codec. Every contract, every fixture, both ways, through the real broker and
 * registry. A last case does the same with @kafkajs/confluent-schema-registry.
 *
 * The tools are installed by deploy/local/interop-tools.sh (run here when they are missing); the
 * tests skip, saying why, only when that script cannot install them.
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../kernel/config.ts';
import { type Admin, createAdmin, createKafka, createProducer, type Producer } from '../../kernel/kafka.ts';
import { SchemaCodec, type TopicCodec } from '../../schemas/codec.ts';
import { allContracts, type Contract } from '../../schemas/contracts.ts';
import { FIXTURES } from '../../schemas/fixtures.ts';
import { ensureTopics } from '../../topics/admin.ts';
import { testTopic, uniqueName } from '../support/topics.ts';

const exec = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const VENV_PYTHON = join(process.env.RHEO_INTEROP_VENV ?? join(ROOT, '.cache/interop-venv'), 'bin/python');
const FASTAVRO = join(ROOT, 'tests/support/fastavro_confluent.py');
const config = loadConfig();
const broker = config.kafka.brokers[0] as string;

async function toolsMissing(): Promise<string | undefined> {
  const missing: string[] = [];
  await exec('kcat', ['-V']).catch(() => missing.push('kcat'));
  await exec(VENV_PYTHON, ['-c', 'import fastavro']).catch(() => missing.push(`fastavro in ${VENV_PYTHON}`));
  return missing.length ? missing.join(', ') : undefined;
}

/** Installs the tools with the project's own script when missing; returns why they are unusable, if they are. */
async function ensureTools(): Promise<string | undefined> {
  if (!(await toolsMissing())) return undefined;
  try {
    await exec('sh', [join(ROOT, 'deploy/local/interop-tools.sh')], { timeout: 600_000 });
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr ?? '';
    return `deploy/local/interop-tools.sh failed: ${stderr.trim() || (error as Error).message}`;
  }
  const still = await toolsMissing();
  return still ? `still missing after deploy/local/interop-tools.sh: ${still}` : undefined;
}

const unavailable = await ensureTools();
if (unavailable) console.warn(`interop tests skipped: ${unavailable}`);

/** JSON-normalised copy, so values from Python and from avsc compare on content alone. */
function plain(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value));
}

/** Splits kcat's `-f '%R%s'` output: a 4-byte big-endian length, then the value. */
function splitRecords(stream: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0; at < stream.length; ) {
    const length = stream.readInt32BE(at);
    out.push(stream.subarray(at + 4, at + 4 + length));
    at += 4 + length;
  }
  return out;
}

async function kcatConsume(topic: string, count: number, file: string): Promise<void> {
  const { stdout } = await exec(
    'kcat',
    ['-C', '-b', broker, '-t', topic, '-o', 'beginning', '-c', String(count), '-e', '-q', '-f', '%R%s'],
    {
      encoding: 'buffer',
      timeout: 60_000,
      maxBuffer: 64 * 1024 * 1024,
    },
  );
  writeFileSync(file, stdout);
}

describe.skipIf(Boolean(unavailable))('interop with clients we did not write', () => {
  let admin: Admin;
  let producer: Producer;
  let dir: string;
  const codec = SchemaCodec.fromConfig(config.registry);
  const contracts = allContracts();

  beforeAll(async () => {
    const kafka = createKafka(config.kafka, undefined, 'interop-test');
    admin = createAdmin(kafka);
    producer = createProducer(kafka);
    await Promise.all([admin.connect(), producer.connect()]);
    dir = mkdtempSync(join(tmpdir(), 'rheo-interop-'));
  });

  afterAll(async () => {
    await Promise.allSettled([admin?.disconnect(), producer?.disconnect()]);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function freshTopic(name: string): Promise<string> {
    const entry = testTopic(uniqueName(`interop.${name}`), 1);
    await ensureTopics(admin, [entry]);
    return entry.name;
  }

  it.each(contracts.map((c) => [c.name, c] as const))(
    '%s: records our codec produced are read by kcat and decoded by fastavro',
    async (name, contract) => {
      const fixtures = FIXTURES[name as keyof typeof FIXTURES] as readonly unknown[];
      const topic = await freshTopic(name);
      const bound: TopicCodec<unknown> = await codec.forTopic(topic, contract as Contract);
      await producer.send({ topic, acks: -1, messages: fixtures.map((f) => ({ key: name, value: bound.encode(f) })) });

      const file = join(dir, `${topic}.records`);
      await kcatConsume(topic, fixtures.length, file);
      expect(splitRecords(readFileSync(file))).toHaveLength(fixtures.length);
      const { stdout } = await exec(VENV_PYTHON, [FASTAVRO, 'decode', '--registry', config.registry.url, '--records', file], {
        timeout: 60_000,
      });
      const decoded = JSON.parse(stdout) as Array<{ schema_id: number; value: unknown }>;
      expect(decoded.map((d) => d.schema_id)).toEqual(fixtures.map(() => bound.schemaId));
      expect(decoded.map((d) => d.value)).toEqual(fixtures.map(plain));
    },
  );

  it.each(contracts.map((c) => [c.name, c] as const))(
    '%s: records fastavro encoded and kcat produced are decoded by our codec',
    async (name, contract) => {
      const fixtures = FIXTURES[name as keyof typeof FIXTURES] as readonly unknown[];
      const topic = await freshTopic(`${name}.in`);
      const bound: TopicCodec<unknown> = await codec.forTopic(topic, contract as Contract);
      const valuesFile = join(dir, `${topic}.values.json`);
      writeFileSync(valuesFile, JSON.stringify(fixtures));
      const outDir = join(dir, topic);
      const { stdout } = await exec(
        VENV_PYTHON,
        [
          FASTAVRO,
          'encode',
          '--registry',
          config.registry.url,
          '--subject',
          bound.subject,
          '--values',
          valuesFile,
          '--out-dir',
          outDir,
        ],
        { timeout: 60_000 },
      );
      const encoded = JSON.parse(stdout) as { schema_id: number; files: string[] };
      expect(encoded.schema_id).toBe(bound.schemaId);
      expect(encoded.files.every((f) => existsSync(f))).toBe(true);
      // kcat sends each file as one message, in order.
      await exec('kcat', ['-P', '-b', broker, '-t', topic, '-k', name, ...encoded.files], { timeout: 60_000 });

      const file = join(dir, `${topic}.records`);
      await kcatConsume(topic, fixtures.length, file);
      const records = splitRecords(readFileSync(file));
      expect(records).toHaveLength(fixtures.length);
      const cold = SchemaCodec.fromConfig(config.registry);
      for (const [i, record] of records.entries()) {
        const decoded = await cold.decode(record, { reader: contract.type });
        expect(decoded.schemaId).toBe(bound.schemaId);
        expect(plain(decoded.value)).toEqual(plain(fixtures[i]));
      }
    },
  );

  it('@kafkajs/confluent-schema-registry decodes our records, and we decode its records', async () => {
    const contract = contracts.find((c) => c.name === 'Prediction') as Contract;
    const fixtures = FIXTURES.Prediction;
    const bound = await codec.forTopic(`test.interop.${randomUUID().slice(0, 8)}.confluent-lib`, contract);
    const other = new SchemaRegistry({
      host: config.registry.url,
      ...(config.registry.auth ? { auth: config.registry.auth } : {}),
    });
    const cold = SchemaCodec.fromConfig(config.registry);
    for (const fixture of fixtures) {
      expect(plain(await other.decode(bound.encode(fixture)))).toEqual(plain(fixture));
      const theirs = await other.encode(bound.schemaId, fixture);
      expect(plain((await cold.decode(theirs, { reader: contract.type })).value)).toEqual(plain(fixture));
    }
  });
});
