/** `rheo init`: the starter it writes loads as a valid project, and a second init refuses to overwrite it. */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { defaultProjectName } from '../../../cli/commands/init.ts';
import { main } from '../../../cli/main.ts';
import { toTrainingSpec } from '../../../projects/declaration.ts';
import { loadProject } from '../../../projects/load.ts';

const root = mkdtempSync(join(tmpdir(), 'rheo-init-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

async function run(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(argv, {
    out: (t) => {
      out += `${t}\n`;
    },
    err: (t) => {
      err += `${t}\n`;
    },
  });
  return { code, out, err };
}

describe('rheo init', () => {
  it('writes a starter project that loads and validates, with a README and a package.json', async () => {
    const dir = join(root, 'My Shop');
    const { code, out } = await run(['init', dir, '--json']);
    expect(code).toBe(0);
    expect(JSON.parse(out)).toEqual({
      dir,
      name: 'my_shop',
      files: [
        { path: 'rheo.project.ts', status: 'written' },
        { path: 'README.md', status: 'written' },
        { path: 'package.json', status: 'written' },
      ],
    });
    const { project } = await loadProject(dir);
    expect(project.name).toBe('my_shop');
    expect(project.entities).toHaveLength(1);
    expect(project.featureGroups).toHaveLength(1);
    expect(project.requestInputs).toHaveLength(1);
    expect(project.models.map((m) => [m.name, m.task.type])).toEqual([['checkout_abandonment', 'binary']]);
    const model = project.models[0];
    expect(model?.drift).toBeDefined();
    expect(model?.rollout.requireApproval).toBe(true);
    expect(toTrainingSpec(project, 'checkout_abandonment').features).toEqual([
      'basket_value',
      'item_count',
      'customer_activity:sessions_7d',
      'customer_activity:orders_30d',
      'customer_activity:avg_order_value_30d',
    ]);
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as Record<string, unknown>;
    expect(pkg).toMatchObject({
      name: 'my_shop',
      type: 'module',
      dependencies: { rheo: expect.stringMatching(/^\^\d+\.\d+\.\d+/) },
    });
    const readme = readFileSync(join(dir, 'README.md'), 'utf8');
    for (const next of ['rheo plan', 'rheo apply', 'rheo produce', 'rheo train']) expect(readme).toContain(next);
  });

  it('refuses, with exit 1 and the reason on stderr, to overwrite an existing rheo.project.ts', async () => {
    const dir = join(root, 'twice');
    expect((await run(['init', dir, '--name', 'first'])).code).toBe(0);
    const before = readFileSync(join(dir, 'rheo.project.ts'), 'utf8');
    const second = await run(['init', dir, '--name', 'second']);
    expect(second.code).toBe(1);
    expect(second.out).toBe('');
    expect(second.err).toContain(`${join(dir, 'rheo.project.ts')} already exists; rheo init never overwrites a project`);
    expect(readFileSync(join(dir, 'rheo.project.ts'), 'utf8')).toBe(before);
  });

  it('keeps an existing README.md and package.json, and refuses a bad --name before writing anything', async () => {
    const dir = join(root, 'existing');
    mkdirSync(dir);
    writeFileSync(join(dir, 'package.json'), '{"name":"mine"}\n');
    const { code, out } = await run(['init', dir, '--name', 'mine', '--json']);
    expect(code).toBe(0);
    expect((JSON.parse(out) as { files: unknown[] }).files).toContainEqual({ path: 'package.json', status: 'kept' });
    expect(readFileSync(join(dir, 'package.json'), 'utf8')).toBe('{"name":"mine"}\n');

    const bad = join(root, 'bad-name');
    const refused = await run(['init', bad, '--name', 'Bad Name']);
    expect(refused.code).toBe(1);
    expect(refused.err).toContain('project name "Bad Name" must be lower case');
    expect(existsSync(bad)).toBe(false);
  });

  it('names a project after its folder', () => {
    expect(defaultProjectName('/x/Fraud-Team 2')).toBe('fraud-team_2');
    expect(defaultProjectName('/x/2024')).toBe('project');
  });
});
