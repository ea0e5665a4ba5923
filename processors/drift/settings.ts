/**
 * Drift processor settings, declared as a settings schema (`kernel/settings.ts`). Window geometry
 * is global (the stored window state depends on it); thresholds, minimum sample and cool-down can
 * be set per model with `RHEO_DRIFT_MODELS` (JSON: `{"fraud_detector": {"alert": 0.2, "cooldownMs": 3600000}}`).
 */
import { z } from 'zod';
import { errorMessage } from '../../kernel/errors.ts';
import {
  configInvalid,
  duration,
  type Environment,
  int,
  json,
  load,
  optional,
  positive,
  processEnvironment,
} from '../../kernel/settings.ts';
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

const ModelOverride = z
  .object({
    warn: z.number().positive().optional(),
    alert: z.number().positive().optional(),
    minSamples: z.number().int().min(1).optional(),
    cooldownMs: z.number().int().min(0).optional(),
  })
  .strict();

// Optional, not defaulted: an unset slide follows the window size, and the defaults live in
// DEFAULT_DRIFT_SETTINGS, which tests and the driver use without an environment.
export const DRIFT_SETTINGS = {
  RHEO_DRIFT_WINDOW_MS: optional(duration(1, 30 * 24 * HOUR), {
    description: 'window size (event time)',
    documentedDefault: String(DEFAULT_DRIFT_SETTINGS.window.sizeMs),
  }),
  RHEO_DRIFT_SLIDE_MS: optional(duration(1, 30 * 24 * HOUR), {
    description: 'slide, for sliding windows; must divide the size',
    documentedDefault: 'the window size',
  }),
  RHEO_DRIFT_LATENESS_MS: optional(duration(0, 30 * 24 * HOUR), {
    description: "allowed lateness after a window's end",
    documentedDefault: String(DEFAULT_DRIFT_SETTINGS.window.latenessMs),
  }),
  RHEO_DRIFT_MIN_SAMPLES: optional(int(1, 100_000_000), {
    description: 'fewer non-null values make a window INSUFFICIENT',
    documentedDefault: String(DEFAULT_DRIFT_SETTINGS.defaults.minSamples),
  }),
  RHEO_DRIFT_EPSILON: optional(positive(0.01), {
    description: 'share empty bins are raised to before the logarithms',
    documentedDefault: String(DEFAULT_DRIFT_SETTINGS.epsilon),
  }),
  RHEO_DRIFT_WARN: optional(positive(), {
    description: 'PSI warn band',
    documentedDefault: String(DEFAULT_DRIFT_SETTINGS.defaults.thresholds.warn),
  }),
  RHEO_DRIFT_ALERT: optional(positive(), {
    description: 'PSI alert band',
    documentedDefault: String(DEFAULT_DRIFT_SETTINGS.defaults.thresholds.alert),
  }),
  RHEO_DRIFT_COOLDOWN_MS: optional(duration(0, 365 * 24 * HOUR), {
    description: 'at most one retraining request per model per this much event time',
    documentedDefault: String(DEFAULT_DRIFT_SETTINGS.defaults.cooldownMs),
  }),
  RHEO_DRIFT_BASELINE_WAIT_MS: optional(duration(0, 600_000), {
    description: 'how long a chunk waits for the registry to learn a version it has predictions of',
    documentedDefault: String(DEFAULT_DRIFT_SETTINGS.baselineWaitMs),
  }),
  RHEO_DRIFT_MODELS: optional(json(z.record(z.string(), ModelOverride)), {
    description: 'per-model overrides of the bands, minimum samples and cool-down, as JSON',
  }),
} as const;

export function loadDriftSettings(env: Environment = processEnvironment()): DriftSettings {
  const e = load(DRIFT_SETTINGS, env);
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

/** Throws CONFIG_INVALID when the window geometry or a model's bands make no sense. */
export function checkDriftSettings(settings: DriftSettings): DriftSettings {
  try {
    validateWindowSpec(settings.window);
  } catch (error) {
    throw configInvalid([`RHEO_DRIFT_WINDOW_MS/SLIDE_MS/LATENESS_MS: ${errorMessage(error)}`]);
  }
  for (const name of [null, ...Object.keys(settings.models)]) {
    const { thresholds } = policyFor(settings, name ?? '');
    if (!(thresholds.warn <= thresholds.alert))
      throw configInvalid([
        `drift bands${name ? ` of ${name}` : ''}: warn ${thresholds.warn} is above alert ${thresholds.alert}`,
      ]);
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
