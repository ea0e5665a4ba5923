/**
 * The supervisor's state file, `<stack>/services/state.json`: the supervisor's pid, marker and control
 * port, and per member its pid, port, state, start time, restarts and last exit. Only the supervisor
 * writes it (a temporary file renamed over the old one, so a reader never sees half of it); `rheo ps`,
 * `restart`, `down` and a second `up` read it. A pid in it is trusted only while `/proc/<pid>/cmdline`
 * still carries the marker recorded with it (as the stack's pid files, deploy/local/process.ts), so a
 * state left by a supervisor that died is recognised as stale and a recycled pid is never signalled.
 */
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { StackLayout } from '../layout.ts';
import { isOurs } from '../process.ts';

export type MemberStateName = 'starting' | 'running' | 'ready' | 'backoff' | 'crashlooping' | 'stopped';

export const MEMBER_STATES: readonly MemberStateName[] = ['starting', 'running', 'ready', 'backoff', 'crashlooping', 'stopped'];

export interface MemberExit {
  code: number | null;
  signal: string | null;
  at: string;
}

export interface MemberState {
  name: string;
  service: string;
  /** While a process runs for it; null in backoff and once stopped. */
  pid: number | null;
  /** A string its command line carries while `pid` is still this member. */
  marker: string;
  /** The gateway's port or the member's ops port. */
  port: number;
  state: MemberStateName;
  /** When the current (or last) process started. */
  started_at: string | null;
  /** Restarts after crashes (a `rheo restart` is not counted). */
  restarts: number;
  crashlooping: boolean;
  last_exit: MemberExit | null;
  /** In backoff: when it starts again. */
  next_start_at: string | null;
  log: string;
}

export interface SupervisorRecord {
  pid: number;
  marker: string;
  /** Its loopback HTTP port (`GET /members`, `POST /members/<name>/restart`, `POST /shutdown`); null until it listens. */
  control_port: number | null;
  started_at: string;
  project: string;
  stopping: boolean;
}

export interface ServicesState {
  version: 1;
  updated_at: string;
  supervisor: SupervisorRecord;
  members: MemberState[];
}

/** Where the supervisor keeps its files under the stack directory. */
export interface ServicesLayout {
  dir: string;
  state: string;
  /** What `up` hands the supervisor; its path is the supervisor's marker. */
  plan: string;
  logs: string;
  supervisorLog: string;
}

export function servicesLayout(stack: StackLayout): ServicesLayout {
  const dir = join(stack.stack, 'services');
  const logs = join(stack.logs, 'services');
  return { dir, state: join(dir, 'state.json'), plan: join(dir, 'plan.json'), logs, supervisorLog: join(logs, 'supervisor.log') };
}

export function memberLog(layout: ServicesLayout, member: string): string {
  return join(layout.logs, `${member}.log`);
}

/** Writes the whole state atomically (a temporary file in the same folder, renamed over the old one). */
export async function writeServicesState(path: string, state: ServicesState): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const temporary = `${path}.${process.pid}.tmp`;
  await writeFile(temporary, `${JSON.stringify(state, null, 2)}\n`);
  await rename(temporary, path);
}

/** The state file, or undefined when there is none or it is not a state this version wrote. */
export async function readServicesState(path: string): Promise<ServicesState | undefined> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(path, 'utf8'));
  } catch {
    return undefined;
  }
  return isServicesState(parsed) ? parsed : undefined;
}

export async function removeServicesState(layout: ServicesLayout): Promise<void> {
  await rm(layout.state, { force: true });
  await rm(layout.plan, { force: true });
}

/** True while the supervisor that wrote `state` still runs. */
export function supervisorAlive(state: ServicesState): boolean {
  return isOurs({ service: 'supervisor', pid: state.supervisor.pid, marker: state.supervisor.marker, startedAt: '' });
}

/** True while the member's recorded pid still runs that member's command. */
export function memberAlive(member: MemberState): boolean {
  return member.pid !== null && isOurs({ service: member.name, pid: member.pid, marker: member.marker, startedAt: '' });
}

function isServicesState(value: unknown): value is ServicesState {
  if (!isObject(value) || value.version !== 1 || !isObject(value.supervisor) || !Array.isArray(value.members)) return false;
  const s = value.supervisor;
  if (typeof s.pid !== 'number' || typeof s.marker !== 'string' || typeof s.project !== 'string') return false;
  return value.members.every(
    (m) =>
      isObject(m) &&
      typeof m.name === 'string' &&
      typeof m.service === 'string' &&
      typeof m.marker === 'string' &&
      typeof m.port === 'number' &&
      typeof m.restarts === 'number' &&
      (m.pid === null || typeof m.pid === 'number') &&
      MEMBER_STATES.includes(m.state as MemberStateName),
  );
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
