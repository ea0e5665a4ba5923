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
import { createClickHouse } from '../../kernel/clients.ts';
import { loadConfig } from '../../kernel/config.ts';
import { rng } from '../../kernel/random.ts';
import { ident, type SqlFragment, sql } from '../../kernel/sql.ts';
import { TRAINING_DEFAULTS as TRAINING } from '../../projects/declaration.ts';

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
    // An exited process its parent has not reaped yet (a zombie) is gone too.
    if (processState(pid) === 'Z') return true;
    if (Date.now() >= until) return false;
  }
}

/** The one-letter state of a process (R, S, Z…) from /proc, or undefined when it cannot be read. */
function processState(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  } catch {
    return undefined;
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
    // As a user would before serving: the project's topics, subjects and tables exist (a fresh stack has none).
    const applied = await inProject('npx', ['rheo', 'apply', '--project', 'shop'], stack, 180_000);
    expect(applied.code, applied.stderr + applied.stdout).toBe(0);
    for (const target of ['shim', 'npx'] as const) {
      const npx: ChildProcess = spawn('npx', ['rheo', 'gateway', '--port', '0', '--project', 'shop'], {
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
        let readiness = '';
        const ready = await waitFor(async () => {
          const response = await fetch(`${url}/readyz`).catch(() => undefined);
          readiness = (await response?.text().catch(() => '')) ?? '';
          return response?.ok ? true : undefined;
        }, 90_000);
        expect(ready, `the gateway became ready: ${readiness}\n${err.slice(-2000)}`).toBe(true);
        tree = descendants(npx.pid as number);
        const shim = tree.find((pid) => cmdline(pid).includes('.bin/rheo'));
        const cli = tree.find((pid) => cmdline(pid).includes('rheo/dist/cli/main.js'));
        expect(shim, `the shim among ${tree.map(cmdline).join(' | ')}`).toBeDefined();
        expect(cli, 'the CLI on dist/').toBeDefined();
        expect(cmdline(cli as number)).toContain(join(project, 'node_modules', 'node', 'bin', 'node'));
        process.kill(target === 'shim' ? (shim as number) : (npx.pid as number), 'SIGTERM');
        const drained = await waitFor(() => (err.includes('signal received; draining') ? true : undefined), 10_000);
        expect(drained, `${target}: the CLI received SIGTERM`).toBe(true);
        expect(
          await gone(cli as number, 60_000),
          `${target}: the CLI process ${cli} is gone (state ${processState(cli as number)}; parent tree ${descendants(
            npx.pid as number,
          )
            .map((pid) => `${pid} ${processState(pid)} ${cmdline(pid)}`)
            .join(' | ')}):\n${err.slice(-1500)}`,
        ).toBe(true);
        expect(await gone(shim as number, 10_000), `${target}: the shim ${shim} is gone`).toBe(true);
        await exited;
      } finally {
        for (const pid of tree.reverse()) if (!(await gone(pid, 0))) process.kill(pid, 'SIGKILL'); // only what this test started
      }
    }
  }, 300_000);
});

