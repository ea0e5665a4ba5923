/**
 * The supervisor as its own process (daemon.ts, as `rheo up` starts it) with stand-in members: SIGTERM
 * to it is a graceful down of its members; after a kill -9 of it, its state is recognised as stale and
 * `stopServices` (what `rheo down` runs) stops the members it left behind.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { stackLayout } from '../../../../../deploy/local/layout.ts';
import { currentState, stopServices } from '../../../../../deploy/local/services/client.ts';
import { memberAlive, type ServicesLayout, servicesLayout } from '../../../../../deploy/local/services/state.ts';
import type { SupervisorSpec } from '../../../../../deploy/local/services/supervisor.ts';
import { exited, PINNED_NODE } from '../../../../support/child.ts';
import { waitFor } from '../../../../support/wait.ts';

const DAEMON = fileURLToPath(new URL('../../../../../deploy/local/services/daemon.ts', import.meta.url));
const FAKE = fileURLToPath(new URL('../../../../support/fake-member.ts', import.meta.url));

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

const dirs: string[] = [];
const children: ChildProcess[] = [];
afterEach(async () => {
  for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

async function startDaemon(): Promise<{ layout: ServicesLayout; daemon: ChildProcess }> {
  const dir = await mkdtemp(join(tmpdir(), 'rheo-daemon-'));
  dirs.push(dir);
  const layout = servicesLayout(stackLayout(dir));
  const [a, b] = [await freePort(), await freePort()];
  const spec: SupervisorSpec = {
    plan: {
      project: dir,
      from: 'earliest',
      members: [
        { name: 'a', service: 'a', port: a, args: ['a'], env: { RHEO_OPS_PORT: String(a) } },
        { name: 'b', service: 'b', port: b, args: ['b'], env: { RHEO_OPS_PORT: String(b) } },
      ],
    },
    node: PINNED_NODE,
    nodeArgs: [],
    entry: FAKE,
    cwd: dir,
    layout,
  };
  await mkdir(layout.dir, { recursive: true });
  await writeFile(layout.plan, JSON.stringify(spec));
  const daemon = spawn(PINNED_NODE, [DAEMON, layout.plan], { stdio: 'ignore', env: { ...process.env, RHEO_LOG_LEVEL: 'info' } });
  children.push(daemon);
  await waitFor(
    'both members ready',
    async () => {
      const { state, alive } = await currentState(layout);
      return alive && state?.members.every((m) => m.state === 'ready');
    },
    { timeoutMs: 15_000, intervalMs: 100 },
  );
  return { layout, daemon };
}

describe('the supervisor process', () => {
  it('stops its members and exits 0 on SIGTERM', async () => {
    const { layout, daemon } = await startDaemon();
    const { state } = await currentState(layout);
    daemon.kill('SIGTERM');
    expect(await exited(daemon)).toEqual({ code: 0, signal: null });
    for (const m of state?.members ?? []) expect(memberAlive(m), m.name).toBe(false);
    const after = await currentState(layout);
    expect(after.alive).toBe(false);
    expect(after.state?.members.map((m) => m.state)).toEqual(['stopped', 'stopped']);
  });

  it('leaves a stale state when killed -9, which down recognises, stopping the members left behind', async () => {
    const { layout, daemon } = await startDaemon();
    const { state } = await currentState(layout);
    daemon.kill('SIGKILL');
    await exited(daemon);
    const stale = await currentState(layout);
    expect(stale.alive).toBe(false);
    expect(stale.state?.members.every((m) => memberAlive(m))).toBe(true); // orphans, still running
    const result = await stopServices(layout, { progress: () => {}, graceMs: 5_000 });
    expect(result).toMatchObject({ nothing: false, stale: true, stopped: [{ name: 'a' }, { name: 'b' }] });
    for (const m of state?.members ?? []) expect(memberAlive(m), m.name).toBe(false);
    expect((await currentState(layout)).state).toBeUndefined();
    expect(await stopServices(layout)).toMatchObject({ nothing: true });
  });
});
