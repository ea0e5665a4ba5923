/**
 * `rheo logs`: which log files a name means (a member, every member of a service, or the supervisor),
 * their last lines, and following them as `tail -f` does (new complete lines as they are appended; a
 * file that was truncated or replaced is read again from its start).
 */
import { existsSync, readdirSync } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export interface LogFile {
  member: string;
  path: string;
}

/** Every log in the folder, by member name (`supervisor` included), sorted. */
export function logFiles(dir: string): LogFile[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.log'))
    .sort()
    .map((f) => ({ member: basename(f, '.log'), path: join(dir, f) }));
}

/** The logs `target` names: `<target>.log`, else every `<target>-<i>.log` (the members of a scaled service). */
export function logsOf(dir: string, target: string): LogFile[] {
  const all = logFiles(dir);
  const exact = all.filter((f) => f.member === target);
  if (exact.length > 0) return exact;
  const members = new RegExp(`^${target.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}-\\d+$`);
  return all.filter((f) => members.test(f.member));
}

/** The last `count` lines of a file (reading backwards, so a big log costs what the lines cost). */
export async function lastLines(path: string, count: number): Promise<string[]> {
  if (count <= 0) return [];
  const handle = await open(path, 'r');
  try {
    const { size } = await handle.stat();
    const chunk = 64 * 1024;
    let position = size;
    let text = '';
    while (position > 0) {
      const length = Math.min(chunk, position);
      position -= length;
      const buffer = Buffer.alloc(length);
      await handle.read(buffer, 0, length, position);
      text = buffer.toString('utf8') + text;
      if (text.split('\n').length > count + 1) break;
    }
    const lines = text.split('\n');
    if (lines.at(-1) === '') lines.pop();
    return lines.slice(-count);
  } finally {
    await handle.close();
  }
}

/**
 * Calls `emit(file, lines)` with each complete line appended to the files from now on, until `signal`
 * aborts. Polls every `intervalMs` (fs.watch misses appends on some file systems).
 */
export async function follow(
  files: readonly LogFile[],
  emit: (file: LogFile, lines: string[]) => void,
  signal: AbortSignal,
  intervalMs = 300,
): Promise<void> {
  const positions = new Map<string, { offset: number; ino: number; partial: string }>();
  for (const file of files) {
    const info = await stat(file.path).catch(() => undefined);
    positions.set(file.path, { offset: info?.size ?? 0, ino: info?.ino ?? 0, partial: '' });
  }
  while (!signal.aborted) {
    for (const file of files) {
      const at = positions.get(file.path);
      const info = await stat(file.path).catch(() => undefined);
      if (!at || !info) continue;
      if (info.ino !== at.ino || info.size < at.offset) Object.assign(at, { offset: 0, ino: info.ino, partial: '' });
      if (info.size === at.offset) continue;
      const handle = await open(file.path, 'r');
      try {
        const buffer = Buffer.alloc(info.size - at.offset);
        const { bytesRead } = await handle.read(buffer, 0, buffer.length, at.offset);
        at.offset += bytesRead;
        const lines = (at.partial + buffer.subarray(0, bytesRead).toString('utf8')).split('\n');
        at.partial = lines.pop() ?? '';
        if (lines.length > 0) emit(file, lines);
      } finally {
        await handle.close();
      }
    }
    await sleep(intervalMs, undefined, { signal }).catch(() => undefined);
  }
}
