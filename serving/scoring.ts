/**
 * What every scoring path shares (gateway, streaming scorer, batch scorer): turning named feature
 * values into the model's input row, turning output tensors into named outputs and a score, building
 * the `Prediction` event, and deterministic ids so a replayed request yields the same event ids.
 */
import { createHash } from 'node:crypto';
import type { ModelInput, ModelOutput, PredictionInput, ServingVariant } from '../schemas/index.ts';

export type FeatureValue = number | string | boolean | null;
export type FeatureValues = Record<string, FeatureValue | undefined>;

export interface VectorProblem {
  missing: string[];
  invalid: string[];
}

/**
 * Writes the model's input row for `values` into `out` at `offset` (inputs in registered order).
 * Numbers as they are, booleans as 1/0; returns the names that are missing (absent or null) or invalid.
 */
export function writeFeatureRow(
  inputs: readonly ModelInput[],
  values: FeatureValues,
  out: Float32Array,
  offset: number,
): VectorProblem | null {
  let problem: VectorProblem | null = null;
  for (let i = 0; i < inputs.length; i++) {
    const input = inputs[i] as ModelInput;
    const value = values[input.name];
    if (typeof value === 'number' && Number.isFinite(value)) out[offset + i] = value;
    else if (typeof value === 'boolean') out[offset + i] = value ? 1 : 0;
    else {
      problem ??= { missing: [], invalid: [] };
      if (value === undefined || value === null) problem.missing.push(input.name);
      else problem.invalid.push(input.name);
    }
  }
  return problem;
}

/** The model's view of the request: only its inputs, numbers as doubles, for the Prediction record. */
export function modelInputs(inputs: readonly ModelInput[], values: FeatureValues): Record<string, FeatureValue> {
  const out: Record<string, FeatureValue> = {};
  for (const input of inputs) {
    const v = values[input.name];
    out[input.name] = v === undefined ? null : typeof v === 'boolean' ? v : v;
  }
  return out;
}

export interface OutputLayout {
  name: string;
  width: number;
}

/**
 * Named outputs of one row: a width-1 output is `name`, a wider one `name_0 … name_{k-1}`. The score
 * is the first output's value (width 1) or its last column (width 2: the positive class of a
 * two-class softmax); null for wider outputs.
 */
export function namedOutputs(
  layout: readonly OutputLayout[],
  outputs: readonly Float32Array[],
  row: number,
): { outputs: Record<string, number>; score: number | null } {
  const named: Record<string, number> = {};
  let score: number | null = null;
  for (let o = 0; o < layout.length; o++) {
    const { name, width } = layout[o] as OutputLayout;
    const data = outputs[o] as Float32Array;
    if (width === 1) named[name] = data[row] as number;
    else for (let k = 0; k < width; k++) named[`${name}_${k}`] = data[row * width + k] as number;
    if (o === 0) score = width === 1 ? (data[row] as number) : width === 2 ? (data[row * 2 + 1] as number) : null;
  }
  return { outputs: named, score };
}

/** The output layout a model registered (widths filled in by the host after warm-up). */
export function outputNames(outputs: readonly ModelOutput[]): string[] {
  return outputs.map((o) => o.name);
}

/** A name-based UUID (RFC 4122 version 5 layout over SHA-1): the same parts give the same id, everywhere. */
export function deterministicUuid(...parts: string[]): string {
  const hash = createHash('sha1').update(parts.join('\u0000')).digest();
  hash[6] = ((hash[6] as number) & 0x0f) | 0x50;
  hash[8] = ((hash[8] as number) & 0x3f) | 0x80;
  const hex = hash.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

export interface PredictionParts {
  eventId: string;
  predictionId: string;
  requestId: string | null;
  entityId: string;
  model: string;
  version: string;
  variant: Exclude<ServingVariant, 'UNKNOWN'>;
  source: PredictionInput['source'];
  inputs: Record<string, FeatureValue>;
  outputs: Record<string, number>;
  score: number | null;
  latencyMs: number;
  inferenceMs: number | null;
  requestTime: number;
  eventTime: number;
  /** Score at or above which `predicted_label` is set to `positiveLabel`. */
  threshold?: number;
  positiveLabel?: string;
  negativeLabel?: string;
}

export function predictionEvent(p: PredictionParts): PredictionInput {
  const label =
    p.score === null || p.threshold === undefined
      ? null
      : p.score >= p.threshold
        ? (p.positiveLabel ?? 'positive')
        : (p.negativeLabel ?? 'negative');
  return {
    event_id: p.eventId,
    event_time: p.eventTime,
    prediction_id: p.predictionId,
    request_id: p.requestId,
    entity_id: p.entityId,
    model_name: p.model,
    model_version: p.version,
    variant: p.variant,
    source: p.source,
    inputs: p.inputs,
    outputs: p.outputs,
    score: p.score,
    predicted_label: label,
    latency_ms: p.latencyMs,
    inference_ms: p.inferenceMs,
    request_time: p.requestTime,
  };
}
