/**
 * Talking to the supervisor (supervisor.ts) from `rheo up|ps|restart|down`: start it detached, wait
 * for its members to be ready, read their state and health, ask it to restart a member or to shut
 * down — and clean up after one that died (a stale state file: its members are stopped by pid, each
 * only while its command line still carries its marker).
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync, writeSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { errorText, stop, tail } from '../process.ts';
import type { ServicesPlan } from './plan.ts';
import { type Health, health, scrapeLag } from './probe.ts';
import {
  type MemberState,
  memberAlive,
  readServicesState,
  removeServicesState,
  type ServicesLayout,
  type ServicesState,
  supervisorAlive,
} from './state.ts';
import type { SupervisorSpec } from './supervisor.ts';

/** Node flags of the supervisor and its members (kafkajs's harmless negative-timeout warning, once per process). */
export const NODE_ARGS = ['--disable-warning=TimeoutNegativeWarning'];

/** How long `down` (and the supervisor) give a member between SIGTERM and SIGKILL. */
export const STOP_GRACE_MS = 30_000;

const EXT = import.meta.url.endsWith('.ts') ? '.ts' : '.js';

/** The CLI entry the members run: cli/main.ts in a checkout, dist/cli/main.js in the installed package. */
export function cliEntry(): string {
  return fileURLToPath(new URL(`../../../cli/main${EXT}`, import.meta.url));
}

function daemonEntry(): string {
  return fileURLToPath(new URL(`./daemon${EXT}`, import.meta.url));
}

export class ServicesError extends Error {
  override name = 'ServicesError';
}

/** The state file and whether its supervisor still runs (`alive: false` with a state: stale). */
export async function currentState(layout: ServicesLayout): Promise<{ state: ServicesState | undefined; alive: boolean }> {
  const state = await readServicesState(layout.state);
  return { state, alive: state !== undefined && supervisorAlive(state) };
}

/** Writes the plan file and starts the supervisor detached, its output appended to supervisor.log; resolves its pid. */
export async function startSupervisor(layout: ServicesLayout, plan: ServicesPlan): Promise<number> {
  await mkdir(layout.dir, { recursive: true });
  await mkdir(layout.logs, { recursive: true });
  const spec: SupervisorSpec = {
    plan,
    node: process.execPath,
    nodeArgs: NODE_ARGS,
    entry: cliEntry(),
    cwd: process.cwd(),
    layout,
  };
  await writeFile(layout.plan, `${JSON.stringify(spec, null, 2)}\n`);
  const fd = openSync(layout.supervisorLog, 'a');
  try {
    writeSync(fd, `--- ${new Date().toISOString()} rheo up: starting the supervisor for ${plan.project}\n`);
    const child = spawn(process.execPath, [...NODE_ARGS, daemonEntry(), layout.plan], {
      cwd: process.cwd(),
      env: process.env,
      detached: true,
      stdio: ['ignore', fd, fd],
    });
    const pid = await new Promise<number>((resolve, reject) => {
      child.once('error', (error) => reject(new ServicesError(`cannot start the supervisor: ${error.message}`)));
      child.once('spawn', () => resolve(child.pid ?? -1));
    });
    child.unref();
    return pid;
  } finally {
    closeSync(fd);
  }
}

export interface MemberStatus extends MemberState {
  uptime_s: number | null;
  /** Records behind, summed over the member's partitions (`rheo_processor_consumer_lag`); null for the gateway or when unknown. */
  lag: number | null;
  health: Health;
  metrics_url: string;
}

export interface ServicesStatus {
  supervisor: ServicesState['supervisor'];
  members: MemberStatus[];
  /** Every member answers `/readyz` with 200. */
  ready: boolean;
}

/** The members as the supervisor sees them (its control port, else its state file), with health and lag probed now. */
export async function servicesStatus(state: ServicesState): Promise<ServicesStatus> {
  const live = await fetchMembers(state).catch(() => state);
  const now = Date.now();
  const members = await Promise.all(
    live.members.map(async (m): Promise<MemberStatus> => {
      const running = m.pid !== null;
      const [answer, lag] = running
        ? await Promise.all([health(m.port), m.service === 'gateway' ? null : scrapeLag(m.port)])
        : (['unreachable', null] as const);
      return {
        ...m,
        uptime_s: running && m.started_at ? Math.max(0, Math.round((now - Date.parse(m.started_at)) / 1000)) : null,
        lag: lag ?? null,
        health: answer,
        metrics_url: `http://127.0.0.1:${m.port}/metrics`,
      };
    }),
  );
  return { supervisor: live.supervisor, members, ready: members.every((m) => m.health === 'ready') };
}

async function control(state: ServicesState, method: 'GET' | 'POST', path: string, timeoutMs: number): Promise<unknown> {
  const port = state.supervisor.control_port;
  if (port === null) throw new ServicesError('the supervisor is not listening yet');
  const response = await fetch(`http://127.0.0.1:${port}${path}`, { method, signal: AbortSignal.timeout(timeoutMs) });
  const body = (await response.json().catch(() => ({}))) as { error?: string };
  if (response.status >= 300 && response.status !== 202)
    throw new ServicesError(body.error ?? `the supervisor answered ${response.status} to ${method} ${path}`);
  return body;
}

export async function fetchMembers(state: ServicesState): Promise<ServicesState> {
  return (await control(state, 'GET', '/members', 3_000)) as ServicesState;
}

