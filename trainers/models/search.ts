/**
 * Hyperparameter search: seeded random search over a declared space, with a trial budget. Trial 0
 * is always the spec's defaults, so a search never does worse (on validation) than not searching;
 * every other trial is a draw from the space. Each trial trains with early stopping; the trial with
 * the lowest validation loss wins and keeps its network, the others are disposed.
 */

import { deriveSeed, logUniform, pick, rng } from '../../kernel/random.ts';
import { type EpochReport, type FitData, type FitResult, type TabularNet, type TrialParams, trainNetwork } from './network.ts';

export interface SearchSpace {
  algorithms: ReadonlyArray<TrialParams['algorithm']>;
  /** Hidden layer shapes to choose from (MLP only). */
  hidden: ReadonlyArray<readonly number[]>;
  activations: ReadonlyArray<TrialParams['activation']>;
  /** Log-uniform range. */
  learningRate: readonly [number, number];
  batchSizes: readonly number[];
  /** Log-uniform range; a draw below the lower bound's tenth is never made, so 0 is only in the defaults. */
  l2: readonly [number, number];
}

/** The planned trials: the defaults first, then seeded draws from the space. */
export function planTrials(defaults: TrialParams, space: SearchSpace, count: number, seed: number): TrialParams[] {
  const trials: TrialParams[] = [{ ...defaults, hidden: [...defaults.hidden], seed: deriveSeed(seed, 0) }];
  const random = rng(deriveSeed(seed, 0x5ea4c4));
  for (let i = 1; i < count; i++) {
    const algorithm = pick(random, space.algorithms);
    trials.push({
      ...defaults,
      algorithm,
      hidden: algorithm === 'mlp' ? [...pick(random, space.hidden)] : [],
      activation: pick(random, space.activations),
      learningRate: round(logUniform(random, space.learningRate[0], space.learningRate[1])),
      batchSize: pick(random, space.batchSizes),
      l2: round(logUniform(random, space.l2[0], space.l2[1])),
      seed: deriveSeed(seed, i),
    });
  }
  return trials;
}

const round = (v: number) => Number(v.toPrecision(3));

export interface TrialOutcome {
  trial: number;
  params: TrialParams;
  fit: FitResult;
  /** Metrics of the restored (best-epoch) weights on the validation split: `val_loss`, `val_auc` or `val_rmse`. */
  validation: Record<string, number>;
}

export interface SearchHooks {
  onEpoch?: (trial: number, report: EpochReport) => void | Promise<void>;
  onTrial?: (outcome: TrialOutcome) => void | Promise<void>;
  signal?: AbortSignal;
}

export async function search(
  trials: readonly TrialParams[],
  makeNet: (params: TrialParams) => TabularNet,
  data: FitData,
  hooks: SearchHooks = {},
): Promise<{ best: TrialOutcome; net: TabularNet; outcomes: TrialOutcome[] }> {
  const outcomes: TrialOutcome[] = [];
  let best: { outcome: TrialOutcome; net: TabularNet } | undefined;
  for (const [trial, params] of trials.entries()) {
    const net = makeNet(params);
    let result: FitResult;
    try {
      result = await trainNetwork(net, data, {
        ...(hooks.onEpoch ? { onEpoch: (report) => hooks.onEpoch?.(trial, report) } : {}),
        ...(hooks.signal ? { signal: hooks.signal } : {}),
      });
    } catch (error) {
      net.dispose();
      best?.net.dispose();
      throw error;
    }
    const bestReport = result.history[result.bestEpoch - 1];
    const outcome: TrialOutcome = {
      trial,
      params,
      fit: result,
      validation: { val_loss: result.bestValLoss, ...(bestReport?.metrics ?? {}) },
    };
    outcomes.push(outcome);
    if (!best || result.bestValLoss < best.outcome.fit.bestValLoss) {
      best?.net.dispose();
      best = { outcome, net };
    } else net.dispose();
    await hooks.onTrial?.(outcome);
  }
  if (!best) throw new Error('a search needs at least one trial');
  return { best: best.outcome, net: best.net, outcomes };
}
