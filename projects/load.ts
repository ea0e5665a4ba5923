/**
 * Finding and loading a Rheo project. `resolveProjectDir` picks the folder — the `--project` flag,
 * else `RHEO_PROJECT`, else the current folder — and `loadProject(dir)` imports `<dir>/rheo.project.ts`
 * natively (a dynamic `import()` of its file URL; Node 24 strips the types of files outside
 * node_modules), takes its default export and validates it (`projectProblems`), so a project written
 * with or without `defineProject` is checked the same way. Every refusal is one PROJECT_INVALID error
 * that says what to do.
 *
 * Imports inside a project file: a type-only `import type { ProjectDecl } from 'rheo'` is erased and
 * needs nothing at run time; a value import of `rheo` resolves from the project folder's
 * `node_modules` (an installed package, built JavaScript). Inside this repository a project imports
 * the helpers by relative path (`../../projects/declaration.ts`), since the package's self-reference
 * points at the built `dist/`.
 */
import { existsSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { errorMessage, RheoError, rheoError } from '../kernel/errors.ts';
import type { Environment } from '../kernel/settings.ts';
import { checkProject, type ProjectDecl } from './declaration.ts';
import { declaredProject } from './settings.ts';

export const PROJECT_FILE = 'rheo.project.ts';

/** A loaded project: its folder (absolute), the file it came from, and the validated declaration. */
export interface LoadedProject {
  readonly dir: string;
  readonly file: string;
  readonly project: ProjectDecl;
}

/** The project folder, absolute: `flag` wins, then `RHEO_PROJECT` in `env`, then `cwd`. */
export function resolveProjectDir(options: { flag?: string | undefined; env?: Environment; cwd?: string } = {}): string {
  const cwd = options.cwd ?? process.cwd();
  const chosen = options.flag !== undefined && options.flag !== '' ? options.flag : declaredProject(options.env);
  return resolve(cwd, chosen ?? '.');
}

/** Imports, takes the default export of and validates `<dir>/rheo.project.ts`. */
export async function loadProject(dir: string): Promise<LoadedProject> {
  const folder = resolve(dir);
  const file = join(folder, PROJECT_FILE);
  if (!existsSync(file) || !statSync(file).isFile())
    throw new RheoError(
      'PROJECT_INVALID',
      `no Rheo project in ${folder}: ${PROJECT_FILE} not found (run \`rheo init ${folder}\`, or pass --project DIR / set RHEO_PROJECT)`,
      { details: { dir: folder } },
    );
  let module: { default?: unknown };
  try {
    module = (await import(pathToFileURL(file).href)) as { default?: unknown };
  } catch (error) {
    if (error instanceof RheoError && error.code === 'PROJECT_INVALID') throw error; // defineProject refused it
    throw rheoError(
      'PROJECT_INVALID',
      { project: file, problems: `it cannot be imported: ${errorMessage(error)}` },
      { cause: error, details: { file } },
    );
  }
  if (module.default === undefined)
    throw rheoError(
      'PROJECT_INVALID',
      { project: file, problems: 'it has no default export (end it with `export default defineProject({...})`)' },
      { details: { file } },
    );
  const project = checkProject(module.default as ProjectDecl, file);
  return { dir: folder, file, project };
}
