/**
 * `rheo up | ps | logs | restart | down` against the running local stack, run as the CLI process a
 * user starts (cli/main.ts on the pinned Node): the fraud example with two materializers, on private
 * ports (RHEO_GATEWAY_PORT, RHEO_SERVICES_PORT_BASE) so nothing else running here collides. A member
 * killed with -9 comes back (restarts 1, ready again), `restart` gives a new pid without counting a
 * crash, `logs` prints lines, and `down --keep-stack` leaves no member and no supervisor behind.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SERVICES } from '../../cli/commands/run.ts';
import { stackLayout } from '../../deploy/local/layout.ts';
import type { ServicesStatus } from '../../deploy/local/services/client.ts';
import { currentState } from '../../deploy/local/services/client.ts';
import { memberAlive, servicesLayout, supervisorAlive } from '../../deploy/local/services/state.ts';
import { PINNED_NODE } from '../support/child.ts';
import { waitFor } from '../support/wait.ts';

const CLI = fileURLToPath(new URL('../../cli/main.ts', import.meta.url));
const FRAUD = fileURLToPath(new URL('../../examples/fraud', import.meta.url));
const run = promisify(execFile);

// Private ports; the gateway and the scorer serve only the example's model (the shared registry may
// hold other tests' models, whose artifacts are gone, and those would keep them from being ready).
const ENV = {
  ...process.env,
  RHEO_GATEWAY_PORT: '18977',
  RHEO_SERVICES_PORT_BASE: '19850',
  RHEO_SERVE_MODELS: 'fraud_detector',
};

async function rheo(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  try {
    const { stdout, stderr } = await run(PINNED_NODE, ['--disable-warning=TimeoutNegativeWarning', CLI, ...args], {
      env: ENV,
      maxBuffer: 64 * 1024 * 1024,
    });
    return { code: 0, out: stdout, err: stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof failed.code === 'number' ? failed.code : 1, out: failed.stdout ?? '', err: failed.stderr ?? '' };
  }
}

async function ps(): Promise<{ code: number; status: ServicesStatus }> {
  const result = await rheo('ps', '--json');
  return { code: result.code, status: JSON.parse(result.out) as ServicesStatus };
}

const layout = servicesLayout(stackLayout());
const expected = ['gateway', 'materializer-1', 'materializer-2', ...Object.keys(SERVICES).filter((s) => s !== 'materializer')];

beforeAll(async () => {
  const { state, alive } = await currentState(layout);
  if (state && alive)
    throw new Error(`a rheo up is already running here (supervisor pid ${state.supervisor.pid}); rheo down first`);
  const applied = await rheo('apply', '--project', FRAUD);
  expect(applied.code, applied.err).toBe(0);
}, 180_000);

afterAll(async () => {
  const { state } = await currentState(layout);
  if (state) await rheo('down', '--keep-stack');
}, 120_000);

describe('rheo up, ps, logs, restart, down', () => {
  it('up starts every member, two materializers, and returns once all are ready', async () => {
    const up = await rheo('up', '--project', FRAUD, '--no-stack', '--scale', 'materializer=2');
    expect(up.code, up.err).toBe(0);
    expect(up.out).toContain('materializer-2');
    const { code, status } = await ps();
    expect(code).toBe(0);
    expect(status.members.map((m) => m.name)).toEqual(expected);
    expect(status.members.every((m) => m.health === 'ready' && m.state === 'ready')).toBe(true);
    const materializers = status.members.filter((m) => m.service === 'materializer');
    expect(materializers).toHaveLength(2);
    expect(new Set(status.members.map((m) => m.port)).size).toBe(status.members.length);
    expect(status.members.find((m) => m.name === 'gateway')?.port).toBe(18977);
    expect(materializers.map((m) => m.port)).toEqual([19850, 19851]);
    expect(materializers.every((m) => typeof m.lag === 'number')).toBe(true);
    expect(status.members.find((m) => m.name === 'gateway')?.lag).toBeNull();
  }, 300_000);

  it('a second up is a no-op that prints ps', async () => {
    const again = await rheo('up', '--project', FRAUD, '--no-stack');
    expect(again.code, again.err).toBe(0);
    expect(again.err).toContain('already running');
    expect(again.out).toContain('materializer-1');
  });

  it('restarts a member killed with -9 after backoff, counting it, until it is ready again', async () => {
    const before = (await ps()).status.members.find((m) => m.name === 'materializer-2');
    expect(before?.pid).toBeGreaterThan(0);
    process.kill(before?.pid as number, 'SIGKILL');
    const after = await waitFor(
      'materializer-2 restarted and ready',
      async () => {
        const m = (await ps()).status.members.find((x) => x.name === 'materializer-2');
        return m && m.restarts === 1 && m.health === 'ready' ? m : undefined;
      },
      { timeoutMs: 150_000, intervalMs: 1_000 },
    );
    expect(after?.pid).not.toBe(before?.pid);
    expect(after?.last_exit).toMatchObject({ signal: 'SIGKILL' });
  }, 180_000);

  it('restart gives a member a new pid without counting a crash', async () => {
    const before = (await ps()).status.members.find((m) => m.name === 'archiver');
    const restarted = await rheo('restart', 'archiver');
    expect(restarted.code, restarted.err).toBe(0);
    const match = /archiver restarted: pid (\d+) → (\d+)/.exec(restarted.out);
    expect(Number(match?.[1])).toBe(before?.pid);
    expect(Number(match?.[2])).not.toBe(before?.pid);
    const after = (await ps()).status.members.find((m) => m.name === 'archiver');
    expect(after?.pid).toBe(Number(match?.[2]));
    expect(after?.restarts).toBe(before?.restarts);
  }, 120_000);

  it('logs prints the last lines of a member, and refuses a name it has no log for', async () => {
    const logs = await rheo('logs', 'archiver', '--lines', '5');
    expect(logs.code, logs.err).toBe(0);
    expect(logs.out.trimEnd().split('\n')).toHaveLength(5);
    const both = await rheo('logs', 'materializer', '--lines', '1');
    expect(both.out).toMatch(/^materializer-1 \| .*\nmaterializer-2 \| /);
    const none = await rheo('logs', 'nope');
    expect(none.code).toBe(1);
    expect(none.err).toContain('no log for "nope"');
  });

  it('down --keep-stack stops every member and the supervisor, leaving no process behind', async () => {
    const { state } = await currentState(layout);
    expect(state).toBeDefined();
    const down = await rheo('down', '--keep-stack');
    expect(down.code, down.err).toBe(0);
    expect(down.out).toContain('and the supervisor');
    if (!state) return;
    expect(supervisorAlive(state)).toBe(false);
    for (const m of state.members) expect(memberAlive(m), m.name).toBe(false);
    const none = await rheo('ps');
    expect(none.code).toBe(1);
    expect(none.err).toContain('no Rheo services are running');
  }, 120_000);
});
