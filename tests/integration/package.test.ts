/**
 * Rheo as an installed package, the way a user gets it: `npm pack` (which builds dist/) into a temporary
 * folder, then `npm init -y` and `npm install <tarball>` in a project folder outside the repository, with
 * an environment that has nothing of the repository (no npm_* variables, no node_modules/.bin on PATH).
 * Then, from that project: `npx rheo --help`, commands that read the shipped Avro contracts and the
 * local stack, an ESM script and a type-checked TypeScript file importing `rheo`, and a SIGTERM to a
 * running `npx rheo gateway` that must end the real CLI process too. Needs the registry and the local stack.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COMMANDS } from '../../cli/main.ts';
import { stackLayout } from '../../deploy/local/layout.ts';
import { stackEnv, stackUp } from '../../deploy/local/stack.ts';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const PINNED_NODE = join(REPO, 'node_modules', 'node', 'bin', 'node');
/** The running stack's directory, absolute: the installed CLI's own default would be under node_modules/rheo/dist. */
const STACK_DIR = stackLayout().stack;
const run = promisify(execFile);

let work = '';
let project = '';
let tarball = '';
let packed: { size: number; unpackedSize: number; files: { path: string }[] } = { size: 0, unpackedSize: 0, files: [] };
let installMs = 0;
let userEnv: Record<string, string> = {};
let stack: Record<string, string> = {};

/** The environment of a user's shell: this one without npm's variables and without the repository's bins. */
function cleanEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v === undefined || /^npm_/i.test(k) || k === 'INIT_CWD' || k.startsWith('VITEST')) continue;
    env[k] = v;
  }
  env.PATH = (process.env.PATH ?? '')
    .split(delimiter)
    .filter((dir) => !dir.startsWith(REPO) && !dir.includes('/node_modules/'))
    .join(delimiter);
  return env;
}

async function inProject(command: string, args: string[], env: Record<string, string> = {}, timeout = 120_000) {
  try {
    const { stdout, stderr } = await run(command, args, {
      cwd: project,
      env: { ...userEnv, ...env },
      timeout,
      maxBuffer: 64 << 20,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number | string; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? String(error) };
  }
}

/** pid → parent pid, from /proc. */
function parents(): Map<number, number> {
  const map = new Map<number, number>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      map.set(Number(name), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // gone meanwhile
    }
  }
  return map;
}

function descendants(root: number): number[] {
  const tree = parents();
  const out: number[] = [];
  const walk = (pid: number) => {
    for (const [child, parent] of tree)
      if (parent === pid) {
        out.push(child);
        walk(child);
      }
  };
  walk(root);
  return out;
}

const cmdline = (pid: number): string => {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
  } catch {
    return '';
  }
};

/** The first defined value of `probe` within `ms`, polled every 200 ms; undefined after that. */
async function waitFor<T>(probe: () => T | undefined | Promise<T | undefined>, ms: number): Promise<T | undefined> {
  for (const until = Date.now() + ms; ; await new Promise((r) => setTimeout(r, 200))) {
    const value = await probe();
    if (value !== undefined || Date.now() >= until) return value;
  }
}

/** Whether the process is gone (checked at once, then every 100 ms for `ms`). */
async function gone(pid: number, ms: number): Promise<boolean> {
  for (const until = Date.now() + ms; ; await new Promise((r) => setTimeout(r, 100))) {
    try {
      process.kill(pid, 0);
    } catch {
      return true;
    }
    if (Date.now() >= until) return false;
  }
}

beforeAll(async () => {
  await stackUp();
  stack = await stackEnv({ stackDir: STACK_DIR });
  work = mkdtempSync(join(tmpdir(), 'rheo-pack-'));
  project = mkdtempSync(join(tmpdir(), 'rheo-project-'));
  userEnv = cleanEnv();
  // npm pack runs prepack (npm run build): dist/ is compiled and its assets copied.
  const pack = await run('npm', ['pack', '--json', '--pack-destination', work], {
    cwd: REPO,
    env: userEnv,
    timeout: 300_000,
    maxBuffer: 64 << 20,
  });
  const [info] = JSON.parse(pack.stdout) as [typeof packed & { filename: string }];
  packed = info;
  tarball = join(work, info.filename);
  const init = await inProject('npm', ['init', '-y']);
  expect(init.code, init.stderr).toBe(0);
  const started = Date.now();
  const install = await inProject(
    'npm',
    ['install', tarball, '--no-audit', '--no-fund'],
    { ONNXRUNTIME_NODE_INSTALL: 'skip' },
    600_000,
  );
  installMs = Date.now() - started;
  expect(install.code, install.stderr).toBe(0);
  process.stderr.write(
    `package: ${info.filename} ${(packed.size / 1024).toFixed(0)} KiB packed, ${(packed.unpackedSize / 1024).toFixed(0)} KiB unpacked, ${packed.files.length} files; npm install took ${(installMs / 1000).toFixed(1)} s\n`,
  );
}, 900_000);

