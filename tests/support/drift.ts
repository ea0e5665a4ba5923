/**
 * A synthetic model for drift tests and the benchmark: features from known distributions, a baseline
 * built from a training sample of them, and streams of Prediction events drawn from the same
 * distributions (or with one feature shifted) over event-time windows.
 */
import { rng } from '../../kernel/random.ts';
import type { DriftBaseline, PredictionInput } from '../../schemas/index.ts';
import { deterministicUuid } from '../../serving/scoring.ts';
import { categoricalBaseline, numericBaseline } from '../../trainers/baseline.ts';

export const DRIFT_FEATURES = ['x_norm', 'x_wide', 'x_exp', 'channel'] as const;
export const CHANNELS = ['web', 'app', 'pos'] as const;
/** x_wide ~ N(50, 10): a one-standard-deviation shift is +10. */
export const X_WIDE_SD = 10;

export interface Draw {
  x_norm: number;
  x_wide: number;
  x_exp: number;
  channel: string;
  score: number;
}

function gaussian(random: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
}

export function draws(seed: number, count: number, shift: { x_wide?: number } = {}): Draw[] {
  const random = rng(seed);
  const out: Draw[] = [];
  for (let i = 0; i < count; i++) {
    const x_norm = gaussian(random);
    const u = random();
    out.push({
      x_norm,
      x_wide: 50 + X_WIDE_SD * gaussian(random) + (shift.x_wide ?? 0),
      x_exp: -Math.log(1 - random()) * 3,
      channel: u < 0.5 ? 'web' : u < 0.8 ? 'app' : 'pos',
      // The score depends on x_norm only, so shifting x_wide leaves prediction drift alone.
      score: 1 / (1 + Math.exp(-x_norm)),
    });
  }
  return out;
}

/** The baseline a trainer would record: 10 quantile bins per numeric feature, category shares, the score. */
export function syntheticBaseline(seed = 1, count = 20_000): DriftBaseline {
  const sample = draws(seed, count);
  return {
    features: [
      numericBaseline(
        'x_norm',
        sample.map((d) => d.x_norm),
      ),
      numericBaseline(
        'x_wide',
        sample.map((d) => d.x_wide),
      ),
      numericBaseline(
        'x_exp',
        sample.map((d) => d.x_exp),
      ),
      categoricalBaseline(
        'channel',
        sample.map((d) => d.channel),
      ),
    ],
    prediction: numericBaseline(
      'probability',
      sample.map((d) => d.score),
    ),
  };
}

export function predictionOf(model: string, version: string, draw: Draw, t: number, id: string): PredictionInput {
  return {
    event_id: deterministicUuid('test-prediction', id),
    event_time: t,
    prediction_id: `p-${id}`,
    entity_id: `entity-${id}`,
    model_name: model,
    model_version: version,
    variant: 'PRODUCTION',
    source: 'STREAMING',
    inputs: { x_norm: draw.x_norm, x_wide: draw.x_wide, x_exp: draw.x_exp, channel: draw.channel },
    outputs: { probability: draw.score },
    score: draw.score,
    latency_ms: 1,
    request_time: t,
  };
}

export interface StreamPlan {
  model: string;
  version: string;
  /** Start of window 0 (aligned to the window size). */
  origin: number;
  windowMs: number;
  perWindow: number;
  /** Per window, how far x_wide is shifted (0 = baseline distribution). */
  shifts: number[];
  partitions: number;
  seed: number;
}

export interface PlannedRecord {
  partition: number;
  value: PredictionInput;
}

/**
 * Events spread evenly over each window, round-robin over partitions (each partition in event-time
 * order), then one closing event per partition well past the last window so every window closes.
 */
export function plannedStream(plan: StreamPlan, closeAfterMs: number): PlannedRecord[] {
  const out: PlannedRecord[] = [];
  let n = 0;
  plan.shifts.forEach((shift, w) => {
    const batch = draws(plan.seed + w, plan.perWindow, { x_wide: shift });
    batch.forEach((draw, i) => {
      const t = plan.origin + w * plan.windowMs + Math.floor((i * plan.windowMs) / plan.perWindow);
      out.push({
        partition: n % plan.partitions,
        value: predictionOf(plan.model, plan.version, draw, t, `${plan.seed}-${w}-${i}`),
      });
      n++;
    });
  });
  const close = plan.origin + plan.shifts.length * plan.windowMs + closeAfterMs;
  for (let p = 0; p < plan.partitions; p++)
    out.push({
      partition: p,
      value: predictionOf(plan.model, plan.version, draws(plan.seed + 999, 1)[0] as Draw, close, `${plan.seed}-close-${p}`),
    });
  return out;
}
