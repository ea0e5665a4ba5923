/**
 * Processes the local stack owns: started detached with their output in a log file, remembered in a pid
 * file together with a marker (a path that must appear in /proc/<pid>/cmdline), and stopped only while
 * that marker still matches — so a recycled pid never gets signalled.
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export interface PidRecord {
  service: string;
  pid: number;
  /** A string that must occur in the process's command line for it to still be ours. */
  marker: string;
  startedAt: string;
}

export interface LaunchSpec {
  command: string;
  args: string[];
  cwd: string;
  env?: Record<string, string>;
  /** Stdout and stderr are appended here. */
  logFile: string;
  marker: string;
}

export async function launch(service: string, spec: LaunchSpec, pidFile: string): Promise<PidRecord> {
  await mkdir(dirname(spec.logFile), { recursive: true });
  await mkdir(dirname(pidFile), { recursive: true });
  const fd = openSync(spec.logFile, 'a');
  try {
    const child = spawn(spec.command, spec.args, {
      cwd: spec.cwd,
      env: { ...process.env, ...spec.env },
      detached: true,
      stdio: ['ignore', fd, fd],
    });
    const pid = await new Promise<number>((resolve, reject) => {
      child.once('error', (error) => reject(new Error(`cannot start ${service} (${spec.command}): ${error.message}`)));
      child.once('spawn', () => resolve(child.pid ?? -1));
    });
    child.unref();
    const record: PidRecord = { service, pid, marker: spec.marker, startedAt: new Date().toISOString() };
    await writeFile(pidFile, `${JSON.stringify(record)}\n`);
    return record;
  } finally {
    closeSync(fd);
  }
}

export async function readPidRecord(pidFile: string): Promise<PidRecord | undefined> {
  try {
    const parsed = JSON.parse(await readFile(pidFile, 'utf8')) as Partial<PidRecord>;
    if (typeof parsed.pid !== 'number' || typeof parsed.marker !== 'string' || typeof parsed.service !== 'string')
      return undefined;
    return parsed as PidRecord;
  } catch {
    return undefined;
  }
}

export function commandLine(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
  } catch {
    return undefined;
  }
}

/** True while the pid is alive, not a zombie, and still runs the command we started. */
export function isOurs(record: PidRecord): boolean {
  const cmdline = commandLine(record.pid);
  if (!cmdline?.includes(record.marker)) return false;
  try {
    const stat = readFileSync(`/proc/${record.pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** SIGTERM, then SIGKILL after `graceMs`; never signals a pid whose command line no longer matches. */
export async function stop(record: PidRecord, graceMs: number): Promise<'stopped' | 'killed' | 'not-running'> {
  if (!isOurs(record)) return 'not-running';
  signal(record.pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    await sleep(200);
    if (!isOurs(record)) return 'stopped';
  }
  if (!isOurs(record)) return 'stopped';
  signal(record.pid, 'SIGKILL');
  for (let i = 0; i < 50 && isOurs(record); i++) await sleep(100);
  return 'killed';
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
  }
}

export async function removeFile(path: string): Promise<void> {
  await rm(path, { force: true });
}

/** Resolves true when nothing on this machine holds `port` on `host` (we try to bind it ourselves). */
export function isPortFree(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/** Who listens on a TCP port, from /proc (best effort: only processes we may inspect). */
export function portOwner(port: number): { pid: number; command: string } | undefined {
  const inodes = new Set<string>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = '';
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      const local = cols[1];
      if (!local || cols[3] !== '0A') continue; // 0A = LISTEN
      if (Number.parseInt(local.slice(local.lastIndexOf(':') + 1), 16) === port && cols[9]) inodes.add(cols[9]);
    }
  }
  if (inodes.size === 0) return undefined;
  for (const entry of safeReaddir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    for (const fd of safeReaddir(`/proc/${entry}/fd`)) {
      let target = '';
      try {
        target = readlinkSync(`/proc/${entry}/fd/${fd}`);
      } catch {
        continue;
      }
      const match = /^socket:\[(\d+)\]$/.exec(target);
      if (match?.[1] && inodes.has(match[1])) {
        const pid = Number(entry);
        return { pid, command: commandLine(pid) ?? '?' };
      }
    }
  }
  return undefined;
}

function safeReaddir(path: string): string[] {
  try {
    return readdirSync(path);
  } catch {
    return [];
  }
}

export function portConflictMessage(service: string, port: number, owner?: { pid: number; command: string }): string {
  const who = owner ? ` by pid ${owner.pid} (${truncate(owner.command.replace(/\s+/g, ' ').trim(), 80)})` : ' by another process';
  return `port ${port} for ${service} is already in use${who}, which this stack did not start; stop it or free the port, then retry`;
}

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/** Polls `probe` until it returns a value (not undefined) or the time runs out; the last error explains a timeout. */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  opts: { timeoutMs: number; intervalMs?: number; alive?: () => boolean },
): Promise<T> {
  const deadline = Date.now() + opts.timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    if (opts.alive && !opts.alive())
      throw new Error(`${what}: the process exited${last ? ` (last error: ${errorText(last)})` : ''}`);
    if (Date.now() >= deadline)
      throw new Error(
        `${what}: not ready after ${Math.round(opts.timeoutMs / 1000)}s${last ? ` (last error: ${errorText(last)})` : ''}`,
      );
    await sleep(opts.intervalMs ?? 500);
  }
}

export function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** The last lines of a log file, for failure messages. */
export async function tail(path: string, lines = 15): Promise<string> {
  try {
    const text = await readFile(path, 'utf8');
    return text.trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

/** Resident memory of a pid in MiB, from /proc (undefined when gone). */
export function residentMiB(pid: number): number | undefined {
  try {
    const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match?.[1] ? Math.round(Number(match[1]) / 1024) : undefined;
  } catch {
    return undefined;
  }
}
