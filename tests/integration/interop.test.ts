/**
 * Interop with clients we did not write. Our codec's records, produced with kafkajs, are read off the
 * topic by kcat and decoded by fastavro (an independent Avro implementation, with its own framing and
 * registry calls in tests/support/fastavro_confluent.py); records encoded by fastavro and produced by
 * kcat are decoded by our codec. Every contract, every fixture, both ways, through the real broker and
 * registry. A last case does the same with @kafkajs/confluent-schema-registry.
 *
 * A model trained elsewhere: scikit-learn trains a classifier on the fraud model's seven inputs and
 * skl2onnx converts it (tests/support/sklearn_fraud_model.py); `rheo models register --project`
 * registers it against a project declaring the fraud model (the inputs and the scoring output come
 * from the declaration), and the gateway's Open Inference Protocol and /v1/predict routes score it
 * as scikit-learn's own predict_proba does, within 1e-6. NVIDIA's tritonclient (PyPI; the Open
 * Inference Protocol client most users have) then talks to that gateway as it comes
 * (tests/support/tritonclient_infer.py): health and readiness without a key, metadata, and infer
 * with binary tensor data (its default) and with JSON tensors, scoring as /v1/predict does within 1e-6.
 *
 * The tools are installed by deploy/local/interop-tools.sh (run here first: quiet and quick when they
 * are there at its pinned versions); the tests skip, saying why, only when that script cannot
 * install them.
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
import { declaredInputs } from '../../cli/commands/models.ts';
import { fraud } from '../../examples/fraud/index.ts';
import { loadServingSettings } from '../../gateway/settings.ts';
import { loadConfig } from '../../kernel/config.ts';
import { type Admin, createAdmin, createKafka, createProducer, type Producer } from '../../kernel/kafka.ts';
import { createLogger } from '../../kernel/log.ts';
import { RegistryClient } from '../../registry/client.ts';
import { SchemaCodec, type TopicCodec } from '../../schemas/codec.ts';
import { allContracts, type Contract } from '../../schemas/contracts.ts';
import { FIXTURES } from '../../schemas/fixtures.ts';
import { ensureTopics } from '../../topics/admin.ts';
import { fraudProjectAs, uniqueModelName } from '../support/models.ts';
import { PREDICT_KEY, post, promote, startTestGateway, type TestGateway } from '../support/serving.ts';
import { testTopic, uniqueName } from '../support/topics.ts';
import { waitFor } from '../support/wait.ts';

const exec = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const VENV_PYTHON = join(process.env.RHEO_INTEROP_VENV ?? join(ROOT, '.cache/interop-venv'), 'bin/python');
const FASTAVRO = join(ROOT, 'tests/support/fastavro_confluent.py');
const SKLEARN_MODEL = join(ROOT, 'tests/support/sklearn_fraud_model.py');
const TRITONCLIENT = join(ROOT, 'tests/support/tritonclient_infer.py');
const config = loadConfig();
const broker = config.kafka.brokers[0] as string;

/** What is missing of the Avro tools (kcat, fastavro), the scikit-learn ones (numpy, scikit-learn, skl2onnx, onnx) and tritonclient. */
async function toolsMissing(): Promise<{ avro: string[]; sklearn: string[]; triton: string[] }> {
  const avro: string[] = [];
  const sklearn: string[] = [];
  const triton: string[] = [];
  await exec('kcat', ['-V']).catch(() => avro.push('kcat'));
  await exec(VENV_PYTHON, ['-c', 'import fastavro']).catch(() => avro.push(`fastavro in ${VENV_PYTHON}`));
  await exec(VENV_PYTHON, ['-c', 'import numpy, sklearn, skl2onnx, onnx']).catch(() =>
    sklearn.push(`numpy, scikit-learn, skl2onnx and onnx in ${VENV_PYTHON}`),
  );
  await exec(VENV_PYTHON, ['-c', 'import tritonclient.http']).catch(() => triton.push(`tritonclient[http] in ${VENV_PYTHON}`));
  return { avro, sklearn, triton };
}

/**
 * Runs the project's own script (it installs what is missing or not at its pinned versions, and is
 * quick when all is there); returns, per set of tools, why they are unusable when they are.
 */
async function ensureTools(): Promise<{ avro?: string; sklearn?: string; triton?: string }> {
  let failed: string | undefined;
  try {
    await exec('sh', [join(ROOT, 'deploy/local/interop-tools.sh')], { timeout: 600_000 });
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr ?? '';
    failed = `deploy/local/interop-tools.sh failed: ${stderr.trim() || (error as Error).message}`;
  }
  const missing = await toolsMissing();
  const why = (list: string[]) =>
    list.length === 0 ? undefined : (failed ?? `still missing after deploy/local/interop-tools.sh: ${list.join(', ')}`);
  if (failed && missing.avro.length === 0 && missing.sklearn.length === 0 && missing.triton.length === 0)
    console.warn(`interop tests: ${failed}`);
  return {
    ...(why(missing.avro) ? { avro: why(missing.avro) } : {}),
    ...(why(missing.sklearn) ? { sklearn: why(missing.sklearn) } : {}),
    ...(why(missing.triton) ? { triton: why(missing.triton) } : {}),
  };
}

