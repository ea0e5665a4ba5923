import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../../../kernel/log.ts';
import { createRegistry } from '../../../../kernel/metrics.ts';
import { applyEvent, decide, emptyState, type RegistryCommand, type RegistryState } from '../../../../registry/index.ts';
import { registrationSpec } from '../../../../registry/writer.ts';
import { FileArtifactStore } from '../../../../serving/artifacts/fs.ts';
import { ArtifactResolver } from '../../../../serving/artifacts/store.ts';
import { MicroBatcher } from '../../../../serving/host/batcher.ts';
import { ModelHost } from '../../../../serving/host/host.ts';
import { logisticRegressionModel } from '../../../../serving/onnx/builder.ts';
import { fraudModelBytes } from '../../../support/models.ts';

const dir = mkdtempSync(join(tmpdir(), 'rheo-host-'));
const store = new FileArtifactStore(dir);
const logger = createLogger('test', { level: 'silent' });
const hosts: ModelHost[] = [];
afterEach(async () => {
  await Promise.all(hosts.splice(0).map((h) => h.close()));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));
const INPUTS = ['amount', 'hour_of_day', 'distance_from_home_km', 'merchant_risk'].map((name) => ({
  name,
  type: 'DOUBLE' as const,
}));

function newHost(options: { maxSessions?: number; retryDelayMs?: number } = {}) {
  const metrics = createRegistry('test', { defaultMetrics: false });
  const host = new ModelHost({ artifacts: new ArtifactResolver([store]), logger, metrics, ...options });
  hosts.push(host);
  return { host, metrics };
}

let state: RegistryState = emptyState();
function run(command: RegistryCommand): RegistryState {
  for (const event of decide(state, command)) state = applyEvent(state, event);
  return state;
}
async function register(model: string, version: string, bias: number, inputs = INPUTS) {
  const artifact = await store.put(fraudModelBytes({ bias }));
  run({
    kind: 'register',
    model,
    version,
    actor: 'user:a',
    spec: registrationSpec(artifact, {
      model,
      version,
      actor: 'user:a',
      inputs,
      outputs: [{ name: 'probability', type: 'DOUBLE' }],
    }),
  });
  return artifact;
}
function promote(model: string, version: string) {
  run({ kind: 'request', model, version, to: 'PRODUCTION', actor: 'user:alice' });
  return run({ kind: 'approve', model, version, actor: 'user:bob' });
}
async function score(host: ModelHost, model: string, version: string) {
  const session = host.table(model)?.versions.get(version);
  if (!session) throw new Error(`${model}@${version} not in the table`);
  const result = await session.score(new Float32Array([0, 0, 0, 0]), 1);
  return result.outputs[0]?.[0] as number;
}

