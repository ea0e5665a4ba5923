import { describe, expect, it } from 'vitest';
import { DEFAULT_EPSILON, driftStatus, kl, liveShares, psi } from '../../../../processors/drift/scores.ts';

// Hand-computed: a = live shares, e = baseline shares, ε = 1e-4 for empty bins.
describe('PSI and KL(live ‖ baseline)', () => {
  it('is 0 for a window shaped exactly like the baseline', () => {
    expect(psi([0.2, 0.3, 0.5], [20, 30, 50])).toBe(0);
    expect(kl([0.2, 0.3, 0.5], [2, 3, 5])).toBe(0);
  });

  it('matches hand-computed values: a = (0.75, 0.25) against e = (0.5, 0.5)', () => {
    // PSI = 0.25·ln(1.5) + (−0.25)·ln(0.5) = 0.101366 + 0.173287
    expect(psi([0.5, 0.5], [75, 25])).toBeCloseTo(0.2746530721670274, 12);
    // KL = 0.75·ln(1.5) + 0.25·ln(0.5)
    expect(kl([0.5, 0.5], [75, 25])).toBeCloseTo(0.13081203594113697, 12);
  });

  it('raises an empty live bin to ε (not renormalised): a = (ε, 0.5, 0.5), e = (0.25, 0.25, 0.5)', () => {
    expect(DEFAULT_EPSILON).toBe(1e-4);
    // PSI = (ε − 0.25)·ln(ε/0.25) + 0.25·ln(2) + 0
    expect(psi([0.25, 0.25, 0.5], [0, 50, 50])).toBeCloseTo(2.1285158932529735, 12);
    // KL = ε·ln(ε/0.25) + 0.5·ln(2) + 0.5·ln(1)
    expect(kl([0.25, 0.25, 0.5], [0, 50, 50])).toBeCloseTo(0.345791185678887, 12);
  });

  it('raises an empty baseline bin to ε too: a = (0.1, 0.45, 0.45), e = (ε, 0.5, 0.5)', () => {
    expect(psi([0, 0.5, 0.5], [10, 45, 45])).toBeCloseTo(0.7006208039360982, 12);
    expect(kl([0, 0.5, 0.5], [10, 45, 45])).toBeCloseTo(0.59595106380617, 12);
  });

  it('takes the epsilon it is given, and refuses mismatched bins', () => {
    expect(liveShares([0, 3, 1], 0.01)).toEqual([0.01, 0.75, 0.25]);
    expect(liveShares([0, 0], 0.01)).toEqual([0.01, 0.01]);
    expect(() => psi([0.5, 0.5], [1, 2, 3])).toThrow(/3 live bins against 2/);
  });

  it('is symmetric for PSI, not for KL', () => {
    expect(psi([0.75, 0.25], [50, 50])).toBeCloseTo(psi([0.5, 0.5], [75, 25]), 12);
    expect(kl([0.75, 0.25], [50, 50])).not.toBeCloseTo(kl([0.5, 0.5], [75, 25]), 3);
  });
});

describe('driftStatus', () => {
  const bands = { warn: 0.1, alert: 0.25 };
  it('maps PSI to the bands, inclusive at each threshold', () => {
    expect(driftStatus(0.0999, bands)).toBe('OK');
    expect(driftStatus(0.1, bands)).toBe('WARN');
    expect(driftStatus(0.2499, bands)).toBe('WARN');
    expect(driftStatus(0.25, bands)).toBe('ALERT');
    expect(driftStatus(null, bands)).toBe('INSUFFICIENT');
  });
});
