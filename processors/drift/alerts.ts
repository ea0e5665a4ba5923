/**
 * Alert band crossing → retraining request, at most one per model per cool-down (pure). The cool-down
 * is measured in event time — from the end of the window that last asked — so the decision depends
 * only on the reports, never on when they were computed, and a replay decides the same. Windows of a
 * model are decided in window order (the sink guarantees it), all versions of one window together.
 */

import type { DriftReportInput, RetrainRequestInput } from '../../schemas/index.ts';
import { deterministicUuid } from '../../serving/scoring.ts';

export interface RetrainDecisionInput {
  model: string;
  windowStart: number;
  windowEnd: number;
  /** Every report of the window, all versions. */
  reports: readonly DriftReportInput[];
  /** End of the window behind the model's last request; null when none. */
  lastRequestWindowEnd: number | null;
  cooldownMs: number;
  /** Event time of the request (the window's close). */
  at: number;
  requestedBy?: string;
}

export type RetrainDecision =
  | { kind: 'none' }
  | { kind: 'cooling-down'; until: number; alerts: number }
  | { kind: 'request'; request: RetrainRequestInput };

export function inCooldown(windowEnd: number, lastRequestWindowEnd: number | null, cooldownMs: number): boolean {
  return lastRequestWindowEnd !== null && windowEnd < lastRequestWindowEnd + cooldownMs;
}

const iso = (t: number) => new Date(t).toISOString().replace('.000Z', 'Z');

export function retrainDecision(input: RetrainDecisionInput): RetrainDecision {
  const alerts = input.reports
    .filter((r) => r.status === 'ALERT')
    .sort(
      (a, b) =>
        (b.psi ?? 0) - (a.psi ?? 0) || a.feature.localeCompare(b.feature) || a.model_version.localeCompare(b.model_version),
    );
  if (alerts.length === 0) return { kind: 'none' };
  if (inCooldown(input.windowEnd, input.lastRequestWindowEnd, input.cooldownMs))
    return { kind: 'cooling-down', until: (input.lastRequestWindowEnd as number) + input.cooldownMs, alerts: alerts.length };
  const top = alerts[0] as DriftReportInput;
  const names = [...new Set(alerts.map((a) => (a.target === 'PREDICTION' ? `${a.feature} (the score)` : a.feature)))];
  return {
    kind: 'request',
    request: {
      event_id: deterministicUuid('rheo.retrain-request', input.model, String(input.windowStart), String(input.windowEnd)),
      event_time: input.at,
      model_name: input.model,
      reason: 'DRIFT',
      requested_by: input.requestedBy ?? 'service:drift',
      base_version: top.model_version,
      evidence: {
        summary:
          `PSI of ${top.feature} at ${(top.psi ?? 0).toFixed(3)} (alert band ≥ ${top.alert_threshold}) for ${input.model} ` +
          `${top.model_version} in window ${iso(input.windowStart)}–${iso(input.windowEnd)}; ` +
          `over the band: ${names.join(', ')}`,
        drift: alerts.map((r) => ({
          report_event_id: r.event_id,
          model_version: r.model_version,
          feature: r.feature,
          window_start: r.window_start,
          window_end: r.window_end,
          psi: r.psi ?? null,
          kl: r.kl ?? null,
          status: r.status,
        })),
        metrics: { max_psi: top.psi ?? 0, features_over_alert: names.length },
      },
    },
  };
}
