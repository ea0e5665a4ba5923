/**
 * Where the drift processor gets each version's frozen baseline: a narrow interface, implemented over
 * the registry follower (the fold of `models.lifecycle`, whose REGISTERED events carry the baseline),
 * and over a plain map for tests and benchmarks. Versions are immutable, so a compiled baseline is
 * cached for good.
 */
import type { Logger } from '../../kernel/log.ts';
import { sleep } from '../../kernel/retry.ts';
import type { RegistryFollower } from '../../registry/follower.ts';
import type { DriftBaseline } from '../../schemas/index.ts';
import { type Binner, compileBinner } from './binning.ts';
import type { CompiledBaseline } from './transform.ts';

export interface BaselineSource {
  /** The version's compiled baseline; undefined when the version is unknown or has no usable baseline. */
  baseline(model: string, version: string): CompiledBaseline | undefined;
  /** Whether the source knows the version at all (registered), baseline or not. */
  knows(model: string, version: string): boolean;
  /** Resolves once every listed version is known, or the timeout passed (then some stay unknown). */
  waitFor(versions: ReadonlyArray<readonly [model: string, version: string]>, timeoutMs: number): Promise<void>;
}

/** Compiles a registered baseline; features whose baseline is inconsistent are left out (and logged). */
export function compileBaseline(
  model: string,
  version: string,
  baseline: DriftBaseline,
  onProblem: (feature: string, reason: string) => void = () => undefined,
): CompiledBaseline | undefined {
  const features: Binner[] = [];
  for (const feature of baseline.features) {
    try {
      features.push(compileBinner(feature));
    } catch (error) {
      onProblem(feature.feature, (error as Error).message);
    }
  }
  let prediction: Binner | null = null;
  if (baseline.prediction) {
    try {
      prediction = compileBinner(baseline.prediction);
    } catch (error) {
      onProblem(baseline.prediction.feature, (error as Error).message);
    }
  }
  if (features.length === 0 && !prediction) return undefined;
  return { model, version, features, prediction };
}

const key = (model: string, version: string) => `${model}\u0000${version}`;

/** Baselines from a fixed map (tests, benchmarks). */
export function staticBaselines(
  entries: ReadonlyArray<{ model: string; version: string; baseline: DriftBaseline }>,
): BaselineSource {
  const compiled = new Map<string, CompiledBaseline | undefined>();
  for (const e of entries) compiled.set(key(e.model, e.version), compileBaseline(e.model, e.version, e.baseline));
  return {
    baseline: (model, version) => compiled.get(key(model, version)),
    knows: (model, version) => compiled.has(key(model, version)),
    waitFor: async () => undefined,
  };
}

/** Baselines from the registry: REGISTERED events' `baseline`, as folded by a running follower. */
export function registryBaselines(follower: RegistryFollower, logger: Logger): BaselineSource {
  const compiled = new Map<string, CompiledBaseline | undefined>();
  const knows = (model: string, version: string) => follower.state.models.get(model)?.versions.has(version) ?? false;
  return {
    knows,
    baseline(model, version) {
      const k = key(model, version);
      if (compiled.has(k)) return compiled.get(k);
      const state = follower.state.models.get(model)?.versions.get(version);
      if (!state) return undefined;
      const result = compileBaseline(model, version, state.spec.baseline, (feature, reason) =>
        logger.warn({ model, version, feature, reason }, 'baseline feature unusable; no drift reports for it'),
      );
      if (!result) logger.warn({ model, version }, 'version has no drift baseline; its predictions are not scored for drift');
      compiled.set(k, result);
      return result;
    },
    async waitFor(versions, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      while (versions.some(([m, v]) => !knows(m, v)) && Date.now() < deadline) await sleep(100);
    },
  };
}
