/**
 * Trainer settings, declared as a settings schema (`kernel/settings.ts`) with defaults for the
 * local stack.
 */
import { hostname } from 'node:os';
import { duration, type Environment, load, oneOf, optional, processEnvironment, text, variable } from '../kernel/settings.ts';
import type { BackendPreference } from './models/backend.ts';

export interface TrainerSettings {
  backend: BackendPreference;
  /** Names this instance in run events (`trainer` of STARTED). */
  instance: string;
  /** Consumer session timeout: how long a killed trainer holds its requests before another takes them. */
  sessionTimeoutMs: number;
  /** Longest wait between retries of a request that failed on something retriable (ClickHouse down…). */
  retryMaxDelayMs: number;
}

export const TRAINER_SETTINGS = {
  RHEO_TRAINER_BACKEND: variable(oneOf(['auto', 'tensorflow', 'wasm', 'cpu']), {
    default: 'auto',
    description: 'the TensorFlow.js backend: auto (tfjs-node-gpu > tfjs-node > wasm > cpu), or force one',
  }),
  RHEO_TRAINER_INSTANCE: optional(text({ max: 200 }), {
    description: "the trainer's name in STARTED events",
    documentedDefault: '<host>:<pid>',
  }),
  RHEO_TRAINER_SESSION_TIMEOUT_MS: variable(duration(6_000, 300_000), {
    default: 30_000,
    description: 'how long a killed trainer holds its request before another gets it',
  }),
  RHEO_TRAINER_RETRY_MAX_MS: variable(duration(100, 3_600_000), {
    default: 60_000,
    description: 'longest backoff between retries of a request that failed retriably',
  }),
  RHEO_CODE_VERSION: optional(text(), {
    description: 'the training code version recorded in every run (deployments stamp it)',
    documentedDefault: 'the git commit',
  }),
} as const;

export function loadTrainerSettings(env: Environment = processEnvironment()): TrainerSettings {
  const e = load(TRAINER_SETTINGS, env);
  return {
    backend: e.RHEO_TRAINER_BACKEND,
    instance: e.RHEO_TRAINER_INSTANCE ?? `${hostname()}:${process.pid}`,
    sessionTimeoutMs: e.RHEO_TRAINER_SESSION_TIMEOUT_MS,
    retryMaxDelayMs: e.RHEO_TRAINER_RETRY_MAX_MS,
  };
}

/** `RHEO_CODE_VERSION` alone, so reading it never fails on an unrelated trainer variable. */
export function declaredCodeVersion(env: Environment = processEnvironment()): string | undefined {
  return load({ RHEO_CODE_VERSION: TRAINER_SETTINGS.RHEO_CODE_VERSION }, env).RHEO_CODE_VERSION;
}