const unavailable = await ensureTools();
if (unavailable.avro) console.warn(`interop tests with kcat and fastavro skipped: ${unavailable.avro}`);
if (unavailable.sklearn) console.warn(`interop test with scikit-learn skipped: ${unavailable.sklearn}`);
if (unavailable.triton) console.warn(`interop test with tritonclient skipped: ${unavailable.triton}`);

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

describe.skipIf(Boolean(unavailable.avro))('interop with clients we did not write', () => {
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

describe.skipIf(Boolean(unavailable.sklearn))('a model trained elsewhere: scikit-learn through skl2onnx', () => {
  const logger = createLogger('interop-test', { level: process.env.RHEO_TEST_LOG_LEVEL ?? 'silent' });
  let dir: string;
  let client: RegistryClient;
  let gateway: TestGateway | undefined;
  /** Left by the first test for the tritonclient one: the registered model and what scikit-learn answered. */
  let registered: { model: string; rows: number[][]; probabilities: number[]; inputs: string[] } | undefined;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'rheo-sklearn-'));
    client = await RegistryClient.connect(config, logger);
  });

  afterAll(async () => {
    await gateway?.close();
    await client?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('registers against the declared fraud model with `rheo models register --project`, and Rheo scores as scikit-learn does', async () => {
    // Trained and converted by scikit-learn and skl2onnx, on the declared inputs in declared order.
    const inputs = declaredInputs(fraud, 'fraud_detector');
    const { stdout: written } = await exec(
      VENV_PYTHON,
      [SKLEARN_MODEL, '--inputs', inputs.map((i) => i.name).join(','), '--out-dir', join(dir, 'sklearn')],
      { timeout: 120_000 },
    );
    const expected = JSON.parse(readFileSync(written.trim(), 'utf8')) as {
      model: string;
      outputs: string[];
      rows: number[][];
      probabilities: number[];
      versions: Record<string, string>;
    };
    expect(expected.outputs).toEqual(['label', 'probabilities']);
    expect(expected.rows).toHaveLength(25);

    // Registered by the CLI as a user runs it, against a project declaring the fraud model under a name of the test's own.
    const model = uniqueModelName('sklearn_fraud');
    const { stdout } = await exec(
      process.execPath,
      [
        join(ROOT, 'cli/rheo.mjs'),
        'models',
        'register',
        model,
        '--version',
        '1.0.0',
        '--artifact',
        expected.model,
        '--project',
        fraudProjectAs(dir, model),
        '--param',
        `sklearn=${expected.versions['scikit-learn']}`,
        '--param',
        `skl2onnx=${expected.versions.skl2onnx}`,
        '--actor',
        'user:test',
      ],
      { timeout: 120_000 },
    );
    expect(stdout).toContain(`registered ${model}@1.0.0 (DEVELOPMENT)`);
    expect(stdout).toContain(
      `inputs from project fraud, model ${model}: amount:DOUBLE, hour_of_day:LONG, distance_from_home_km:DOUBLE, txn_count_1h:LONG@card_activity, txn_count_24h:LONG@card_activity, amount_avg_7d:DOUBLE@card_activity, chargeback_rate_30d:DOUBLE@merchant_risk`,
    );
    expect(stdout).toContain('output for its binary task: probabilities:DOUBLE');
    expect(stdout).toContain('scoring from output "probabilities" column 1 of [N, 2] (tensor(float))');
    await waitFor('version folded', () => client.state.models.get(model)?.versions.get('1.0.0'), { timeoutMs: 30_000 });
    expect(client.state.models.get(model)?.versions.get('1.0.0')?.spec.inputs).toEqual(inputs);

    // Scored by the gateway, the development version addressed by its number.
    gateway = await startTestGateway(config, loadServingSettings(config), logger, [model]);
    await gateway.started;
    const g = gateway;
    await waitFor('gateway ready', () => g.services.readiness().ready, { timeoutMs: 30_000 });
    const width = inputs.length;
    const oip = await post(g.url, `/v2/models/${model}/versions/1.0.0/infer`, {
      inputs: [{ name: 'features', shape: [expected.rows.length, width], datatype: 'FP32', data: expected.rows.flat() }],
    });
    expect(oip.status, JSON.stringify(oip.body)).toBe(200);
    // The output as the graph gives it: [n, 2], row-major; the positive class is column 1.
    const outputs = oip.body.outputs as Array<{ name: string; shape: number[]; data: number[] }>;
    const matrix = outputs.find((o) => o.name === 'probabilities');
    expect(matrix?.shape).toEqual([expected.rows.length, 2]);
    const positive = (matrix?.data ?? []).filter((_, k) => k % 2 === 1);
    expect(positive).toHaveLength(expected.probabilities.length);
    for (const [i, p] of expected.probabilities.entries()) expect(Math.abs((positive[i] as number) - p)).toBeLessThan(1e-6);
    expect(oip.body.parameters).toMatchObject({ versions: expected.rows.map(() => '1.0.0') });

    // /v1/predict, pinned: the score is column 1, and the label follows the declared threshold.
    const instances = expected.rows.slice(0, 5).map((row, r) => ({
      entity_id: `card-${r}`,
      inputs: Object.fromEntries(inputs.map((input, c) => [input.name, row[c] as number])),
    }));
    const predicted = await post(g.url, '/v1/predict', { model, version: '1.0.0', instances });
    expect(predicted.status, JSON.stringify(predicted.body)).toBe(200);
    for (const [i, p] of (predicted.body.predictions ?? []).entries()) {
      const sklearn = expected.probabilities[i] as number;
      expect(Math.abs((p.score as number) - sklearn)).toBeLessThan(1e-6);
      expect(p.label).toBe(sklearn >= 0.5 ? 'fraud' : 'legit');
    }
    registered = { model, rows: expected.rows, probabilities: expected.probabilities, inputs: inputs.map((i) => i.name) };
  });

  it.skipIf(Boolean(unavailable.triton))(
    'tritonclient (PyPI) infers with binary tensor data and with JSON, as /v1/predict scores, and sees health and metadata',
    async () => {
      if (!registered || !gateway) throw new Error('needs the registration of the test above');
      const { model, rows, inputs } = registered;
      const g = gateway;
      // In production, so that readiness and unpinned requests have a table to answer from.
      await promote(client, model, '1.0.0');
      await waitFor('production served', () => g.services.host.table(model)?.policy.production_version === '1.0.0', {
        timeoutMs: 30_000,
      });
      const entityIds = rows.map((_, r) => `card-${r}`);
      const rowsFile = join(dir, 'tritonclient-rows.json');
      writeFileSync(rowsFile, JSON.stringify({ rows, entity_ids: entityIds }));
      const { stdout } = await exec(
        VENV_PYTHON,
        [
          TRITONCLIENT,
          '--url',
          g.url.replace(/^http:\/\//, ''),
          '--model',
          model,
          '--version',
          '1.0.0',
          '--api-key',
          PREDICT_KEY,
          '--rows',
          rowsFile,
        ],
        { timeout: 120_000 },
      );
      const seen = JSON.parse(stdout) as {
        live: boolean;
        ready: boolean;
        model_ready: boolean;
        version_ready: boolean;
        metadata: { inputs: Array<{ name: string; datatype: string; shape: number[] }>; outputs: unknown[]; parameters: unknown };
        modes: Record<'binary' | 'binary_named' | 'json', { binary: boolean; versions: string[]; probabilities: number[][] }>;
        refused: { status: string; message: string } | null;
      };
      expect(seen).toMatchObject({ live: true, ready: true, model_ready: true, version_ready: true });
      expect(seen.metadata.inputs).toEqual([{ name: 'features', datatype: 'FP32', shape: [-1, inputs.length] }]);
      expect(seen.metadata.outputs).toEqual([{ name: 'probabilities', datatype: 'FP32', shape: [-1, 2] }]);
      expect(seen.metadata.parameters).toMatchObject({ features: inputs, production_version: '1.0.0' });
      expect(seen.refused?.status).toBe('400');
      expect(seen.refused?.message).toContain('unknown inputs nope');

      // The same rows through /v1/predict: tritonclient's scores are its scores, in every mode.
      const predicted = await post(g.url, '/v1/predict', {
        model,
        instances: rows.map((row, r) => ({
          entity_id: entityIds[r],
          inputs: Object.fromEntries(inputs.map((name, c) => [name, row[c] as number])),
        })),
      });
      expect(predicted.status, JSON.stringify(predicted.body)).toBe(200);
      const scores = (predicted.body.predictions ?? []).map((p) => p.score as number);
      expect(scores).toHaveLength(rows.length);
      expect(seen.modes.binary.binary).toBe(true);
      expect(seen.modes.binary_named.binary).toBe(true);
      expect(seen.modes.json.binary).toBe(false);
      for (const [mode, answer] of Object.entries(seen.modes)) {
        expect(answer.versions, mode).toEqual(rows.map(() => '1.0.0'));
        expect(answer.probabilities, mode).toHaveLength(rows.length);
        for (const [r, pair] of answer.probabilities.entries()) {
          expect(pair, `${mode} row ${r}`).toHaveLength(2);
          expect(Math.abs((pair[1] as number) - (scores[r] as number)), `${mode} row ${r}`).toBeLessThan(1e-6);
          expect(Math.abs((pair[1] as number) - (registered.probabilities[r] as number)), `${mode} row ${r}`).toBeLessThan(1e-6);
        }
      }
    },
  );
});
