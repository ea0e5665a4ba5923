/**
 * deploy/image/Dockerfile, read as its instructions (no Docker engine runs here): a multi-stage build
 * whose final stage is the official Node 24 image at the Node the project pins, with production
 * dependencies only, a non-root numeric user, the CLI as entry point, SIGTERM as the stop signal, and
 * only declared RHEO_* settings; and the fraud example it carries, converted by
 * deploy/image/example-project.ts, loads as a user's project through `import … from 'rheo'`.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { convertProject, exportedNames, writeProject } from '../../../deploy/image/example-project.ts';
import { loadProject } from '../../../projects/load.ts';
import { REPO_ROOT } from '../../support/metrics.ts';
import { undeclared } from '../../support/settings.ts';

interface Instruction {
  op: string;
  args: string;
  stage: number;
}

/** The Dockerfile's instructions (continuations joined, comments dropped), each with the index of its stage. */
function instructions(text: string): Instruction[] {
  const out: Instruction[] = [];
  let stage = -1;
  const joined = text.replace(/\\\n/g, ' ');
  for (const raw of joined.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const [op = '', ...rest] = line.split(/\s+/);
    if (op.toUpperCase() === 'FROM') stage++;
    out.push({ op: op.toUpperCase(), args: rest.join(' '), stage });
  }
  return out;
}

const DOCKERFILE = readFileSync(join(REPO_ROOT, 'deploy/image/Dockerfile'), 'utf8');
const ALL = instructions(DOCKERFILE);
const args = new Map(
  ALL.filter((i) => i.op === 'ARG' && i.stage === -1).map((i) => {
    const [name = '', value = ''] = i.args.split('=');
    return [name, value];
  }),
);
const resolve = (text: string) => text.replace(/\$\{(\w+)\}|\$(\w+)/g, (_, a, b) => args.get(a ?? b) ?? '');
const stages = Math.max(...ALL.map((i) => i.stage)) + 1;
const final = ALL.filter((i) => i.stage === stages - 1);
const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as {
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};

describe('deploy/image/Dockerfile', () => {
  it('builds in stages and runs on the official Node 24 slim image at the pinned Node', () => {
    expect(stages).toBeGreaterThanOrEqual(3);
    const from = resolve(final[0]?.args ?? '');
    expect(from).toMatch(/^node:24[.\d]*-bookworm-slim$/);
    // The same Node as the npm package `node` the project pins (package.json dependencies).
    expect(from).toBe(`node:${pkg.dependencies.node}-bookworm-slim`);
    for (const stage of ALL.filter((i) => i.op === 'FROM'))
      expect(resolve(stage.args)).toMatch(/^node:24[.\d]*-bookworm-slim( AS \w+)?$/);
  });

  it('installs production dependencies only into the image it runs, without install scripts, and builds dist/ elsewhere', () => {
    const installs = ALL.filter((i) => i.op === 'RUN' && /\bnpm (ci|install)\b/.test(i.args));
    const runtimeDeps = installs.filter((i) => /--omit=dev/.test(i.args));
    expect(runtimeDeps).toHaveLength(1);
    for (const install of installs) expect(install.args).toMatch(/--ignore-scripts/);
    expect(
      final.some((i) => i.op === 'RUN' && /\bnpm (ci|install)\b/.test(i.args)),
      'no install in the final stage',
    ).toBe(false);
    const copies = final.filter((i) => i.op === 'COPY').map((i) => i.args);
    const depsStage = runtimeDeps[0]?.stage;
    const depsName = ALL.find((i) => i.op === 'FROM' && i.stage === depsStage)?.args.split(/\s+AS\s+/i)[1];
    expect(copies).toContain(`--from=${depsName} /opt/rheo/node_modules node_modules`);
    expect(copies.some((c) => /--from=build \/src\/dist dist/.test(c))).toBe(true);
    expect(ALL.some((i) => i.op === 'RUN' && /node deploy\/package\/build\.ts/.test(i.args))).toBe(true);
    // Nothing of the dev dependencies is named in the final stage.
    for (const dev of Object.keys(pkg.devDependencies)) expect(final.map((i) => i.args).join('\n')).not.toContain(dev);
  });

  it('runs as a non-root numeric user, with the CLI as entry point and SIGTERM as stop signal', () => {
    const users = final.filter((i) => i.op === 'USER');
    expect(users.at(-1)?.args).toMatch(/^[1-9]\d*(:\d+)?$/);
    expect(final.at(-1)?.op === 'CMD' || final.at(-1)?.op === 'ENTRYPOINT').toBe(true);
    expect(JSON.parse(final.find((i) => i.op === 'ENTRYPOINT')?.args ?? 'null')).toEqual(['node', 'dist/cli/main.js']);
    expect(final.find((i) => i.op === 'STOPSIGNAL')?.args).toBe('SIGTERM');
    expect(ALL.some((i) => i.op === 'HEALTHCHECK')).toBe(false);
    expect(DOCKERFILE).toMatch(/PID 1[\s\S]*SIGTERM/);
  });

  it('sets only declared RHEO_* settings, with the project at /project and the ops endpoints on 9464', () => {
    const env = new Map<string, string>();
    for (const i of final.filter((x) => x.op === 'ENV'))
      for (const match of i.args.matchAll(/(\w+)=(\S+)/g)) env.set(match[1] as string, match[2] as string);
    const rheo = [...env.keys()].filter((k) => k.startsWith('RHEO_'));
    expect(undeclared(rheo)).toEqual([]);
    expect([...env.keys()].filter((k) => !k.startsWith('RHEO_'))).toEqual(['NODE_ENV']);
    expect(env.get('RHEO_PROJECT')).toBe('/project');
    expect(env.get('RHEO_OPS_HOST')).toBe('0.0.0.0');
    expect(env.get('RHEO_OPS_PORT')).toBe('9464');
  });

  it('copies every folder the package build compiles, and .dockerignore keeps local state and builds out', () => {
    const build = JSON.parse(readFileSync(join(REPO_ROOT, 'tsconfig.build.json'), 'utf8')) as { include: string[] };
    const copied = ALL.filter((i) => i.op === 'COPY' && !i.args.startsWith('--from')).flatMap((i) =>
      i.args.split(/\s+/).slice(0, -1),
    );
    for (const item of build.include) expect(copied, `COPY ${item}`).toContain(item);
    const ignored = readFileSync(join(REPO_ROOT, '.dockerignore'), 'utf8').split('\n');
    for (const path of ['node_modules', 'dist', '.stack', '.cache', '.git']) expect(ignored).toContain(path);
  });
});

