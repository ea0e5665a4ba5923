/**
 * Registering a model trained elsewhere, on the real stack: a scikit-learn-shaped graph (`label`
 * int64 [N], `probabilities` float [N, 2]) declared with an output name it does not have is refused
 * by the gateway's register route and by `rheo models register`, naming the graph's outputs, with
 * nothing registered; declared correctly it registers, says it scores from `probabilities` column 1,
 * and serves that column as its score through the gateway.
 *
 * With `--project`, a model the project declares registers without --inputs or --outputs: the
 * declared inputs (names in order, types, feature groups), the graph output its binary task scores
 * from, and its decision rule. The test's own project declares the fraud model under a unique name
 * (examples/fraud declares only `fraud_detector`, which other suites and the demo use), and
 * `--project examples/fraud` refuses any other name, listing `fraud_detector`.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { declaredInputs, modelsCommand } from '../../cli/commands/models.ts';
import { fraud } from '../../examples/fraud/index.ts';
import { loadServingSettings } from '../../gateway/settings.ts';
import { loadConfig } from '../../kernel/config.ts';
import { createAdmin, createKafka } from '../../kernel/kafka.ts';
import { createLogger } from '../../kernel/log.ts';
import { RegistryClient } from '../../registry/client.ts';
import { ensureTopics } from '../../topics/admin.ts';
import { catalogue } from '../../topics/catalogue.ts';
import { FRAUD_FEATURES, fraudProjectAs, sklearnLikeModelBytes, uniqueModelName } from '../support/models.ts';
import { ADMIN_KEY, fraudScore, post, promote, startTestGateway, type TestGateway } from '../support/serving.ts';
import { waitFor } from '../support/wait.ts';

const config = loadConfig();
const settings = loadServingSettings(config);
const logger = createLogger('registration-test', { level: process.env.RHEO_TEST_LOG_LEVEL ?? 'silent' });
const X = { amount: 120, hour_of_day: 3, distance_from_home_km: 40, merchant_risk: 0.3 };
const SCORING = 'scoring from output "probabilities" column 1 of [N, 2] (tensor(float))';
const inputs = FRAUD_FEATURES.map((name) => ({ name, type: 'DOUBLE' }));
let client: RegistryClient;
let dir: string;
const gateways: TestGateway[] = [];

beforeAll(async () => {
  const admin = createAdmin(createKafka(config.kafka, logger, 'registration-test'));
  await admin.connect();
  await ensureTopics(admin, catalogue());
  await admin.disconnect();
  client = await RegistryClient.connect(config, logger);
  dir = mkdtempSync(join(tmpdir(), 'rheo-registration-'));
});

afterAll(async () => {
  await Promise.allSettled(gateways.map((g) => g.close()));
  await client?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function gateway(models: string[]): Promise<TestGateway> {
  const g = await startTestGateway(config, settings, logger, models);
  gateways.push(g);
  await g.started;
  await waitFor('gateway ready', () => g.services.readiness().ready, { timeoutMs: 30_000 });
  return g;
}

describe('registering a scikit-learn-shaped ONNX model', () => {
  it('through the gateway: refused under a wrong output name, registered and served from probabilities column 1', async () => {
    const model = uniqueModelName('sklearn');
    const g = await gateway([model]);
    const body = (outputs: Array<{ name: string; type: string }>) => ({
      version: '1.0.0',
      artifact_base64: Buffer.from(sklearnLikeModelBytes()).toString('base64'),
      inputs,
      outputs,
    });
    const refused = await post(g.url, `/v1/models/${model}/versions`, body([{ name: 'probability', type: 'DOUBLE' }]), ADMIN_KEY);
    expect(refused.status).toBe(422);
    const error = refused.body.error as { code: string; message: string; details: Record<string, unknown> };
    expect(error.code).toBe('MODEL_INVALID');
    expect(error.details.graph_outputs).toEqual(['"label" tensor(int64) [N]', '"probabilities" tensor(float) [N, 2]']);
    expect(error.message).toBe(
      `${model}@1.0.0: declared output "probability" is not an output of the graph; its outputs are "label" tensor(int64) [N], "probabilities" tensor(float) [N, 2]`,
    );
    await client.follower.waitUntilCaughtUp();
    expect(client.state.models.has(model)).toBe(false);

    const registered = await post(
      g.url,
      `/v1/models/${model}/versions`,
      body([{ name: 'probabilities', type: 'DOUBLE' }]),
      ADMIN_KEY,
    );
    expect(registered.status, JSON.stringify(registered.body)).toBe(201);
    expect(registered.body.scoring).toMatchObject({ output: 'probabilities', column: 1, description: SCORING });

    await promote(client, model, '1.0.0');
    await waitFor(
      'version loaded',
      async () => {
        const r = await post(g.url, '/v1/predict', { model, entity_id: 'card-1', inputs: X });
        return r.status === 200 ? r : undefined;
      },
      { timeoutMs: 30_000 },
    );
    const response = await post(g.url, '/v1/predict', { model, entity_id: 'card-1', inputs: X });
    const [p] = response.body.predictions ?? [];
    expect(p?.score as number).toBeCloseTo(fraudScore(-2, X), 5);
    expect((p?.outputs as Record<string, number> | undefined)?.probabilities_1).toBeCloseTo(fraudScore(-2, X), 5);
  });

  it('through `rheo models register`: the same refusal, and the resolved scoring output in text and --json', async () => {
    const model = uniqueModelName('sklearn_cli');
    const artifact = join(dir, 'model.onnx');
    writeFileSync(artifact, sklearnLikeModelBytes());
    const args = (outputs: string, ...more: string[]) => [
      'register',
      model,
      '--version',
      '1.0.0',
      '--artifact',
      artifact,
      '--inputs',
      FRAUD_FEATURES.map((f) => `${f}:DOUBLE`).join(','),
      '--outputs',
      outputs,
      '--actor',
      'user:test',
      ...more,
    ];
    const out: string[] = [];
    const io = { out: (line: string) => out.push(line), err: () => undefined };
    await expect(modelsCommand.run(args('probability:DOUBLE'), io)).rejects.toThrow(
      /MODEL_INVALID: .*declared output "probability" is not an output of the graph; its outputs are "label" tensor\(int64\) \[N\], "probabilities" tensor\(float\) \[N, 2\]/,
    );

    expect(await modelsCommand.run(args('probabilities:DOUBLE'), io)).toBe(0);
    expect(out.join('\n')).toContain(SCORING);
    out.length = 0;
    expect(
      await modelsCommand.run([...args('probabilities:DOUBLE').map((a) => (a === '1.0.0' ? '1.1.0' : a)), '--json'], io),
    ).toBe(0);
    const json = JSON.parse(out.join('\n')) as {
      version: string;
      scoring: { output: string; column: number; description: string };
    };
    expect(json.version).toBe('1.1.0');
    expect(json.scoring).toMatchObject({ output: 'probabilities', column: 1, description: SCORING });
  });
});

describe('registering against the project’s declared model (`rheo models register --project`)', () => {
  /** Weights over the fraud model's seven inputs, in declared order. */
  const W7 = [0.01, -0.05, 0.02, 0.3, 0.05, 0.001, 3];
  const X7 = {
    amount: 120,
    hour_of_day: 3,
    distance_from_home_km: 40,
    txn_count_1h: 2,
    txn_count_24h: 6,
    amount_avg_7d: 55,
    chargeback_rate_30d: 0.3,
  };
  const score7 = 1 / (1 + Math.exp(-Object.values(X7).reduce((sum, x, i) => sum + (W7[i] as number) * x, -2)));
  const io = (out: string[]) => ({ out: (line: string) => out.push(line), err: () => undefined });

  it('takes the inputs, the scoring output and the decision rule from the project, and serves the version pinned', async () => {
    const out: string[] = [];
    const artifact = join(dir, 'fraud7.onnx');
    writeFileSync(artifact, sklearnLikeModelBytes({ weights: W7 }));
    const register = (model: string, version: string, project: string, ...more: string[]) =>
      modelsCommand.run(
        ['register', model, '--version', version, '--artifact', artifact, '--project', project, '--actor', 'user:test', ...more],
        io(out),
      );

    // examples/fraud declares fraud_detector only: another name is refused, listing it, and nothing is registered.
    const stranger = uniqueModelName('sklearn_undeclared');
    await expect(register(stranger, '1.0.0', 'examples/fraud')).rejects.toThrow(
      new RegExp(
        `project fraud \\(.*examples/fraud/rheo.project.ts\\) declares no model "${stranger}"; it declares fraud_detector\\.`,
      ),
    );
    await client.follower.waitUntilCaughtUp();
    expect(client.state.models.has(stranger)).toBe(false);

    const model = uniqueModelName('sklearn_project');
    const project = fraudProjectAs(dir, model);
    // A graph of another width is refused against the declared inputs, naming them.
    const four = join(dir, 'fraud4.onnx');
    writeFileSync(four, sklearnLikeModelBytes());
    await expect(
      modelsCommand.run(
        ['register', model, '--version', '0.9.0', '--artifact', four, '--project', project, '--actor', 'user:test'],
        io(out),
      ),
    ).rejects.toThrow(
      /MODEL_INVALID: .*input "float_input" tensor\(float\) \[N, 4\] takes 4 features but 7 inputs are declared \(amount, hour_of_day, distance_from_home_km, txn_count_1h, txn_count_24h, amount_avg_7d, chargeback_rate_30d\)/,
    );

    expect(await register(model, '1.0.0', project)).toBe(0);
    const text = out.join('\n');
    expect(text).toContain(
      `inputs from project fraud, model ${model}: amount:DOUBLE, hour_of_day:LONG, distance_from_home_km:DOUBLE, txn_count_1h:LONG@card_activity, txn_count_24h:LONG@card_activity, amount_avg_7d:DOUBLE@card_activity, chargeback_rate_30d:DOUBLE@merchant_risk`,
    );
    expect(text).toContain('output for its binary task: probabilities:DOUBLE');
    expect(text).toContain(`decision from project fraud, model ${model}: fraud when the score ≥ 0.5, else legit`);
    expect(text).toContain(SCORING);

    await client.follower.waitUntilCaughtUp();
    const registered = client.state.models.get(model)?.versions.get('1.0.0');
    expect(registered?.stage).toBe('DEVELOPMENT');
    expect(registered?.spec.inputs).toEqual(declaredInputs(fraud, 'fraud_detector'));
    expect(registered?.spec.outputs).toEqual([{ name: 'probabilities', type: 'DOUBLE' }]);
    expect(registered?.spec.params).toMatchObject({ decision_threshold: 0.5, positive_label: 'fraud', negative_label: 'legit' });

    // --json says what came from the project; explicit flags still win (--outputs, --param).
    out.length = 0;
    expect(
      await register(model, '1.1.0', project, '--outputs', 'probabilities:DOUBLE', '--param', 'decision_threshold=0.9', '--json'),
    ).toBe(0);
    expect(JSON.parse(out.join('\n'))).toMatchObject({
      version: '1.1.0',
      params: { decision_threshold: 0.9, positive_label: 'fraud' },
      scoring: { output: 'probabilities', column: 1 },
      declared_by: { project: 'fraud', model, task: 'binary', inputs: true, outputs: false, params: true },
    });

    // The development version, pinned, scores from probabilities column 1 and labels by the declared rule.
    const g = await gateway([model]);
    const response = await post(g.url, '/v1/predict', { model, version: '1.0.0', entity_id: 'card-1', inputs: X7 });
    expect(response.status, JSON.stringify(response.body)).toBe(200);
    const [p] = response.body.predictions ?? [];
    expect(p).toMatchObject({ version: '1.0.0', variant: 'PINNED', label: score7 >= 0.5 ? 'fraud' : 'legit' });
    expect(p?.score as number).toBeCloseTo(score7, 6);
  });
});
