import { describe, expect, it } from 'vitest';
import { inCooldown, retrainDecision } from '../../../../processors/drift/alerts.ts';
import type { DriftReportInput } from '../../../../schemas/index.ts';

const HOUR = 3_600_000;

function report(feature: string, psi: number | null, status: DriftReportInput['status'], version = '1.0.0'): DriftReportInput {
  return {
    event_id: `r-${feature}-${version}`,
    event_time: HOUR,
    model_name: 'fraud',
    model_version: version,
    feature,
    target: 'FEATURE',
    window_start: 0,
    window_end: HOUR,
    psi,
    kl: psi === null ? null : psi / 2,
    epsilon: 1e-4,
    status,
    warn_threshold: 0.1,
    alert_threshold: 0.25,
    expected: [],
    counts: [],
    count: 500,
    null_count: 0,
    null_rate: 0,
  };
}

const base = { model: 'fraud', windowStart: 0, windowEnd: HOUR, lastRequestWindowEnd: null, cooldownMs: 24 * HOUR, at: HOUR };

describe('retraining on the alert band', () => {
  it('asks for nothing when no report is in the alert band', () => {
    expect(retrainDecision({ ...base, reports: [report('amount', 0.2, 'WARN'), report('hour', null, 'INSUFFICIENT')] })).toEqual({
      kind: 'none',
    });
  });

  it('asks once, with the alerting reports as evidence, the worst first', () => {
    const decision = retrainDecision({
      ...base,
      reports: [report('hour', 0.3, 'ALERT'), report('amount', 0.9, 'ALERT', '1.1.0'), report('distance', 0.05, 'OK')],
    });
    expect(decision.kind).toBe('request');
    if (decision.kind !== 'request') return;
    expect(decision.request).toMatchObject({
      model_name: 'fraud',
      reason: 'DRIFT',
      requested_by: 'service:drift',
      base_version: '1.1.0',
    });
    expect(decision.request.evidence.drift?.map((d) => [d.feature, d.psi, d.report_event_id])).toEqual([
      ['amount', 0.9, 'r-amount-1.1.0'],
      ['hour', 0.3, 'r-hour-1.0.0'],
    ]);
    expect(decision.request.evidence.summary).toMatch(/^PSI of amount at 0\.900 .*; over the band: amount, hour$/);
    // Same window, same request id.
    const again = retrainDecision({ ...base, reports: [report('amount', 0.9, 'ALERT', '1.1.0')] });
    expect(again.kind === 'request' && again.request.event_id).toBe(decision.request.event_id);
  });

  it('stays quiet during the cool-down (measured in event time from the window that asked), then asks again', () => {
    const alert = [report('amount', 0.5, 'ALERT')];
    const cooling = retrainDecision({
      ...base,
      windowStart: 23 * HOUR,
      windowEnd: 24 * HOUR,
      lastRequestWindowEnd: HOUR,
      reports: alert,
    });
    expect(cooling).toEqual({ kind: 'cooling-down', until: 25 * HOUR, alerts: 1 });
    const after = retrainDecision({
      ...base,
      windowStart: 24 * HOUR,
      windowEnd: 25 * HOUR,
      lastRequestWindowEnd: HOUR,
      reports: alert,
    });
    expect(after.kind).toBe('request');
    expect(inCooldown(25 * HOUR - 1, HOUR, 24 * HOUR)).toBe(true);
    expect(inCooldown(25 * HOUR, HOUR, 24 * HOUR)).toBe(false);
    expect(inCooldown(HOUR, null, 24 * HOUR)).toBe(false);
  });
});