describe('ModelHost', () => {
  it('loads, warms and serves the production version, and swaps atomically on promotion', async () => {
    const { host, metrics } = newHost();
    await register('m1', '1.0.0', -1);
    await register('m1', '1.1.0', 1);
    await host.update(promote('m1', '1.0.0'));
    expect(host.status()).toMatchObject({
      ready: true,
      models: [{ model: 'm1', production: '1.0.0', serving: '1.0.0', current: true }],
    });
    expect(await score(host, 'm1', '1.0.0')).toBeCloseTo(sigmoid(-1), 6);
    const before = host.table('m1');
    await host.update(run({ kind: 'traffic', model: 'm1', actor: 'user:a', canary: { version: '1.1.0', percent: 20 } }));
    const after = host.table('m1');
    expect(after).not.toBe(before);
    expect(before?.policy.canary).toBeNull(); // the old table is untouched
    expect(after?.policy.canary).toEqual({ version: '1.1.0', percent: 20 });
    expect(await score(host, 'm1', '1.1.0')).toBeCloseTo(sigmoid(1), 6);
    const text = await metrics.metrics();
    expect(text).toMatch(/rheo_model_serving\{model="m1",version="1.1.0",variant="CANARY",service="test"\} 1/);
    expect(text).toMatch(/rheo_model_loads_total\{model="m1",version="1.0.0",outcome="loaded",service="test"\} 1/);
  });

  it('refuses a tampered artifact, counts it, and keeps the previous version serving', async () => {
    const { host, metrics } = newHost({ retryDelayMs: 60_000 });
    await register('m2', '1.0.0', -1);
    const bad = await register('m2', '2.0.0', 2);
    await host.update(promote('m2', '1.0.0'));
    writeFileSync(fileURLToPath(bad.uri), logisticRegressionModel({ name: 'evil', weights: [9, 9, 9, 9], bias: 9 }));
    await host.update(promote('m2', '2.0.0'));
    const status = host.status().models.find((m) => m.model === 'm2');
    expect(status).toMatchObject({ production: '2.0.0', serving: '1.0.0', current: false });
    expect(status?.problems.join()).toMatch(/sha256/);
    expect(host.status().ready).toBe(true);
    expect(await score(host, 'm2', '1.0.0')).toBeCloseTo(sigmoid(-1), 6);
    expect(await metrics.metrics()).toMatch(
      /rheo_model_loads_total\{model="m2",version="2.0.0",outcome="ARTIFACT_INTEGRITY_FAILED",service="test"\} 1/,
    );
    // A fresh instance cannot serve the model at all: not ready.
    const fresh = newHost().host;
    await fresh.update(state);
    expect(fresh.status().ready).toBe(false);
  });

  it('refuses a model whose graph does not match its registered inputs', async () => {
    const { host } = newHost();
    await register('m3', '1.0.0', 0, INPUTS.slice(0, 3));
    await host.update(promote('m3', '1.0.0'));
    expect(host.table('m3')).toBeUndefined();
    expect(
      host
        .status()
        .models.find((m) => m.model === 'm3')
        ?.problems.join(),
    ).toMatch(/MODEL_INVALID|takes 4 features but 3 are registered/);
  });

  it('keeps sessions within the LRU bound, never evicting what a table uses', async () => {
    const { host } = newHost({ maxSessions: 2 });
    for (const [i, v] of ['1.0.0', '1.1.0', '1.2.0', '1.3.0'].entries()) await register('m4', v, i);
    await host.update(promote('m4', '1.0.0'));
    for (const v of ['1.1.0', '1.2.0', '1.3.0']) {
      const pinned = await host.version('m4', v);
      pinned.lastUsed = 0; // long idle
      await host.update(run({ kind: 'alias', model: 'm4', alias: `a${v.replaceAll('.', '')}`, version: v, actor: 'user:a' }));
    }
    const loaded = host.sessions().filter((s) => s.model === 'm4');
    expect(loaded.length).toBeLessThanOrEqual(2);
    expect(loaded.map((s) => s.version)).toContain('1.0.0');
  });
});

describe('MicroBatcher', () => {
  it('coalesces concurrent submissions into one call and hands each its rows', async () => {
    const calls: number[] = [];
    const batcher = new MicroBatcher(
      2,
      async (input, rows) => {
        calls.push(rows);
        // Output: the sum of each row.
        const out = new Float32Array(rows);
        for (let r = 0; r < rows; r++) out[r] = (input[r * 2] as number) + (input[r * 2 + 1] as number);
        return { outputs: [out], widths: [1] };
      },
      { maxRows: 100, lingerMs: 0 },
    );
    const results = await Promise.all([
      batcher.submit(new Float32Array([1, 2]), 1),
      batcher.submit(new Float32Array([3, 4, 5, 6]), 2),
      batcher.submit(new Float32Array([7, 8]), 1),
    ]);
    expect(calls).toEqual([4]);
    expect(results.map((r) => Array.from(r.outputs[0] as Float32Array))).toEqual([[3], [7, 11], [15]]);
  });

  it('flushes at the row limit and propagates failures to every caller of the batch', async () => {
    const calls: number[] = [];
    const batcher = new MicroBatcher(
      1,
      async (_input, rows) => {
        calls.push(rows);
        if (rows === 3) throw new Error('boom');
        return { outputs: [new Float32Array(rows)], widths: [1] };
      },
      { maxRows: 2, lingerMs: 50 },
    );
    await Promise.all([batcher.submit(new Float32Array([1]), 1), batcher.submit(new Float32Array([1]), 1)]);
    expect(calls).toEqual([2]);
    await expect(batcher.submit(new Float32Array([1, 1, 1]), 3)).rejects.toThrow('boom');
  });
});
