/**
 * The project loader's one setting, declared as a settings schema (`kernel/settings.ts`):
 * `RHEO_PROJECT`, the project folder used when no `--project DIR` is given.
 */
import { type Environment, load, optional, processEnvironment, text } from '../kernel/settings.ts';

export const PROJECT_SETTINGS = {
  RHEO_PROJECT: optional(text(), {
    description: 'the project folder (holding `rheo.project.ts`) when no `--project DIR` is given',
    documentedDefault: 'the current folder',
  }),
} as const;

/** `RHEO_PROJECT`, when set (empty counts as unset). */
export function declaredProject(env: Environment = processEnvironment()): string | undefined {
  return load(PROJECT_SETTINGS, env).RHEO_PROJECT;
}
