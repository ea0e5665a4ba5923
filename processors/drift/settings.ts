/**
 * Drift processor settings: environment variables, validated, with defaults. Window geometry is
 * global (the stored window state depends on it); thresholds, minimum sample and cool-down can be
 * set per model with `RHEO_DRIFT_MODELS` (JSON: `{"fraud_detector": {"alert": 0.2, "cooldownMs": 3600000}}`).
 */
import { z } from 'zod';
import { ConfigError } from '../../kernel/config.ts';
import { DEFAULT_EPSILON, DEFAULT_THRESHOLDS, type Thresholds } from './scores.ts';
import { validateWindowSpec, type WindowSpec } from './windows.ts';

export interface ModelDriftPolicy {
  thresholds: Thresholds;
  minSamples: number;
  cooldownMs: number;
}

/** A model's overrides of the default policy. */
export interface ModelDriftOverride {
  thresholds?: Partial<Thresholds>;
  minSamples?: number;
  cooldownMs?: number;
}

export interface DriftSettings {
  window: WindowSpec;
  epsilon: number;
  defaults: ModelDriftPolicy;
  models: Readonly<Record<string, ModelDriftOverride>>;
  /** How long a chunk waits for the registry to learn a version it has predictions of. */
  baselineWaitMs: number;
}

const HOUR = 3_600_000;

export const DEFAULT_DRIFT_SETTINGS: DriftSettings = {
  window: { sizeMs: HOUR, slideMs: HOUR, latenessMs: 5 * 60_000 },
  epsilon: DEFAULT_EPSILON,
  defaults: { thresholds: DEFAULT_THRESHOLDS, minSamples: 200, cooldownMs: 24 * HOUR },
  models: {},
  baselineWaitMs: 10_000,
};

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const positive = z.coerce.number().positive();

const ModelOverride = z
  .object({
    warn: z.number().positive().optional(),
    alert: z.number().positive().optional(),
    minSamples: z.number().int().min(1).optional(),
    cooldownMs: z.number().int().min(0).optional(),
  })
  .strict();

const DriftEnv = z.object({
  RHEO_DRIFT_WINDOW_MS: int(1, 30 * 24 * HOUR).optional(),
  RHEO_DRIFT_SLIDE_MS: int(1, 30 * 24 * HOUR).optional(),
  RHEO_DRIFT_LATENESS_MS: int(0, 30 * 24 * HOUR).optional(),
  RHEO_DRIFT_MIN_SAMPLES: int(1, 100_000_000).optional(),
  RHEO_DRIFT_EPSILON: positive.max(0.01).optional(),
  RHEO_DRIFT_WARN: positive.optional(),
  RHEO_DRIFT_ALERT: positive.optional(),
  RHEO_DRIFT_COOLDOWN_MS: int(0, 365 * 24 * HOUR).optional(),
  RHEO_DRIFT_BASELINE_WAIT_MS: int(0, 600_000).optional(),
  RHEO_DRIFT_MODELS: z
    .string()
    .transform((text, ctx) => {
      try {
        return JSON.parse(text) as unknown;
      } catch {
        ctx.addIssue({ code: 'custom', message: 'not JSON' });
        return z.NEVER;
      }
    })
    .pipe(z.record(z.string(), ModelOverride))
    .optional(),
});

export function loadDriftSettings(env: NodeJS.ProcessEnv = process.env): DriftSettings {
  const raw: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (k.startsWith('RHEO_DRIFT_') && v !== undefined && v !== '') raw[k] = v;
  const parsed = DriftEnv.safeParse(raw);
  if (!parsed.success)
    throw new ConfigError(
      `invalid configuration:\n  ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('\n  ')}`,
    );
  const e = parsed.data;
  const d = DEFAULT_DRIFT_SETTINGS;
  const sizeMs = e.RHEO_DRIFT_WINDOW_MS ?? d.window.sizeMs;
  const models: Record<string, ModelDriftOverride> = Object.fromEntries(
    Object.entries(e.RHEO_DRIFT_MODELS ?? {}).map(([name, o]): [string, ModelDriftOverride] => [
      name,
      {
        ...(o.warn !== undefined || o.alert !== undefined
          ? {
              thresholds: {
                ...(o.warn !== undefined ? { warn: o.warn } : {}),
                ...(o.alert !== undefined ? { alert: o.alert } : {}),
              },
            }
          : {}),
        ...(o.minSamples !== undefined ? { minSamples: o.minSamples } : {}),
        ...(o.cooldownMs !== undefined ? { cooldownMs: o.cooldownMs } : {}),
      },
    ]),
  );
  return checkDriftSettings({
    window: { sizeMs, slideMs: e.RHEO_DRIFT_SLIDE_MS ?? sizeMs, latenessMs: e.RHEO_DRIFT_LATENESS_MS ?? d.window.latenessMs },
    epsilon: e.RHEO_DRIFT_EPSILON ?? d.epsilon,
    defaults: {
      thresholds: {
        warn: e.RHEO_DRIFT_WARN ?? d.defaults.thresholds.warn,
        alert: e.RHEO_DRIFT_ALERT ?? d.defaults.thresholds.alert,
      },
      minSamples: e.RHEO_DRIFT_MIN_SAMPLES ?? d.defaults.minSamples,
      cooldownMs: e.RHEO_DRIFT_COOLDOWN_MS ?? d.defaults.cooldownMs,
    },
    models,
    baselineWaitMs: e.RHEO_DRIFT_BASELINE_WAIT_MS ?? d.baselineWaitMs,
  });
}

/** Throws ConfigError when the window geometry or a model's bands make no sense. */
export function checkDriftSettings(settings: DriftSettings): DriftSettings {
  try {
    validateWindowSpec(settings.window);
  } catch (error) {
    throw new ConfigError(`invalid configuration:\n  RHEO_DRIFT_WINDOW_MS/SLIDE_MS/LATENESS_MS: ${(error as Error).message}`);
  }
  for (const name of [null, ...Object.keys(settings.models)]) {
    const { thresholds } = policyFor(settings, name ?? '');
    if (!(thresholds.warn <= thresholds.alert))
      throw new ConfigError(
        `invalid configuration:\n  drift bands${name ? ` of ${name}` : ''}: warn ${thresholds.warn} is above alert ${thresholds.alert}`,
      );
  }
  return settings;
}

/** The policy in force for one model: its overrides over the defaults. */
export function policyFor(settings: DriftSettings, model: string): ModelDriftPolicy {
  const o = settings.models[model];
  if (!o) return settings.defaults;
  return {
    thresholds: { ...settings.defaults.thresholds, ...o.thresholds },
    minSamples: o.minSamples ?? settings.defaults.minSamples,
    cooldownMs: o.cooldownMs ?? settings.defaults.cooldownMs,
  };
}
