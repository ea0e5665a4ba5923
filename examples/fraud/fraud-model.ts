/**
 * A small fraud model for the demo and the serving benchmark, trained honestly in plain TypeScript:
 * logistic regression by full-batch gradient descent on the generator's transactions, exported with
 * the project's ONNX builder. Two feature sets: `raw` (the four request inputs, standardised) and
 * `engineered` (log-amount and a night flag computed inside the graph, as the generator's signal
 * suggests), so a demo can show a better version canaried against a weaker one.
 */

import { auc, logLoss } from '../../kernel/quality.ts';
import type { RegisterRequest } from '../../registry/writer.ts';
import { OnnxGraph, type ValueRef } from '../../serving/onnx/builder.ts';
import { type Transaction, take, transactions } from './generator.ts';

export const FRAUD_INPUTS = ['amount', 'hour_of_day', 'distance_from_home_km', 'merchant_risk'] as const;
export type FraudVariant = 'raw' | 'engineered';

export interface FraudModel {
  bytes: Uint8Array;
  registration: Omit<RegisterRequest, 'model' | 'version' | 'actor'>;
  auc: number;
  logloss: number;
  weights: number[];
  bias: number;
}

/** Model features of a transaction, as the graph computes them from the raw inputs. */
export function fraudFeatures(
  t: Pick<Transaction, 'amount' | 'hourOfDay' | 'distanceFromHomeKm' | 'merchantRisk'>,
  variant: FraudVariant,
): number[] {
  if (variant === 'raw') return [t.amount, t.hourOfDay, t.distanceFromHomeKm, t.merchantRisk];
  return [Math.log(1 + t.amount / 50), t.hourOfDay < 6 ? 1 : 0, t.distanceFromHomeKm, t.merchantRisk];
}

function standardise(rows: number[][]): { mean: number[]; scale: number[] } {
  const n = rows.length;
  const k = rows[0]?.length ?? 0;
  const mean = Array.from({ length: k }, (_, j) => rows.reduce((s, r) => s + (r[j] as number), 0) / n);
  const scale = Array.from(
    { length: k },
    (_, j) => Math.sqrt(rows.reduce((s, r) => s + ((r[j] as number) - (mean[j] as number)) ** 2, 0) / n) || 1,
  );
  return { mean, scale };
}

/** Logistic regression by gradient descent on standardised features; returns weights in standardised space. */
export function fitLogistic(
  x: number[][],
  y: number[],
  options: { epochs?: number; rate?: number; l2?: number } = {},
): { weights: number[]; bias: number } {
  const k = x[0]?.length ?? 0;
  const weights = new Array<number>(k).fill(0);
  let bias = 0;
  const rate = options.rate ?? 0.5;
  const l2 = options.l2 ?? 1e-4;
  for (let epoch = 0; epoch < (options.epochs ?? 300); epoch++) {
    const grad = new Array<number>(k).fill(0);
    let gradBias = 0;
    for (let i = 0; i < x.length; i++) {
      const row = x[i] as number[];
      let z = bias;
      for (let j = 0; j < k; j++) z += (weights[j] as number) * (row[j] as number);
      const error = 1 / (1 + Math.exp(-z)) - (y[i] as number);
      for (let j = 0; j < k; j++) grad[j] = (grad[j] as number) + error * (row[j] as number);
      gradBias += error;
    }
    for (let j = 0; j < k; j++)
      weights[j] = (weights[j] as number) - rate * ((grad[j] as number) / x.length + l2 * (weights[j] as number));
    bias -= (rate * gradBias) / x.length;
  }
  return { weights, bias };
}

/** The ONNX graph: raw inputs [batch, 4] → (engineered) features → standardise → logistic regression → probability [batch, 1]. */
export function fraudGraph(variant: FraudVariant, mean: number[], scale: number[], weights: number[], bias: number): Uint8Array {
  const g = new OnnxGraph(`fraud_${variant}`);
  const x = g.input('features', ['batch', 4]);
  let features = x;
  if (variant === 'engineered') {
    const column = (name: string, j: number) =>
      g.matMul(
        x,
        g.constant(
          name,
          [0, 1, 2, 3].map((i) => (i === j ? 1 : 0)),
          [4, 1],
        ),
      );
    const logAmount = g.log(g.add(g.mul(column('pick_amount', 0), g.constant('per_50', [1 / 50])), g.constant('one', [1])));
    const night = g.cast(g.less(column('pick_hour', 1), g.constant('six', [6])), 'float32');
    const rest = g.matMul(x, g.constant('pick_rest', [0, 0, 0, 0, 1, 0, 0, 1], [4, 2]));
    features = g.node('Concat', [logAmount, night, rest], { axis: 1 })[0] as ValueRef;
  }
  const z = g.div(g.sub(features, g.constant('mean', mean)), g.constant('scale', scale));
  const logit = g.gemm(z, g.constant('weights', weights, [4, 1]), g.constant('bias', [bias]));
  g.output(g.sigmoid(logit), 'probability', ['batch', 1]);
  return g.toModel({ metadata: { rheo_variant: variant } });
}

/** Trains on `rows` generated transactions (seeded), evaluates on the next 25 %, and exports to ONNX. */
export function trainFraudModel(options: { variant: FraudVariant; seed?: number; rows?: number }): FraudModel {
  const seed = options.seed ?? 7;
  const n = options.rows ?? 20_000;
  const all = take(transactions({ seed }), Math.round(n * 1.25));
  const train = all.slice(0, n);
  const test = all.slice(n);
  const raw = train.map((t) => fraudFeatures(t, options.variant));
  const { mean, scale } = standardise(raw);
  const z = (row: number[]) => row.map((v, j) => (v - (mean[j] as number)) / (scale[j] as number));
  const { weights, bias } = fitLogistic(
    raw.map(z),
    train.map((t) => (t.isFraud ? 1 : 0)),
  );
  const predict = (t: Transaction) => {
    const f = z(fraudFeatures(t, options.variant));
    return 1 / (1 + Math.exp(-(bias + f.reduce((s, v, j) => s + v * (weights[j] as number), 0))));
  };
  const scores = test.map(predict);
  const labels = test.map((t) => (t.isFraud ? 1 : 0));
  const logloss = logLoss(labels, scores) ?? Number.NaN;
  const aucValue = auc(labels, scores) ?? Number.NaN;
  return {
    bytes: fraudGraph(options.variant, mean, scale, weights, bias),
    auc: aucValue,
    logloss,
    weights,
    bias,
    registration: {
      inputs: FRAUD_INPUTS.map((name) => ({ name, type: 'DOUBLE' as const })),
      outputs: [{ name: 'probability', type: 'DOUBLE' }],
      metrics: { auc: aucValue, logloss },
      params: {
        variant: options.variant,
        epochs: 300,
        learning_rate: 0.5,
        l2: 1e-4,
        decision_threshold: 0.5,
        positive_label: 'fraud',
        negative_label: 'legit',
      },
      lineage: { training_set_query: `demo generator seed ${seed}, first ${n} transactions`, row_count: n, seed },
      modelCard: `Logistic regression (${options.variant} features) on ${n} generated card transactions; held-out AUC ${aucValue.toFixed(3)}. Demo model: not for real decisions.`,
    },
  };
}
