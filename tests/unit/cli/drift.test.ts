import { describe, expect, it } from 'vitest';
import { CliError } from '../../../cli/command.ts';
import { bar, driftCommand, parseDuration, renderDriftReport, sparkline } from '../../../cli/commands/drift.ts';
import type { DriftWindowRow } from '../../../monitoring/drift.ts';

const MIN = 60_000;
const T0 = Date.UTC(2026, 0, 1);
const bands = { warn: 0.1, alert: 0.25 };

function row(feature: string, w: number, psi: number | null, status: string): DriftWindowRow {
  return {
    model_version: '1.0.0',
    feature,
    target: feature === 'probability' ? 'PREDICTION' : 'FEATURE',
    window_start: T0 + w * MIN,
    window_end: T0 + (w + 1) * MIN,
    status,
    psi,
    kl: psi === null ? null : psi / 2,
    count: psi === null ? 12 : 2000,
    null_rate: 0.001,
    out_of_range_rate: 0.02,
    dlq_count: 0,
    late_count: w,
    warn_threshold: 0.1,
    alert_threshold: 0.25,
    event_id: `${feature}-${w}`,
  };
}

describe('rheo drift report', () => {
  it('draws PSI over time as a sparkline and per window as a bar with the bands marked', () => {
    expect(sparkline([0, 0.2, 0.4, null], 0.4)).toBe('▁▅█·');
    expect(bar(null, 0.4, bands)).toBe('(insufficient)');
    expect(bar(0, 0.4, bands)).toBe(`${' '.repeat(6)}|${' '.repeat(8)}|`);
    expect(bar(0.4, 0.4, bands)).toBe('█'.repeat(24));
  });

  it('prints a table per feature, then the retraining requests', () => {
    const rows = [
      row('amount', 0, 0.01, 'OK'),
      row('probability', 0, 0.02, 'OK'),
      row('amount', 1, 0.42, 'ALERT'),
      row('probability', 1, null, 'INSUFFICIENT'),
    ];
    const text = renderDriftReport('fraud', { from: T0, to: T0 + 2 * MIN }, rows, [
      {
        event_id: 'r1',
        event_time: T0 + 2 * MIN,
        reason: 'DRIFT',
        requested_by: 'service:drift',
        base_version: '1.0.0',
        summary: 'PSI of amount at 0.420',
      },
    ]);
    const lines = text.split('\n');
    expect(lines[0]).toBe(
      'drift of fraud, windows starting 2026-01-01 00:00 → 2026-01-01 00:02 UTC: 2 windows, 2 series; PSI bands: warn 0.1, alert 0.25 (| on the bars)',
    );
    expect(text).toContain('amount (feature, version 1.0.0)  PSI ▁█  last 0.420 ALERT');
    expect(text).toContain('probability (score, version 1.0.0)  PSI ▁·  last — INSUFFICIENT');
    expect(text).toMatch(/2026-01-01 00:01 +0\.420 +0\.210 +ALERT +2000 +0\.1 +2\.0 +1 +0 +█{24}/);
    expect(lines.at(-2)).toBe('retraining requests: 1');
    expect(lines.at(-1)).toBe('  2026-01-01 00:02  DRIFT  by service:drift  base 1.0.0: PSI of amount at 0.420');
  });

  it('refuses missing or malformed options before touching ClickHouse', async () => {
    const io = { out: () => undefined, err: () => undefined };
    await expect(driftCommand.run(['report'], io)).rejects.toThrow(/--model is required/);
    await expect(driftCommand.run(['frobnicate', '--model', 'm'], io)).rejects.toThrow(CliError);
    await expect(driftCommand.run(['report', '--model', 'm', '--from', 'yesterday'], io)).rejects.toThrow(/not a time/);
    await expect(driftCommand.run(['report', '--model', 'm', '--last', '6w'], io)).rejects.toThrow(/30m, 6h or 7d/);
    expect(parseDuration('6h')).toBe(6 * 3_600_000);
  });
});
