/**
 * `--project DIR`, which every command that reads a project's groups or models takes, and the one
 * way commands open that project (`--project` > `RHEO_PROJECT` > the current folder). A missing or
 * invalid project is a CLI error whose message says what to do.
 */
import { RheoError } from '../kernel/errors.ts';
import { openProject, type ProjectContext } from '../projects/context.ts';
import { CliError } from './command.ts';

export const PROJECT_FLAG = {
  type: 'string',
  value: 'DIR',
  description: 'the Rheo project (its rheo.project.ts); default: RHEO_PROJECT, else the current folder',
} as const;

/** The project of a command, or a CliError (exit 1) saying why there is none. */
export async function openCliProject(flag: string | undefined): Promise<ProjectContext> {
  try {
    return await openProject({ flag });
  } catch (error) {
    if (error instanceof RheoError) throw new CliError(error.message);
    throw error;
  }
}
