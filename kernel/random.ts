/**
 * The one seeded PRNG: training (weight initialisation, batch order, hyperparameter sampling), the
 * fraud example's generator, tests and benchmarks all draw from here, never from `Math.random`, so a
 * seed reproduces a run or a data set on every machine.
 */

export type Rng = () => number;

/** mulberry32: a small, fast 32-bit PRNG; the same seed gives the same stream on every machine. */
export function rng(seed: number): Rng {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A seed for a sub-stream (trial i, epoch e…) derived from a parent seed, stable across runs. */
export function deriveSeed(seed: number, ...parts: number[]): number {
  let h = (seed ^ 0x9e3779b9) >>> 0;
  for (const part of parts) {
    h = Math.imul(h ^ (part >>> 0), 0x85ebca6b) >>> 0;
    h = (h ^ (h >>> 13)) >>> 0;
    h = Math.imul(h, 0xc2b2ae35) >>> 0;
    h = (h ^ (h >>> 16)) >>> 0;
  }
  return h;
}

/** A uniformly random permutation of 0..n-1 (Fisher–Yates). */
export function permutation(n: number, random: Rng): Int32Array {
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) out[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const t = out[i] as number;
    out[i] = out[j] as number;
    out[j] = t;
  }
  return out;
}

/** Log-uniform draw in [min, max]. */
export function logUniform(random: Rng, min: number, max: number): number {
  return Math.exp(Math.log(min) + random() * (Math.log(max) - Math.log(min)));
}

export function pick<T>(random: Rng, choices: readonly T[]): T {
  if (choices.length === 0) throw new Error('nothing to pick from');
  return choices[Math.floor(random() * choices.length)] as T;
}