describe('deploy/image/example-project.ts', () => {
  const dirs: string[] = [];
  afterAll(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  it('points the fraud example at `rheo`, keeping only the files rheo.project.ts needs', () => {
    const files = convertProject(join(REPO_ROOT, 'examples/fraud'));
    expect(files.map((f) => f.path)).toEqual([
      'features/card-activity.ts',
      'features/index.ts',
      'features/merchant-risk.ts',
      'features/request-inputs.ts',
      'rheo.project.ts',
    ]);
    for (const file of files) expect(file.text, file.path).not.toMatch(/from '\.\.\/\.\.\//);
    const api = exportedNames(join(REPO_ROOT, 'rheo.ts'));
    for (const name of files.flatMap((f) => f.rewritten.flatMap((r) => r.names))) expect(api.has(name), name).toBe(true);
    expect(api.has('defineProject') && api.has('defineFeatureGroup') && api.has('Prediction')).toBe(true);
  });

  it('refuses a name `rheo` does not export', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rheo-example-'));
    dirs.push(dir);
    mkdirSync(join(dir, 'project'));
    writeFileSync(
      join(dir, 'project', 'rheo.project.ts'),
      "import { loadConfig } from '../../kernel/config.ts';\nexport default loadConfig;\n",
    );
    expect(() => convertProject(join(dir, 'project'))).toThrow(/loadConfig .*'rheo' does not export/);
  });

  it('gives a project that loads, validated, with `rheo` resolved from a folder above it (as /node_modules/rheo is)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rheo-example-'));
    dirs.push(dir);
    writeProject(convertProject(join(REPO_ROOT, 'examples/fraud')), join(dir, 'project'));
    // A stand-in `rheo` package: its entry re-exports the repository's public API (the image links the built one).
    const shim = join(dir, 'node_modules', 'rheo');
    mkdirSync(shim, { recursive: true });
    writeFileSync(join(shim, 'package.json'), JSON.stringify({ name: 'rheo', type: 'module', exports: './index.js' }));
    writeFileSync(join(shim, 'index.js'), `export * from ${JSON.stringify(pathToFileURL(join(REPO_ROOT, 'rheo.ts')).href)};\n`);
    symlinkSync(join(REPO_ROOT, 'node_modules'), join(shim, 'node_modules'));
    const loaded = await loadProject(join(dir, 'project'));
    expect(loaded.project.name).toBe('fraud');
    expect(loaded.project.featureGroups.map((g) => g.name)).toEqual(['card_activity', 'merchant_risk']);
  });
});
