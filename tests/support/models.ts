/** Fixtures for model tests: a small tabular model built with the project's ONNX builder, and its registration. */
import { randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ModelVersionRegistered } from '../../schemas/index.ts';
import { sha256Hex } from '../../serving/artifacts/store.ts';
import { logisticRegressionModel, OnnxGraph, type ValueRef } from '../../serving/onnx/builder.ts';

export const FRAUD_FEATURES = ['amount', 'hour_of_day', 'distance_from_home_km', 'merchant_risk'] as const;

/** A logistic regression over the fraud features; `bias` makes versions distinguishable by their scores. */
export function fraudModelBytes(options: { bias?: number; weights?: number[] } = {}): Uint8Array {
  return logisticRegressionModel({
    name: 'fraud_lr',
    weights: options.weights ?? [0.01, -0.05, 0.02, 3],
    bias: options.bias ?? -2,
    normalisation: { mean: [0, 0, 0, 0], scale: [1, 1, 1, 1] },
  });
}

/**
 * The fraud classifier shaped the way skl2onnx converts a scikit-learn one (zipmap off): input
 * `float_input` [N, 4], outputs `label` (ArgMax, int64 [N]) and `probabilities` (Softmax, float [N, 2]).
 * Class 1's probability is sigmoid(w·x + bias) with the fixture's weights, i.e. `fraudModelBytes`'s score.
 */
export function sklearnLikeModelBytes(options: { bias?: number; weights?: number[] } = {}): Uint8Array {
  const w = options.weights ?? [0.01, -0.05, 0.02, 3];
  const g = new OnnxGraph('sklearn_like');
  const x = g.input('float_input', ['N', w.length]);
  const logits = g.gemm(
    x,
    g.constant(
      'coef',
      w.flatMap((v) => [0, v]),
      [w.length, 2],
    ),
    g.constant('intercept', [0, options.bias ?? -2]),
  );
  const probabilities = g.softmax(logits, 1);
  const label = g.node('ArgMax', [probabilities], { axis: 1, keepdims: 0 })[0] as ValueRef;
  g.output(label, 'label', ['N'], 'int64');
  g.output(probabilities, 'probabilities', ['N', 2]);
  return g.toModel({ producerName: 'skl2onnx-like' });
}

export function spec(
  overrides: Partial<ModelVersionRegistered> = {},
  bytes: Uint8Array = fraudModelBytes(),
): ModelVersionRegistered {
  return {
    framework: 'onnx',
    artifact_uri: `file:///tmp/artifacts/sha256/${sha256Hex(bytes)}.onnx`,
    sha256: sha256Hex(bytes),
    size_bytes: bytes.length,
    inputs: FRAUD_FEATURES.map((name) => ({ name, type: 'DOUBLE' as const, feature_group: null })),
    outputs: [{ name: 'probability', type: 'DOUBLE' }],
    metrics: { auc: 0.8 },
    params: {},
    lineage: {
      run_id: null,
      training_set_query: 'test',
      training_set_hash: '',
      row_count: 0,
      data_start: null,
      data_end: null,
      parent_version: null,
      code_version: null,
      seed: null,
    },
    baseline: { features: [], prediction: null },
    model_card: '',
    author: 'user:test',
    created_time: 0,
    ...overrides,
  };
}

export function uniqueModelName(prefix = 'model'): string {
  return `${prefix}_${randomUUID().slice(0, 8)}`;
}

/**
 * A project folder of a test's own under `dir`: examples/fraud with its model declared under `model`
 * (examples/fraud declares only `fraud_detector`, which other suites and the demo use). One folder per
 * name, since Node caches an imported module by path. Returns the folder, for `--project`.
 */
export function fraudProjectAs(dir: string, model: string): string {
  const folder = join(dir, `project-${model}`);
  mkdirSync(folder, { recursive: true });
  const fraud = new URL('../../examples/fraud/rheo.project.ts', import.meta.url).href;
  writeFileSync(
    join(folder, 'rheo.project.ts'),
    `import fraud from ${JSON.stringify(fraud)};\n\nexport default { ...fraud, models: [{ ...fraud.models[0], name: ${JSON.stringify(model)} }] };\n`,
  );
  return folder;
}
