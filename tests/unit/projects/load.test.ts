/** projects/load.ts: which folder is the project, loading `rheo.project.ts` natively, and each refusal. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { fraud, fraudDetector } from '../../../examples/fraud/index.ts';
import { RheoError } from '../../../kernel/errors.ts';
import { toTrainingSpec } from '../../../projects/declaration.ts';
import { loadProject, resolveProjectDir } from '../../../projects/load.ts';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const DECLARATION = pathToFileURL(join(ROOT, 'projects', 'declaration.ts')).href;
const temps: string[] = [];
afterAll(() => {
  for (const dir of temps) rmSync(dir, { recursive: true, force: true });
});

/** A fresh folder outside the repository holding `rheo.project.ts` with `text`. */
function projectDir(text?: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'rheo-project-'));
  temps.push(dir);
  if (text !== undefined) writeFileSync(join(dir, 'rheo.project.ts'), text);
  return dir;
}

async function refusal(dir: string): Promise<RheoError> {
  try {
    await loadProject(dir);
  } catch (error) {
    if (error instanceof RheoError) return error;
    throw error;
  }
  throw new Error('loadProject did not refuse');
}

const MINIMAL = `{
  name: 'tiny',
  entities: [{ name: 'user', description: 'A user.', key: 'string' }],
  featureGroups: [{ name: 'user_stats', entity: 'user', description: 'Stats.', version: 1,
    features: [{ name: 'clicks_1h', type: 'long', description: 'Clicks in the last hour.' }] }],
  requestInputs: [],
  models: [],
}`;

describe('resolveProjectDir', () => {
  it('takes the flag, then RHEO_PROJECT, then the current folder, resolved against cwd', () => {
    const env = { RHEO_PROJECT: 'from-env' };
    expect(resolveProjectDir({ flag: 'from-flag', env, cwd: '/work' })).toBe('/work/from-flag');
    expect(resolveProjectDir({ flag: '/abs/project', env, cwd: '/work' })).toBe('/abs/project');
    expect(resolveProjectDir({ env, cwd: '/work' })).toBe('/work/from-env');
    expect(resolveProjectDir({ flag: '', env: { RHEO_PROJECT: '' }, cwd: '/work' })).toBe('/work');
    expect(resolveProjectDir({ env: {}, cwd: '/work/here' })).toBe('/work/here');
  });
});

describe('loadProject', () => {
  it('loads examples/fraud: the demo groups and the compiled fraud spec, from one declaration', async () => {
    const loaded = await loadProject(join(ROOT, 'examples', 'fraud'));
    expect(loaded.file).toBe(join(ROOT, 'examples', 'fraud', 'rheo.project.ts'));
    expect(loaded.project.name).toBe('fraud');
    expect(loaded.project.entities.map((e) => e.name)).toEqual(['card', 'merchant']);
    expect([...loaded.project.featureGroups]).toEqual(fraud.features.list());
    expect(toTrainingSpec(loaded.project, 'fraud_detector')).toEqual(fraudDetector);
  });

  it('says there is no project, and how to make one, when rheo.project.ts is missing', async () => {
    const dir = projectDir();
    const error = await refusal(dir);
    expect(error.code).toBe('PROJECT_INVALID');
    expect(error.message).toBe(
      `no Rheo project in ${resolve(dir)}: rheo.project.ts not found (run \`rheo init ${resolve(dir)}\`, or pass --project DIR / set RHEO_PROJECT)`,
    );
  });

  it('loads a project outside the repository that imports only types from rheo (erased by type stripping)', async () => {
    const dir = projectDir(`import type { ProjectDecl } from 'rheo';\nexport default ${MINIMAL} satisfies ProjectDecl;\n`);
    const loaded = await loadProject(dir);
    expect(loaded.project.featureGroups.map((g) => g.name)).toEqual(['user_stats']);
  });

  it('loads a project that imports defineProject by path; defineProject refusals come through as they are', async () => {
    const ok = projectDir(`import { defineProject } from '${DECLARATION}';\nexport default defineProject(${MINIMAL});\n`);
    expect((await loadProject(ok)).project.name).toBe('tiny');
    const bad = projectDir(
      `import { defineProject } from '${DECLARATION}';\nexport default defineProject({ ...${MINIMAL}, entities: [] });\n`,
    );
    const error = await refusal(bad);
    expect(error.message).toBe(
      'project tiny is not valid:\n  feature group user_stats: entity "user" is not declared (entities: none)',
    );
  });

  it('refuses, naming the file, a project that cannot be imported, has no default export, or is invalid', async () => {
    const valueImport = projectDir(`import { defineProject } from 'rheo';\nexport default defineProject(${MINIMAL});\n`);
    const unimportable = await refusal(valueImport);
    expect(unimportable.code).toBe('PROJECT_INVALID');
    expect(unimportable.message).toMatch(/^project .*rheo\.project\.ts is not valid:\n {2}it cannot be imported: .*rheo/);

    const noDefault = projectDir(`export const project = ${MINIMAL};\n`);
    expect((await refusal(noDefault)).message).toMatch(/it has no default export/);

    const invalid = projectDir(`export default { ...${MINIMAL}, name: 'Tiny', models: [{ name: 'm' }] };\n`);
    const error = await refusal(invalid);
    expect(error.message.split('\n')[0]).toBe(`project Tiny (${join(invalid, 'rheo.project.ts')}) is not valid:`);
    expect(error.details?.problems).toContain('model m: gate is missing');
    expect(error.details?.problems).toContain(
      'name must be lower case letters, digits, "_" or "-", starting with a letter, got "Tiny"',
    );
  });
});
