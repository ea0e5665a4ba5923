/**
 * The `rheo` shim (cli/rheo.mjs, cli/launch.mjs): which Node and which entry it picks, and, on a fake
 * package in a temporary folder (a `node` package whose binary marks the environment, a `dist/cli/main.js`
 * that reports what it got), that it forwards arguments, exit status and signals, and stops the CLI when
 * the process that started it is gone. No services.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chooseEntry, chooseNode, pinnedNode, terminalSignalsGroup } from '../../../cli/launch.mjs';

const CLI = fileURLToPath(new URL('../../../cli/', import.meta.url));
let tmp = '';

beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'rheo-launch-'));
});
afterAll(() => {
  rmSync(tmp, { recursive: true, force: true });
});

/** A `node` package at `<dir>/node_modules/node` whose bin/node runs this Node with RHEO_PINNED=<label>. */
function fakeNodePackage(dir: string, label: string): string {
  const pkg = join(dir, 'node_modules', 'node');
  mkdirSync(join(pkg, 'bin'), { recursive: true });
  writeFileSync(join(pkg, 'package.json'), '{"name":"node","version":"24.21.0"}\n');
  const bin = join(pkg, 'bin', 'node');
  writeFileSync(bin, `#!/bin/sh\nRHEO_PINNED=${label} exec '${process.execPath}' "$@"\n`, { mode: 0o755 });
  return bin;
}

describe('chooseNode', () => {
  it('prefers the pinned Node', () => {
    expect(chooseNode({ pinned: '/p/node', execPath: '/usr/bin/node', version: 'v24.1.0' })).toEqual({ node: '/p/node' });
  });
  it('falls back to the current Node only when it is Node 24', () => {
    expect(chooseNode({ pinned: undefined, execPath: '/usr/bin/node', version: 'v24.3.1' })).toEqual({ node: '/usr/bin/node' });
    const refused = chooseNode({ pinned: undefined, execPath: '/usr/bin/node', version: 'v20.20.2' });
    expect(refused.problem).toMatch(/Node 24.*"node".*v20\.20\.2.*npm install/);
    expect(chooseNode({ pinned: undefined, execPath: '/n', version: 'v25.0.0' }).problem).toBeDefined();
  });
});

describe('chooseEntry', () => {
  const has =
    (...paths: string[]) =>
    (p: string) =>
      paths.includes(p);
  it('runs the TypeScript source in a checkout, even when dist/ was built', () => {
    expect(chooseEntry('/repo', has('/repo/cli/main.ts', '/repo/dist/cli/main.js'))).toEqual({ entry: '/repo/cli/main.ts' });
  });
  it('runs dist/ when installed under node_modules, or when there is no source', () => {
    const root = '/p/node_modules/rheo';
    expect(chooseEntry(root, has(`${root}/cli/main.ts`, `${root}/dist/cli/main.js`))).toEqual({
      entry: `${root}/dist/cli/main.js`,
    });
    expect(chooseEntry('/x', has('/x/dist/cli/main.js'))).toEqual({ entry: '/x/dist/cli/main.js' });
  });
  it('says what to do when there is nothing to run', () => {
    expect(chooseEntry('/repo', has()).problem).toMatch(/npm run build/);
    expect(chooseEntry('/p/node_modules/rheo', has()).problem).toMatch(/not built/);
  });
});

describe('pinnedNode', () => {
  it('finds the node package hoisted beside rheo, and prefers one nested in rheo', () => {
    const project = join(tmp, 'hoisted');
    const hoisted = fakeNodePackage(project, 'hoisted');
    const shim = join(project, 'node_modules', 'rheo', 'cli', 'rheo.mjs');
    mkdirSync(join(shim, '..'), { recursive: true });
    expect(pinnedNode(pathToFileURL(shim).href)).toBe(hoisted);
    // Another project (Node caches a resolution per requesting path): both copies present, rheo's own wins.
    const other = join(tmp, 'nested');
    fakeNodePackage(other, 'hoisted');
    const nested = fakeNodePackage(join(other, 'node_modules', 'rheo'), 'nested');
    expect(pinnedNode(pathToFileURL(join(other, 'node_modules', 'rheo', 'cli', 'rheo.mjs')).href)).toBe(nested);
  });
  it('is undefined when no node package is reachable, or it has no binary', () => {
    const lonely = join(tmp, 'lonely', 'cli', 'rheo.mjs');
    expect(pinnedNode(pathToFileURL(lonely).href)).toBeUndefined();
    const broken = join(tmp, 'broken');
    mkdirSync(join(broken, 'node_modules', 'node'), { recursive: true });
    writeFileSync(join(broken, 'node_modules', 'node', 'package.json'), '{"name":"node"}\n');
    expect(pinnedNode(pathToFileURL(join(broken, 'cli', 'rheo.mjs')).href)).toBeUndefined();
  });
});

