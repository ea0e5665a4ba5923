/**
 * Trainer settings from `RHEO_TRAINER_*` environment variables, validated, with defaults for the
 * local stack (the same pattern as `kernel/config.ts` and `gateway/settings.ts`).
 */
import { hostname } from 'node:os';
import { z } from 'zod';
import { ConfigError } from '../kernel/config.ts';
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

const TrainerEnv = z.object({
  RHEO_TRAINER_BACKEND: z.enum(['auto', 'tensorflow', 'wasm', 'cpu']).default('auto'),
  RHEO_TRAINER_INSTANCE: z.string().min(1).max(200).optional(),
  RHEO_TRAINER_SESSION_TIMEOUT_MS: z.coerce.number().int().min(6_000).max(300_000).default(30_000),
  RHEO_TRAINER_RETRY_MAX_MS: z.coerce.number().int().min(100).max(3_600_000).default(60_000),
});

export function loadTrainerSettings(env: NodeJS.ProcessEnv = process.env): TrainerSettings {
  const raw: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (k.startsWith('RHEO_TRAINER_') && v !== undefined && v !== '') raw[k] = v;
  const parsed = TrainerEnv.safeParse(raw);
  if (!parsed.success)
    throw new ConfigError(
      `invalid configuration:\n  ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('\n  ')}`,
    );
  const e = parsed.data;
  return {
    backend: e.RHEO_TRAINER_BACKEND,
    instance: e.RHEO_TRAINER_INSTANCE ?? `${hostname()}:${process.pid}`,
    sessionTimeoutMs: e.RHEO_TRAINER_SESSION_TIMEOUT_MS,
    retryMaxDelayMs: e.RHEO_TRAINER_RETRY_MAX_MS,
  };
}