afterAll(() => {
  for (const dir of [work, project]) if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('the packed tarball', () => {
  it('ships dist/, the shim and the README, and no sources, tests or local state', () => {
    const paths = packed.files.map((f) => f.path);
    for (const must of [
      'package.json',
      'README.md',
      'cli/rheo.mjs',
      'cli/launch.mjs',
      'dist/rheo.js',
      'dist/rheo.d.ts',
      'dist/cli/main.js',
      'dist/schemas/contracts/prediction.avsc',
      'dist/deploy/local/bootstrap.sh',
    ])
      expect(paths, must).toContain(must);
    const outside = paths.filter(
      (p) => !p.startsWith('dist/') && !['package.json', 'README.md', 'cli/rheo.mjs', 'cli/launch.mjs'].includes(p),
    );
    expect(outside).toEqual([]);
    expect(paths.filter((p) => p.endsWith('.ts') && !p.endsWith('.d.ts'))).toEqual([]);
    expect(paths.filter((p) => /(^|\/)(tests|bench|demo|examples|node_modules|\.stack|\.cache)\//.test(p))).toEqual([]);
  });
});

describe('an installed rheo, used from a project outside the repository', () => {
  it('npx rheo --help exits 0 and lists every command', async () => {
    const help = await inProject('npx', ['rheo', '--help']);
    expect(help.code, help.stderr).toBe(0);
    for (const name of Object.keys(COMMANDS)) expect(help.stdout).toMatch(new RegExp(`^  ${name} `, 'm'));
  });

  it('reads the Avro contracts shipped in dist/ (rheo schemas list)', async () => {
    const list = await inProject('npx', ['rheo', 'schemas', 'list', '--json']);
    expect(list.code, list.stderr).toBe(0);
    const rows = JSON.parse(list.stdout) as { contract: string; fields: number }[];
    expect(rows.map((r) => r.contract)).toContain('Prediction');
    for (const r of rows) expect(r.fields).toBeGreaterThan(0);
  });

  it('reports the running local stack (rheo stack status)', async () => {
    const status = await inProject('npx', ['rheo', 'stack', 'status', '--json'], stack);
    expect(status.code, status.stderr).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({ running: true, stackDir: STACK_DIR });
  });

  it('an ESM script imports rheo and declares a feature group', async () => {
    writeFileSync(
      join(project, 'declare.mjs'),
      [
        "import { defineFeatureGroup, featureGroupSchema, SchemaInvalidError, VERSION } from 'rheo';",
        "const group = defineFeatureGroup({ name: 'user_activity', entity: 'user', description: 'clicks', version: 1,",
        "  features: [{ name: 'clicks_1h', type: 'long', description: 'clicks in the last hour' }] });",
        'let refused = null;',
        "try { defineFeatureGroup({ name: 'Bad', entity: 'user', description: 'x', version: 1, features: [] }); }",
        'catch (e) { refused = e instanceof SchemaInvalidError ? e.code : String(e); }',
        'console.log(JSON.stringify({ version: VERSION, frozen: Object.isFrozen(group),',
        '  fields: featureGroupSchema(group).fields.map((f) => f.name), refused }));',
      ].join('\n'),
    );
    const result = await inProject(join(project, 'node_modules', '.bin', 'node'), ['declare.mjs']);
    expect(result.code, result.stderr).toBe(0);
    const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string };
    expect(JSON.parse(result.stdout)).toEqual({
      version: pkg.version,
      frozen: true,
      fields: ['entity_id', 'clicks_1h', 'event_time', 'created_time', 'event_id'],
      refused: 'SCHEMA_INVALID',
    });
  });

  it("rheo's declarations type a user's TypeScript (exports types)", async () => {
    writeFileSync(
      join(project, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: { module: 'nodenext', target: 'es2023', strict: true, noEmit: true, skipLibCheck: true, types: [] },
        files: ['typed.mts'],
      }),
    );
    const source = (wrong: string) =>
      [
        "import { defineFeatureGroup, type FeatureValueType, type Prediction, VERSION } from 'rheo';",
        `const kind: FeatureValueType = ${wrong};`,
        "const g = defineFeatureGroup({ name: 'g', entity: 'e', description: 'd', version: 1, features: [{ name: 'x', type: 'double', description: 'x' }] } as const);",
        "const name: 'x' = g.features[0].name;",
        "const model: Prediction['model_name'] = VERSION;",
        'export { kind, name, model };',
      ].join('\n');
    const tsc = join(REPO, 'node_modules', 'typescript', 'bin', 'tsc');
    writeFileSync(join(project, 'typed.mts'), source("'double'"));
    const ok = await inProject(PINNED_NODE, [tsc, '-p', project]);
    expect(ok.code, ok.stdout + ok.stderr).toBe(0);
    writeFileSync(join(project, 'typed.mts'), source("'float'"));
    const refused = await inProject(PINNED_NODE, [tsc, '-p', project]);
    expect(refused.stdout).toMatch(/"float"' is not assignable to type 'FeatureValueType'/);
  });

  it('npx rheo init writes a starter whose rheo.project.ts type-checks against the installed types, and never overwrites it', async () => {
    const init = await inProject('npx', ['rheo', 'init', 'shop', '--json']);
    expect(init.code, init.stderr).toBe(0);
    expect(JSON.parse(init.stdout)).toMatchObject({
      name: 'shop',
      files: ['rheo.project.ts', 'README.md', 'package.json'].map((path) => ({ path, status: 'written' })),
    });
    const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string };
    expect(JSON.parse(readFileSync(join(project, 'shop', 'package.json'), 'utf8'))).toMatchObject({
      type: 'module',
      dependencies: { rheo: `^${pkg.version}` },
    });
    writeFileSync(
      join(project, 'tsconfig.project.json'),
      JSON.stringify({
        compilerOptions: { module: 'nodenext', target: 'es2023', strict: true, noEmit: true, skipLibCheck: true, types: [] },
        files: ['shop/rheo.project.ts'],
      }),
    );
    const tsc = join(REPO, 'node_modules', 'typescript', 'bin', 'tsc');
    const typed = await inProject(PINNED_NODE, [tsc, '-p', join(project, 'tsconfig.project.json')]);
    expect(typed.code, typed.stdout + typed.stderr).toBe(0);
    const again = await inProject('npx', ['rheo', 'init', 'shop']);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('already exists; rheo init never overwrites a project');
  });

  it('a SIGTERM to a running `npx rheo gateway` ends the real CLI process too', async () => {
    // Once to the shim itself, once to npx (which passes it to the `sh -c` it runs the shim under, and
    // that shell dies without passing it on: the shim sees its parent gone and stops the CLI).
    for (const target of ['shim', 'npx'] as const) {
      const npx: ChildProcess = spawn('npx', ['rheo', 'gateway', '--port', '0'], {
        cwd: project,
        // Serving no registered model: readiness then waits on the stack only, never on what other
        // suites left in the shared registry (a model whose artifact folder they already removed).
        env: { ...userEnv, ...stack, RHEO_SERVE_MODELS: 'package_test_serves_none' },
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let err = '';
      npx.stderr?.on('data', (chunk: Buffer) => {
        err += chunk.toString();
      });
      const exited = new Promise<void>((resolve) => npx.once('exit', () => resolve()));
      let tree: number[] = [];
      try {
        const url = await waitFor(() => /rheo gateway listening on (\S+)/.exec(err)?.[1], 90_000);
        expect(url, `the gateway came up: ${err.slice(-2000)}`).toBeDefined();
        // Ready (registry folded, clients connected): a drain then takes well under a second.
        const ready = await waitFor(
          async () => ((await fetch(`${url}/readyz`).catch(() => undefined))?.ok ? true : undefined),
          90_000,
        );
        expect(ready, 'the gateway became ready').toBe(true);
        tree = descendants(npx.pid as number);
        const shim = tree.find((pid) => cmdline(pid).includes('.bin/rheo'));
        const cli = tree.find((pid) => cmdline(pid).includes('rheo/dist/cli/main.js'));
        expect(shim, `the shim among ${tree.map(cmdline).join(' | ')}`).toBeDefined();
        expect(cli, 'the CLI on dist/').toBeDefined();
        expect(cmdline(cli as number)).toContain(join(project, 'node_modules', 'node', 'bin', 'node'));
        process.kill(target === 'shim' ? (shim as number) : (npx.pid as number), 'SIGTERM');
        const drained = await waitFor(() => (err.includes('signal received; draining') ? true : undefined), 10_000);
        expect(drained, `${target}: the CLI received SIGTERM`).toBe(true);
        expect(await gone(cli as number, 60_000), `${target}: the CLI process ${cli} is gone`).toBe(true);
        expect(await gone(shim as number, 10_000), `${target}: the shim ${shim} is gone`).toBe(true);
        await exited;
      } finally {
        for (const pid of tree.reverse()) if (!(await gone(pid, 0))) process.kill(pid, 'SIGKILL'); // only what this test started
      }
    }
  }, 300_000);
});