describe('terminalSignalsGroup', () => {
  // /proc/<pid>/stat: pid (comm) state ppid pgrp session tty_nr tpgid …
  it('is true in the foreground process group of a terminal', () => {
    expect(terminalSignalsGroup('4242 (node) S 4200 4242 4100 34816 4242 4194304 0 0')).toBe(true);
  });
  it('is false without a terminal, in the background, or when the line cannot be read', () => {
    expect(terminalSignalsGroup('4242 (node) S 4200 4242 4100 0 -1 4194304')).toBe(false);
    expect(terminalSignalsGroup('4242 (node) S 4200 4242 4100 34816 5000 4194304')).toBe(false);
    expect(terminalSignalsGroup('garbage')).toBe(false);
  });
  it('reads past a command name holding spaces and parentheses', () => {
    expect(terminalSignalsGroup('7 (a) b (c) S 1 7 7 34816 7 0')).toBe(true);
  });
});

describe('the shim on an installed-like package', () => {
  let root = '';
  beforeAll(() => {
    root = join(tmp, 'project', 'node_modules', 'rheo');
    mkdirSync(join(root, 'cli'), { recursive: true });
    for (const file of ['rheo.mjs', 'launch.mjs']) copyFileSync(join(CLI, file), join(root, 'cli', file));
    fakeNodePackage(join(tmp, 'project'), 'yes');
    mkdirSync(join(root, 'dist', 'cli'), { recursive: true });
    writeFileSync(
      join(root, 'dist', 'cli', 'main.js'),
      [
        'const [mode] = process.argv.slice(2);',
        "process.stdout.write(JSON.stringify({ pid: process.pid, pinned: process.env.RHEO_PINNED ?? null, argv: process.argv.slice(2) }) + '\\n');",
        "if (mode === 'exit') process.exit(7);",
        "if (mode === 'drain') process.on('SIGTERM', () => { process.stdout.write('drained\\n'); process.exit(0); });",
        'setInterval(() => {}, 1000);',
      ].join('\n'),
    );
  });

  const shim = () => join(root, 'cli', 'rheo.mjs');

  function start(command: string, args: string[]): ChildProcess & { lines: () => string[] } {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
    });
    return Object.assign(child, { lines: () => out.split('\n').filter(Boolean) });
  }
  const ended = (child: ChildProcess) =>
    new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.exitCode !== null || child.signalCode !== null
        ? resolve({ code: child.exitCode, signal: child.signalCode })
        : child.once('exit', (code, signal) => resolve({ code, signal })),
    );
  async function firstLine(child: ReturnType<typeof start>): Promise<{ pid: number; pinned: string | null; argv: string[] }> {
    for (let i = 0; i < 200 && child.lines().length === 0; i++) await new Promise((r) => setTimeout(r, 25));
    return JSON.parse(child.lines()[0] ?? 'null');
  }
  async function gone(pid: number): Promise<boolean> {
    for (let i = 0; i < 200; i++) {
      try {
        process.kill(pid, 0);
      } catch {
        return true;
      }
      await new Promise((r) => setTimeout(r, 25));
    }
    return false;
  }

  it('runs dist/cli/main.js on the pinned Node with the arguments, and exits with its status', async () => {
    const child = start(process.execPath, [shim(), 'exit', '--flag', 'x y']);
    expect(await ended(child)).toEqual({ code: 7, signal: null });
    expect(JSON.parse(child.lines()[0] ?? 'null')).toMatchObject({ pinned: 'yes', argv: ['exit', '--flag', 'x y'] });
  });

  it('forwards SIGTERM: a CLI that drains exits 0 and the shim with it', async () => {
    const child = start(process.execPath, [shim(), 'drain']);
    const { pid } = await firstLine(child);
    child.kill('SIGTERM');
    expect(await ended(child)).toEqual({ code: 0, signal: null });
    expect(child.lines()).toContain('drained');
    expect(await gone(pid)).toBe(true);
  });

  it('ends by the same signal as a CLI that a forwarded SIGINT or SIGTERM kills', async () => {
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      const child = start(process.execPath, [shim(), 'wait']);
      const { pid } = await firstLine(child);
      child.kill(signal);
      expect(await ended(child)).toEqual({ code: null, signal });
      expect(await gone(pid)).toBe(true);
    }
  });

  it('stops the CLI when the shell that started the shim is killed (npx runs it under sh -c)', async () => {
    const sh = start('sh', ['-c', `'${process.execPath}' '${shim()}' drain; true`]);
    const { pid } = await firstLine(sh);
    sh.kill('SIGTERM');
    await ended(sh);
    expect(await gone(pid)).toBe(true);
  });
});