/** A background `npx rheo …` in the project folder; `stop` sends SIGTERM and waits for it to end. */
function background(args: string[], env: Record<string, string> = {}) {
  const child: ChildProcess = spawn('npx', ['rheo', ...args], {
    cwd: project,
    env: { ...userEnv, ...stack, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    output: () => output,
    async stop(): Promise<void> {
      const tree = descendants(child.pid as number);
      for (const pid of [child.pid as number, ...tree]) {
        try {
          process.kill(pid, 'SIGTERM');
        } catch {
          // already gone
        }
      }
      const ended = await Promise.race([exited, new Promise((r) => setTimeout(() => r('timeout'), 30_000))]);
      if (ended === 'timeout')
        for (const pid of [child.pid as number, ...tree]) if (!(await gone(pid, 0))) process.kill(pid, 'SIGKILL');
    },
  };
}

describe("a user's own project, end to end, with the installed rheo", () => {
  // Unique names: the shared stack keeps topics, subjects and rows between runs.
  const suffix = Math.random().toString(16).slice(2, 8);
  const activity = `activity_${suffix}`;
  const profile = `profile_${suffix}`;
  const model = `basket_${suffix}`;
  const HOUR = 3_600_000;
  const t0 = Math.floor((Date.now() - 2 * 24 * HOUR) / HOUR) * HOUR; // a whole hour, two days ago
  const customers = Array.from({ length: 300 }, (_, i) => `c${String(i + 1).padStart(4, '0')}`);

  const group = (name: string, features: unknown[], version = 1) => ({
    name,
    entity: 'customer',
    description: `Group ${name} of the journey test.`,
    owner: 'journey',
    version,
    ttlSeconds: 30 * 24 * 3600,
    features,
  });
  const activityFeatures = (ordersType: 'long' | 'string') => [
    { name: 'sessions_7d', type: 'long', description: 'Sessions over the last 7 days.' },
    { name: 'orders_30d', type: ordersType, description: 'Orders over the last 30 days.' },
    { name: 'basket_avg_30d', type: 'double', nullable: true, description: 'Mean basket over 30 days, EUR.' },
  ];
  /** The project as the user edits it: `rheo init`'s starter, then a group and a model of their own. */
  const projectSource = (ordersType: 'long' | 'string') => `import { defineProject } from 'rheo';

export default defineProject(${JSON.stringify(
    {
      name: 'journey',
      description: 'Basket value of a shop, end to end.',
      entities: [{ name: 'customer', description: 'A customer of the shop.', key: 'string' }],
      featureGroups: [
        group(activity, activityFeatures(ordersType), ordersType === 'long' ? 1 : 2),
        group(profile, [{ name: 'tenure_days', type: 'long', description: 'Days since sign-up.' }]),
      ],
      requestInputs: [],
      topics: { [profile]: { partitions: 2 } },
      models: [
        {
          name: model,
          description: 'The value of the next basket of a customer, in EUR.',
          owner: 'journey',
          entity: 'customer',
          inputs: [`${activity}:sessions_7d`, `${activity}:orders_30d`, `${activity}:basket_avg_30d`, `${profile}:tenure_days`],
          labels: { from: 'label-events' },
          task: { type: 'regression' },
          training: { trials: 1, minRows: 100, lookbackDays: 7, defaults: { ...TRAINING.defaults, maxEpochs: 40, patience: 40 } },
          gate: { action: 'promote', firstVersion: 'promote', metric: 'rmse', maxRegression: 0.1 },
          drift: { minSamples: 20, thresholds: { warn: 0.1, alert: 0.25 } },
          rollout: {
            canary: { percent: 10, steps: [50, 100] },
            promote: { metric: 'rmse', maxRegression: 0.05, minLabels: 50 },
            rollback: { maxErrorRate: 0.02, maxLatencyP99Ms: 50 },
            requireApproval: false,
          },
          intendedUse: 'Testing Rheo end to end.',
          limitations: 'Synthetic data.',
        },
      ],
    },
    null,
    2,
  )});
`;

  const cli = (args: string[], timeout = 180_000) => inProject('npx', ['rheo', ...args], stack, timeout);

  it('init, declare, plan, apply, produce, label, train, predict through the gateway, read a drift report; an incompatible change is refused by plan', async () => {
    expect((await cli(['init', 'journey', '--json'])).code).toBe(0);
    writeFileSync(join(project, 'journey', 'rheo.project.ts'), projectSource('long'));
    const at = ['--project', 'journey'];

    // plan shows what would change; apply makes it so, and a second plan shows nothing to do.
    const plan = await cli(['plan', ...at, '--json']);
    expect(plan.code, plan.stderr).toBe(0);
    expect(plan.stdout).toContain(`features.${activity}`);
    const applied = await cli(['apply', ...at]);
    expect(applied.code, applied.stderr + applied.stdout).toBe(0);
    const again = await cli(['plan', ...at]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/plan: 0 to create, 0 to change/);

    // The user's data: CSV feature events of both groups (history, so created when they happened: a
    // point-in-time read never sees a value created after the label's moment), and labels 60 s later.
    const random = rng(7);
    const rows = customers.map((id, i) => {
      const sessions = Math.floor(random() * 20);
      const orders = Math.floor(random() * 8);
      const basket = 20 + random() * 80;
      const tenure = Math.floor(random() * 1000);
      const eventTime = t0 + i * 5_000;
      const label = 10 + 6 * orders + 0.8 * basket + 0.02 * tenure + 0.3 * sessions + (random() - 0.5) * 4;
      return { id, sessions, orders, basket, tenure, eventTime, label };
    });
    const iso = (ms: number) => new Date(ms).toISOString();
    writeFileSync(
      join(project, 'activity.csv'),
      `entity_id,event_time,created_time,sessions_7d,orders_30d,basket_avg_30d\n${rows.map((r) => `${r.id},${iso(r.eventTime)},${iso(r.eventTime)},${r.sessions},${r.orders},${r.basket.toFixed(2)}`).join('\n')}\n`,
    );
    writeFileSync(
      join(project, 'profile.csv'),
      `entity_id,event_time,created_time,tenure_days\n${rows.map((r) => `${r.id},${iso(r.eventTime)},${iso(r.eventTime)},${r.tenure}`).join('\n')}\n`,
    );
    writeFileSync(
      join(project, 'labels.csv'),
      `entity_id,reference_time,label,observed_time,label_source\n${rows.map((r) => `${r.id},${iso(r.eventTime + 60_000)},${r.label.toFixed(3)},${iso(r.eventTime + HOUR)},journey`).join('\n')}\n`,
    );

    const group_ = `journey.${suffix}`;
    const materializer = background(['run', 'materializer', '--from', 'earliest', '--group-id', `${group_}.materializer`, ...at]);
    const archiver = background(['run', 'archiver', '--from', 'earliest', '--group-id', `${group_}.archiver`, ...at]);
    let drift: ReturnType<typeof background> | undefined;
    let gateway: ReturnType<typeof background> | undefined;
    try {
      for (const [name, file] of [
        [activity, 'activity.csv'],
        [profile, 'profile.csv'],
      ] as const) {
        const produced = await cli(['produce', name, '--file', file, ...at, '--json']);
        expect(produced.code, produced.stderr).toBe(0);
        expect(JSON.parse(produced.stdout)).toMatchObject({ produced: 300 });
      }
      const labelled = await cli(['label', '--file', 'labels.csv', '--model', model, ...at]);
      expect(labelled.code, labelled.stderr).toBe(0);

      // Once the materializer and the archiver landed everything in ClickHouse, train in the foreground.
      const config = loadConfig();
      const clickhouse = createClickHouse(config);
      const count = async (table: string, where: SqlFragment) => {
        const result = await clickhouse.query({
          query: sql`SELECT count() AS n FROM ${ident(`${config.clickhouse.database}.${table}`)} WHERE ${where}`.text,
          format: 'JSONEachRow',
        });
        return Number(((await result.json()) as Array<{ n: string }>)[0]?.n ?? 0);
      };
      try {
        const landed = await waitFor(
          async () =>
            (await count(`features_${activity}`, sql`1`)) >= 300 &&
            (await count(`features_${profile}`, sql`1`)) >= 300 &&
            (await count('feedback', sql`label_source = 'journey' AND model_name = ${model}`)) >= 300
              ? true
              : undefined,
          120_000,
        );
        expect(
          landed,
          `features and labels landed:\n${materializer.output().slice(-1500)}\n${archiver.output().slice(-1500)}`,
        ).toBe(true);
      } finally {
        await clickhouse.close();
      }
      const trained = await cli(['train', '--model', model, ...at, '--json'], 300_000);
      expect(trained.code, trained.stderr).toBe(0);
      const result = JSON.parse(trained.stdout) as { version: string; metrics?: Record<string, number> };
      expect(result.version).toMatch(/^\d+\.\d+\.\d+$/);

      // Served by the gateway from the project's online features, by entity id.
      gateway = background(['gateway', '--port', '0', ...at], { RHEO_SERVE_MODELS: model });
      const url = await waitFor(() => /rheo gateway listening on (\S+?)(?: |$)/m.exec(gateway?.output() ?? '')?.[1], 90_000);
      expect(url, gateway.output().slice(-2000)).toBeDefined();
      const ready = await waitFor(
        async () => ((await fetch(`${url}/readyz`).catch(() => undefined))?.ok ? true : undefined),
        90_000,
      );
      expect(ready, 'the gateway became ready').toBe(true);
      const predict = async (entity: string, requestTime?: number) => {
        const response = await fetch(`${url}/v1/predict`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-api-key': 'rheo-local-predict-key' },
          body: JSON.stringify({ model, entity_id: entity, ...(requestTime ? { request_time: requestTime } : {}) }),
        });
        expect(response.status, await response.clone().text()).toBe(200);
        return (await response.json()) as {
          predictions: Array<{ version: string; score: number | null }>;
        };
      };
      const first = await predict('c0001', t0 + 30 * 60_000);
      expect(first.predictions[0]?.version).toBe(result.version);
      expect(Number.isFinite(first.predictions[0]?.score)).toBe(true);
      // Drift bins the logged predictions by their event time (when they were served), in windows of
      // the drift service's settings: one minute here, so the test need not wait an hour for one to close.
      drift = background(['run', 'drift', '--from', 'earliest', '--group-id', `${group_}.drift`, ...at], {
        RHEO_DRIFT_WINDOW_MS: '60000',
        RHEO_DRIFT_LATENESS_MS: '2000',
      });
      // Start at the top of a minute, so the 300 predictions fall into one window.
      const MINUTE = 60_000;
      const windowStart = Math.ceil((Date.now() + 1_000) / MINUTE) * MINUTE;
      await new Promise((resolve) => setTimeout(resolve, windowStart - Date.now() + 200));
      for (const id of customers) await predict(id);
      expect(Date.now(), 'the 300 predictions took under a minute').toBeLessThan(windowStart + MINUTE);
      // The window closes once every partition of `predictions` moved past its end plus lateness:
      // predictions of every customer (every partition) in the next window.
      await new Promise((resolve) => setTimeout(resolve, windowStart + MINUTE + 2_500 - Date.now()));
      for (const id of customers) await predict(id);
      const report = await waitFor(async () => {
        const read = await cli([
          'drift',
          'report',
          '--model',
          model,
          '--from',
          String(windowStart),
          '--to',
          String(windowStart + MINUTE),
          '--json',
        ]);
        if (read.code !== 0) return undefined;
        const parsed = JSON.parse(read.stdout) as {
          series: Array<{ feature: string; windows: Array<{ count: number; status: string }> }>;
        };
        return parsed.series.length >= 4 ? parsed : undefined;
      }, 180_000);
      expect(report, `a drift report:\n${drift.output().slice(-3000)}`).toBeDefined();
      const features = report?.series.map((s) => s.feature) ?? [];
      expect(features).toEqual(expect.arrayContaining(['sessions_7d', 'orders_30d', 'basket_avg_30d', 'tenure_days']));
      for (const s of report?.series ?? []) expect(s.windows[0]?.count, s.feature).toBe(300);
    } finally {
      await Promise.all([materializer.stop(), archiver.stop(), drift?.stop(), gateway?.stop()]);
    }

    // An incompatible change (a long feature becomes a string): plan refuses it with the reason, apply changes nothing.
    writeFileSync(join(project, 'journey', 'rheo.project.ts'), projectSource('string'));
    const refused = await cli(['plan', ...at]);
    expect(refused.code).toBe(1);
    expect(refused.stdout + refused.stderr).toMatch(/orders_30d/);
    const notApplied = await cli(['apply', ...at]);
    expect(notApplied.code).toBe(1);
  }, 900_000);
});