/** Asks the supervisor to restart one member (SIGTERM, wait, start); resolves its new pid. */
export async function restartMember(state: ServicesState, name: string): Promise<number | null> {
  const answer = (await control(state, 'POST', `/members/${encodeURIComponent(name)}/restart`, STOP_GRACE_MS + 15_000)) as {
    pid?: number | null;
  };
  return answer.pid ?? null;
}

/**
 * Waits until every member of the plan answers `/readyz` with 200, or `timeoutMs` passed (resolves the
 * members not ready then). Throws when the supervisor exits meanwhile, with its last log lines.
 */
export async function waitUntilReady(
  layout: ServicesLayout,
  plan: ServicesPlan,
  supervisorPid: number,
  opts: { timeoutMs: number; progress: (line: string) => void },
): Promise<{ notReady: string[] }> {
  const deadline = Date.now() + opts.timeoutMs;
  let nextReport = Date.now() + 15_000;
  for (;;) {
    const { state, alive } = await currentState(layout);
    if (state?.supervisor.pid === supervisorPid && !alive)
      throw new ServicesError(`the supervisor (pid ${supervisorPid}) exited\n${await logTail(layout.supervisorLog, 20)}`);
    if (!state && !pidAlive(supervisorPid))
      throw new ServicesError(`the supervisor (pid ${supervisorPid}) exited\n${await logTail(layout.supervisorLog, 20)}`);
    // Ready by its own /readyz, and by the supervisor's state (its probe runs every 2 s), so ps agrees.
    const states = new Map(state?.members.map((m) => [m.name, m]) ?? []);
    const healths = await Promise.all(plan.members.map(async (m) => [m.name, await health(m.port, 1_500)] as const));
    const notReady = healths.filter(([name, h]) => h !== 'ready' || states.get(name)?.state !== 'ready').map(([name]) => name);
    if (notReady.length === 0) return { notReady };
    if (Date.now() >= deadline) return { notReady };
    if (Date.now() >= nextReport) {
      opts.progress(
        `waiting for ${notReady
          .map((name) => {
            const m = states.get(name);
            return m ? `${name} (${m.state}${m.restarts ? `, ${m.restarts} restarts` : ''})` : name;
          })
          .join(', ')}`,
      );
      nextReport = Date.now() + 15_000;
    }
    await sleep(1_000);
  }
}

export interface StopResult {
  /** Nothing was recorded as running. */
  nothing: boolean;
  /** The supervisor had died; its members (if any were left) were stopped by pid. */
  stale: boolean;
  supervisorPid?: number;
  /** Members that had a process when `down` started. */
  stopped: Array<{ name: string; pid: number }>;
}

/**
 * `down`: asks the supervisor to stop (its control port, else SIGTERM), waits for it to exit (SIGKILL
 * past the grace period), then makes sure no member pid is left (stopping any that still runs its
 * command), and removes the state. Throws when a process survives all that.
 */
export async function stopServices(
  layout: ServicesLayout,
  opts: { progress: (line: string) => void; graceMs?: number } = { progress: () => {} },
): Promise<StopResult> {
  const graceMs = opts.graceMs ?? STOP_GRACE_MS;
  const { state: before, alive } = await currentState(layout);
  if (!before) {
    await removeServicesState(layout);
    return { nothing: true, stale: false, stopped: [] };
  }
  const stopped = before.members
    .filter((m) => m.pid !== null && memberAlive(m))
    .map((m) => ({ name: m.name, pid: m.pid as number }));
  const supervisor = { service: 'supervisor', pid: before.supervisor.pid, marker: before.supervisor.marker, startedAt: '' };
  if (alive) {
    opts.progress(`stopping ${stopped.length} member${stopped.length === 1 ? '' : 's'} (supervisor pid ${supervisor.pid})`);
    try {
      await control(before, 'POST', '/shutdown', 5_000);
    } catch (error) {
      opts.progress(`the supervisor's control port did not answer (${errorText(error)}); sending it SIGTERM`);
      process.kill(supervisor.pid, 'SIGTERM');
    }
    // The supervisor gives its members the grace period itself; past that and a margin, it is killed.
    const how = await waitGone(() => supervisorAlive(before), graceMs + 15_000);
    if (!how) {
      opts.progress(`the supervisor (pid ${supervisor.pid}) did not exit; SIGKILL`);
      await stop(supervisor, 0);
    }
  }
  const after = await readServicesState(layout.state);
  const members = [...before.members, ...(after?.members ?? [])];
  await Promise.all(
    members.map(async (m) => {
      if (m.pid === null || !memberAlive(m)) return;
      opts.progress(`${m.name} (pid ${m.pid}) is still running; stopping it`);
      await stop({ service: m.name, pid: m.pid, marker: m.marker, startedAt: '' }, graceMs);
    }),
  );
  const left = [
    ...(supervisorAlive(before) ? [`supervisor (pid ${before.supervisor.pid})`] : []),
    ...members.filter((m) => memberAlive(m)).map((m) => `${m.name} (pid ${m.pid})`),
  ];
  if (left.length > 0) throw new ServicesError(`still running after down: ${[...new Set(left)].join(', ')}`);
  await removeServicesState(layout);
  return { nothing: false, stale: !alive, supervisorPid: before.supervisor.pid, stopped };
}

async function waitGone(alive: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!alive()) return true;
    await sleep(200);
  }
  return !alive();
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The last lines of a file under its name, each cut at 300 characters, for failure messages. */
export async function logTail(file: string, lines: number): Promise<string> {
  const text = (await tail(file, lines))
    .split('\n')
    .map((line) => (line.length > 300 ? `${line.slice(0, 299)}…` : line))
    .join('\n');
  return text ? `--- last lines of ${file}\n${text}` : `--- ${file} is empty`;
}
