/**
 * The supervisor with stand-in members (fake-member.ts, plain Node processes, no stack): it starts
 * them, restarts a killed one with backoff, marks one that keeps crashing crashlooping, restarts on
 * request without counting a crash, answers on its control port, and leaves nothing behind on shutdown.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stackLayout } from '../../../../../deploy/local/layout.ts';
import type { ServicesPlan } from '../../../../../deploy/local/services/plan.ts';
import { readServicesState, type ServicesLayout, servicesLayout } from '../../../../../deploy/local/services/state.ts';
import { Supervisor } from '../../../../../deploy/local/services/supervisor.ts';
import { createLogger } from '../../../../../kernel/log.ts';
import { PINNED_NODE } from '../../../../support/child.ts';
import { waitFor } from '../../../../support/wait.ts';

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

function alive(pid: number | null): boolean {
  if (pid === null) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

let dir: string;
let layout: ServicesLayout;
let supervisor: Supervisor;
const logLines: string[] = [];
const until = (what: string, check: () => boolean, timeoutMs: number) => waitFor(what, check, { timeoutMs, intervalMs: 50 });
const member = (name: string) => supervisor.snapshot().members.find((m) => m.name === name)!;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rheo-supervisor-'));
  layout = servicesLayout(stackLayout(dir));
  const [steady, crashing] = [await freePort(), await freePort()];
  const plan: ServicesPlan = {
    project: dir,
    from: 'earliest',
    members: [
      { name: 'steady', service: 'steady', port: steady, args: ['steady'], env: { RHEO_OPS_PORT: String(steady) } },
      { name: 'crashing', service: 'crashing', port: crashing, args: ['crash'], env: { RHEO_OPS_PORT: String(crashing) } },
    ],
  };
  const destination = new Writable({
    write(chunk, _encoding, done) {
      logLines.push(...String(chunk).trim().split('\n'));
      done();
    },
  });
  supervisor = new Supervisor({
    spec: { plan, node: PINNED_NODE, nodeArgs: [], entry: FAKE, cwd: dir, layout },
    marker: 'test',
    logger: createLogger('rheo-supervisor', { level: 'info', destination }),
    policy: { initialMs: 50, maxMs: 300, resetAfterMs: 60_000, crashloopThreshold: 3, crashloopWindowMs: 60_000 },
    probeIntervalMs: 100,
    stopGraceMs: 2_000,
  });
  await supervisor.start();
});

afterAll(async () => {
  await supervisor?.shutdown('test over');
  await rm(dir, { recursive: true, force: true });
});

describe('the supervisor', () => {
  it('starts every member, probes it ready, and writes the state file with its control port', async () => {
    await until('steady ready', () => member('steady').state === 'ready', 10_000);
    const state = await readServicesState(layout.state);
    expect(state?.supervisor.control_port).toBeGreaterThan(0);
    expect(state?.members.map((m) => m.name)).toEqual(['steady', 'crashing']);
    const response = await fetch(`http://127.0.0.1:${state?.supervisor.control_port}/members`);
    expect(response.status).toBe(200);
    expect(((await response.json()) as { members: unknown[] }).members).toHaveLength(2);
    const missing = await fetch(`http://127.0.0.1:${state?.supervisor.control_port}/members/nope/restart`, { method: 'POST' });
    expect(missing.status).toBe(404);
    expect(await readFile(join(layout.logs, 'steady.log'), 'utf8')).toContain('fake member steady listening');
  });

  it('restarts a killed member after backoff, counting the restart, until it is ready again', async () => {
    const before = member('steady').pid;
    process.kill(before!, 'SIGKILL');
    await until(
      'steady restarted once and ready',
      () => member('steady').restarts === 1 && member('steady').state === 'ready',
      10_000,
    );
    const after = member('steady');
    expect(after.pid).not.toBe(before);
    expect(after.last_exit).toMatchObject({ code: null, signal: 'SIGKILL' });
    expect(logLines.some((l) => l.includes('"member":"steady"') && l.includes('restarting after backoff'))).toBe(true);
  });

  it('marks a member that keeps crashing crashlooping and keeps retrying it', async () => {
    await until(
      'crashing marked crashlooping',
      () => member('crashing').crashlooping && member('crashing').restarts >= 3,
      15_000,
    );
    const looping = member('crashing');
    expect(looping.state).toBe('crashlooping');
    expect(looping.last_exit?.code).toBe(3);
    const restarts = looping.restarts;
    await until('crashing retried again', () => member('crashing').restarts > restarts, 5_000);
    expect(logLines.some((l) => l.includes('member crashlooping'))).toBe(true);
  });

  it('restarts on request without counting a crash', async () => {
    const before = member('steady');
    const pid = await supervisor.restart('steady');
    expect(pid).not.toBe(before.pid);
    expect(alive(before.pid)).toBe(false);
    expect(member('steady').restarts).toBe(before.restarts);
    await until('steady ready', () => member('steady').state === 'ready', 10_000);
  });

  it('stops every member on shutdown and leaves no process behind', async () => {
    const pids = supervisor.snapshot().members.map((m) => m.pid);
    await supervisor.shutdown('test');
    await supervisor.whenStopped();
    const state = await readServicesState(layout.state);
    expect(state?.supervisor.stopping).toBe(true);
    expect(state?.members.map((m) => [m.name, m.state, m.pid])).toEqual([
      ['steady', 'stopped', null],
      ['crashing', 'stopped', null],
    ]);
    for (const pid of pids) expect(alive(pid)).toBe(false);
  });
});
