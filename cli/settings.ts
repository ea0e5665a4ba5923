/**
 * The CLI's own settings, declared as a settings schema (`kernel/settings.ts`) like every
 * component's, so the README's configuration tables and the CLI never disagree.
 */
import { type Environment, load, optional, processEnvironment, text } from '../kernel/settings.ts';

export const CLI_SETTINGS = {
  // Validated where it is used (`actorOf` in commands/models.ts), so a bad `--actor` and a bad
  // RHEO_ACTOR get the same refusal with exit status 2.
  RHEO_ACTOR: optional(text(), {
    description: 'who registry writes from the CLI are attributed to (`user:<id>` or `service:<name>`)',
    documentedDefault: 'user:$USER',
  }),
} as const;

/** `RHEO_ACTOR`, when set. */
export function declaredActor(env: Environment = processEnvironment()): string | undefined {
  return load(CLI_SETTINGS, env).RHEO_ACTOR;
}
