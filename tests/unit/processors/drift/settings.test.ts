import { describe, expect, it } from 'vitest';
import { DEFAULT_DRIFT_SETTINGS, loadDriftSettings, policyFor } from '../../../../processors/drift/settings.ts';

describe('drift settings', () => {
  it('defaults to hourly tumbling windows, PSI bands 0.1/0.25, ε 1e-4', () => {
    const s = loadDriftSettings({});
    expect(s).toEqual(DEFAULT_DRIFT_SETTINGS);
    expect(s.window).toEqual({ sizeMs: 3_600_000, slideMs: 3_600_000, latenessMs: 300_000 });
    expect(policyFor(s, 'any').thresholds).toEqual({ warn: 0.1, alert: 0.25 });
  });

  it('takes per-model overrides over the defaults', () => {
    const s = loadDriftSettings({
      RHEO_DRIFT_WINDOW_MS: '600000',
      RHEO_DRIFT_SLIDE_MS: '300000',
      RHEO_DRIFT_MODELS: '{"fraud": {"alert": 0.2, "cooldownMs": 1000}}',
    });
    expect(s.window).toMatchObject({ sizeMs: 600_000, slideMs: 300_000 });
    expect(policyFor(s, 'fraud')).toEqual({ thresholds: { warn: 0.1, alert: 0.2 }, minSamples: 200, cooldownMs: 1000 });
    expect(policyFor(s, 'other').cooldownMs).toBe(86_400_000);
  });

  it('refuses bad geometry, bands and JSON, naming the variable', () => {
    expect(() => loadDriftSettings({ RHEO_DRIFT_WINDOW_MS: '600000', RHEO_DRIFT_SLIDE_MS: '700000' })).toThrow(
      expect.objectContaining({ code: 'CONFIG_INVALID' }),
    );
    expect(() => loadDriftSettings({ RHEO_DRIFT_WARN: '0.3' })).toThrow(/warn 0.3 is above alert 0.25/);
    expect(() => loadDriftSettings({ RHEO_DRIFT_MODELS: '{nope' })).toThrow(/RHEO_DRIFT_MODELS/);
    expect(() => loadDriftSettings({ RHEO_DRIFT_MODELS: '{"m": {"alrt": 1}}' })).toThrow(/RHEO_DRIFT_MODELS/);
  });
});
