/**
 * Registering a model trained elsewhere, on the real stack: a scikit-learn-shaped graph (`label`
 * int64 [N], `probabilities` float [N, 2]) declared with an output name it does not have is refused
 * by the gateway's register route and by `rheo models register`, naming the graph's outputs, with
 * nothing registered; declared correctly it registers, says it scores from `probabilities` column 1,
 * and serves that column as its score through the gateway.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { modelsCommand } from '../../cli/commands/models.ts';
import { loadServingSettings } from '../../gateway/settings.ts';
import { loadConfig } from '../../kernel/config.ts';
import { createAdmin, createKafka } from '../../kernel/kafka.ts';
import { createLogger } from '../../kernel/log.ts';
import { RegistryClient } from '../../registry/client.ts';
import { ensureTopics } from '../../topics/admin.ts';
import { catalogue } from '../../topics/catalogue.ts';
import { FRAUD_FEATURES, sklearnLikeModelBytes, uniqueModelName } from '../support/models.ts';
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
