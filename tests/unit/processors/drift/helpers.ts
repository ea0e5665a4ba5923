/** Records and baselines for the drift processor's unit tests. */
import { compileBaseline } from '../../../../processors/drift/baselines.ts';
import type { CompiledBaseline, DriftInput } from '../../../../processors/drift/transform.ts';
import type { SourceRecord } from '../../../../runtime/types.ts';
import type { DriftBaseline, Prediction } from '../../../../schemas/index.ts';

export const MODEL = 'fraud_test';
export const VERSION = '1.0.0';

/** amount: 3 bins around 10 and 20; category: a, b (+ unseen); score: 2 bins around 0.5. */
export const BASELINE: DriftBaseline = {
  features: [
    {
      feature: 'amount',
      kind: 'NUMERIC',
      bin_edges: [10, 20],
      categories: [],
      proportions: [0.25, 0.5, 0.25],
      min: 0,
      max: 100,
      null_rate: 0,
      count: 1000,
    },
    {
      feature: 'category',
      kind: 'CATEGORICAL',
      bin_edges: [],
      categories: ['a', 'b'],
      proportions: [0.5, 0.5, 0],
      min: null,
      max: null,
      null_rate: 0,
      count: 1000,
    },
  ],
  prediction: {
    feature: 'probability',
    kind: 'NUMERIC',
    bin_edges: [0.5],
    categories: [],
    proportions: [0.9, 0.1],
    min: 0,
    max: 1,
    null_rate: 0,
    count: 1000,
  },
};

export const COMPILED = compileBaseline(MODEL, VERSION, BASELINE) as CompiledBaseline;
export const lookup = (model: string, version: string) => (model === MODEL && version === VERSION ? COMPILED : undefined);

export function prediction(t: number, inputs: Prediction['inputs'], score = 0.1, version = VERSION): Prediction {
  return {
    event_id: `e-${t}`,
    event_time: t,
    prediction_id: `p-${t}`,
    request_id: null,
    entity_id: 'card-1',
    model_name: MODEL,
    model_version: version,
    variant: 'PRODUCTION',
    source: 'ONLINE',
    inputs,
    outputs: { probability: score },
    score,
    predicted_label: null,
    latency_ms: 1,
    inference_ms: null,
    request_time: t,
  };
}

/** Records at consecutive offsets from `from` on partition `partition`. */
export function records(inputs: DriftInput[], from = 0, partition = 0): SourceRecord<DriftInput>[] {
  return inputs.map((value, i) => ({
    topic: 'predictions',
    partition,
    offset: String(from + i),
    key: 'card-1',
    value,
    timestamp: 1_700_000_000_000,
    headers: {},
  }));
}

export const ok = (p: Prediction): DriftInput => ({ ok: true, prediction: p });
