/**
 * Every settings schema a component declares, by component: the variables a deployment may set. The
 * deploy tests (tests/unit/deploy/*) check that each RHEO_* variable a manifest, the compose file or the
 * image sets is one of these, and tests/unit/kernel/settings.test.ts checks each has its README row. A
 * new component's schema belongs here.
 */
import { CLI_SETTINGS } from '../../cli/settings.ts';
import { SERVICES_SETTINGS } from '../../deploy/local/services/plan.ts';
import { SERVING_SETTINGS } from '../../gateway/settings.ts';
import { kernelSettings, localPorts } from '../../kernel/config.ts';
import type { SettingsSchema } from '../../kernel/settings.ts';
import { DRIFT_SETTINGS } from '../../processors/drift/settings.ts';
import { PROJECT_SETTINGS } from '../../projects/settings.ts';
import { OPS_SETTINGS } from '../../runtime/ops.ts';
import { ROLLOUT_SETTINGS } from '../../serving/rollout/controller.ts';
import { TRAINER_SETTINGS } from '../../trainers/settings.ts';

export const DECLARED_SETTINGS: Readonly<Record<string, SettingsSchema>> = {
  kernel: kernelSettings(localPorts(0)),
  serving: SERVING_SETTINGS,
  drift: DRIFT_SETTINGS,
  trainer: TRAINER_SETTINGS,
  rollout: ROLLOUT_SETTINGS,
  cli: CLI_SETTINGS,
  project: PROJECT_SETTINGS,
  ops: OPS_SETTINGS,
  services: SERVICES_SETTINGS,
};

/** The names of every declared variable. */
export function declaredVariables(): Set<string> {
  return new Set(Object.values(DECLARED_SETTINGS).flatMap((schema) => Object.keys(schema)));
}

/** The names in `names` that are not declared settings (a typo, or a variable nothing reads). */
export function undeclared(names: Iterable<string>): string[] {
  const declared = declaredVariables();
  return [...new Set(names)].filter((name) => !declared.has(name)).sort();
}
