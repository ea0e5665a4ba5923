/**
 * The closed loop with short windows, the way `npm run demo` runs it: `rheo up` on a project of its
 * own (the fraud project's groups, a model of this run's name, a small rollout policy), live traffic,
 * and nothing else driving it. Asserted on the lifecycle log: v2 was trained from the drift request,
 * its promotion was decided by the rollout controller with evidence, and the worse v3 was rolled back
 * as soon as the policy's label count showed it. `rheo down` leaves no service behind.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { main as rheo } from '../../cli/main.ts';
import { runLoop } from '../../demo/loop.ts';
import { loadConfig } from '../../kernel/config.ts';
import { createLogger } from '../../kernel/log.ts';
import { ROLLOUT_ACTOR, ROLLOUT_POLICY_ACTOR } from '../../serving/rollout/policy.ts';

const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const run = randomUUID().slice(0, 8);
const MODEL = `loop_${run}`;
const MIN_LABELS = 300;
const dir = mkdtempSync(join(tmpdir(), 'rheo-loop-test-'));
const project = join(dir, 'loop');

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

const silent = { out: () => undefined, err: () => undefined };
let story = '';

afterAll(async () => {
  await rheo(['down', '--keep-stack'], silent);
  rmSync(dir, { recursive: true, force: true });
});

describe('the closed loop', () => {
  it('drift → retrain → shadow → canary → promote, then a worse version rolled back, all by itself', async () => {
    mkdirSync(project, { recursive: true });
    writeFileSync(
      join(project, 'rheo.project.ts'),
      `import { defineProject } from ${JSON.stringify(join(REPO, 'projects', 'declaration.ts'))};
import fraud from ${JSON.stringify(join(REPO, 'examples', 'fraud', 'rheo.project.ts'))};
const [model] = fraud.models;
export default defineProject({
  ...fraud,
  name: 'loop_test',
  models: [{
    ...model,
    name: ${JSON.stringify(MODEL)},
    rollout: {
      shadow: { predictions: 100 },
      canary: { percent: 50, steps: [100] },
      promote: { metric: 'auc', maxRegression: 0.1, minLabels: ${MIN_LABELS} },
      rollback: { maxErrorRate: 0.05, maxLatencyP99Ms: 1000 },
      requireApproval: false,
    },
  }],
});
`,
    );
    const gatewayPort = await freePort();
    const config = loadConfig();
    const result = await runLoop(
      { out: (text) => (story += `${text}\n`), err: (text) => (story += `${text}\n`) },
      { config, logger: createLogger('loop-test', { defaultLevel: 'error' }) },
      {
        project,
        model: MODEL,
        historyPayments: 10_000,
        ratePerS: 25,
        gatewayShare: 0.1,
        labelDelayMs: 2_000,
        inflation: 3,
        serviceEnv: {
          RHEO_GATEWAY_PORT: String(gatewayPort),
          // Other suites leave production models whose artifacts they removed; this loop serves its own.
          RHEO_SERVE_MODELS: MODEL,
          RHEO_DRIFT_WINDOW_MS: '15000',
          RHEO_DRIFT_LATENESS_MS: '2000',
          RHEO_DRIFT_MODELS: JSON.stringify({ [MODEL]: { minSamples: 150, cooldownMs: 1_800_000 } }),
          RHEO_ROLLOUT_INTERVAL_MS: '1000',
        },
        gatewayUrl: `http://127.0.0.1:${gatewayPort}`,
        apiKey: 'rheo-local-predict-key',
        secondAct: true,
        milestoneTimeoutMs: 240_000,
      },
    ).catch((error: unknown) => {
      throw new Error(`${(error as Error).message}\n--- the loop's story ---\n${story}`);
    });
    const log = result.lifecycle;
    const of = (version: string) => log.filter((e) => e.model_version === version);

    // v2 was trained from the drift's request, on top of v1.
    expect(result.driftRequest.reason).toBe('DRIFT');
    const registered = of(result.v2).find((e) => e.event_type === 'REGISTERED');
    expect(registered?.registered?.lineage.run_id).toBe(`run-${result.driftRequest.event_id}`);
    expect(registered?.registered?.lineage.parent_version).toBe(result.v1);

    // Its promotion was the controller's, with evidence, approved by the policy's delegate.
    const promoted = of(result.v2).find((e) => e.stage_change?.to_stage === 'PRODUCTION');
    // Traffic events name no version: the controller's steps between v2's registration and its promotion.
    const v2Steps = log
      .slice(log.indexOf(registered as (typeof log)[number]), log.indexOf(promoted as (typeof log)[number]))
      .filter((e) => e.actor === ROLLOUT_ACTOR);
    expect(v2Steps.map((e) => e.event_type)).toEqual(['TRAFFIC_SET', 'TRAFFIC_SET', 'TRAFFIC_SET', 'TRANSITION_REQUESTED']);
    const request = v2Steps.at(-1);
    const evidence = JSON.parse((request?.reason ?? '').split(' | evidence ')[1] ?? '{}') as Record<string, number | string>;
    expect(evidence).toMatchObject({ phase: 'canary', canary_percent: 100, metric: 'auc', min_labels: MIN_LABELS });
    expect(evidence.step_labels as number).toBeGreaterThanOrEqual(MIN_LABELS);
    expect(evidence.candidate_labels as number).toBeGreaterThanOrEqual(MIN_LABELS);
    expect(promoted?.actor).toBe(ROLLOUT_POLICY_ACTOR);

    // v3 went back as soon as the evidence allowed: at the first evaluation with enough labels.
    const v3 = result.v3 as string;
    const archived = of(v3).find((e) => e.event_type === 'ARCHIVED');
    expect(archived?.actor).toBe(ROLLOUT_ACTOR);
    const rollback = JSON.parse((archived?.reason ?? '').split(' | evidence ')[1] ?? '{}') as Record<string, number>;
    expect(rollback.candidate_metric).toBeLessThan(rollback.production_metric as number);
    expect(rollback.candidate_labels).toBeGreaterThanOrEqual(MIN_LABELS);
    // Labels arrive at ≤ 25/s and the controller looks every second: it may not wait for many more.
    expect(rollback.candidate_labels).toBeLessThan(MIN_LABELS + 150);
    expect(
      log.filter((e) => e.event_type === 'STAGE_CHANGED' && e.model_version === v3 && e.stage_change?.to_stage === 'PRODUCTION'),
    ).toEqual([]);

    // The platform ran as services, and down leaves none behind.
    let ps = '';
    expect(await rheo(['ps', '--json'], { out: (t) => (ps += t), err: () => undefined })).toBe(0);
    const { members } = JSON.parse(ps) as { members: Array<{ service: string; pid: number | null; health: string }> };
    expect(members.every((m) => m.health === 'ready')).toBe(true);
    expect(new Set(members.map((m) => m.service))).toEqual(
      new Set(['gateway', 'materializer', 'archiver', 'scorer', 'feedback-joiner', 'drift', 'trainer', 'rollout-controller']),
    );
    expect(await rheo(['down', '--keep-stack'], silent)).toBe(0);
    for (const { pid } of members) if (pid) expect(() => process.kill(pid, 0)).toThrow();
  }, 1_500_000);
});
