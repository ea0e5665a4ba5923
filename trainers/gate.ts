/**
 * The quality gate, decided purely: a candidate's metric on the held-out test split against an
 * absolute floor and against the production version scored on the very same rows. The model's
 * policy says what a passing candidate gets — register only, stage, hand it to the rollout
 * controller (staged; the model's rollout policy takes it on), start a canary, or promote —
 * and what the first version of a model gets (a canary needs a production version to fall back on).
 * A failing candidate is registered and stays in DEVELOPMENT. Every check comes back with its
 * numbers, so the registry events that carry the decision also carry the evidence.
 */
import { RheoError } from '../kernel/errors.ts';
import type { Stage } from '../registry/types.ts';
import { HIGHER_IS_BETTER } from './models/metrics.ts';

/** Weakest first: a request may lower a model's action, never raise it. */
export const ACTIONS = ['register', 'stage', 'rollout', 'canary', 'promote'] as const;
export type GateAction = (typeof ACTIONS)[number];

export interface GatePolicy {
  /** What a passing candidate gets when the model has a production version. */
  action: GateAction;
  /** What a passing first version gets (no production version to compare with, or to canary against). */
  firstVersion: Exclude<GateAction, 'canary' | 'rollout'>;
  /** The metric compared (`auc`, `logloss`, `rmse`…), on the test split. */
  metric: string;
  /** Absolute bound: the metric must be at least this (or at most, for lower-is-better metrics). */
  minimum?: number;
  /** How much worse than production (same rows) the candidate may be and still pass. */
  maxRegression: number;
  /** Share of requests a canary answers. */
  canaryPercent: number;
}

export interface ProductionScore {
  version: string;
  /** Its metrics on the test split; absent when it could not be scored there (`unavailable` says why). */
  metrics?: Record<string, number>;
  unavailable?: string;
  rows?: number;
}

export interface GateCheck {
  item: string;
  passed: boolean;
  note: string;
}

export interface GateDecision {
  passed: boolean;
  /** What the trainer does with the version: `register` leaves it in DEVELOPMENT. */
  action: GateAction;
  targetStage: Stage;
  canaryPercent: number | null;
  checks: GateCheck[];
  /** One sentence with the numbers, for events and the CLI. */
  reason: string;
  /** The numbers, by name (candidate_auc, production_auc, margin…). */
  evidence: Record<string, number | string>;
}

const STAGE_OF: Record<GateAction, Stage> = {
  register: 'DEVELOPMENT',
  stage: 'STAGING',
  rollout: 'STAGING',
  canary: 'STAGING',
  promote: 'PRODUCTION',
};

const fmt = (v: number) => (Number.isFinite(v) ? Number(v.toPrecision(4)).toString() : String(v));

export function decideGate(
  policy: GatePolicy,
  candidate: Record<string, number>,
  production: ProductionScore | null,
  testRows: number,
): GateDecision {
  const metric = policy.metric;
  const higher = HIGHER_IS_BETTER[metric];
  if (higher === undefined) throw new RheoError('BAD_REQUEST', `the gate cannot compare on ${metric}: direction unknown`);
  const value = candidate[metric];
  const evidence: Record<string, number | string> = { metric, test_rows: testRows };
  const checks: GateCheck[] = [];
  const better = (a: number, b: number) => (higher ? a >= b : a <= b);
  if (value === undefined || !Number.isFinite(value)) {
    checks.push({
      item: `${metric} is measurable on the test split`,
      passed: false,
      note: `candidate ${metric} is ${String(value)}`,
    });
  } else {
    evidence[`candidate_${metric}`] = value;
    if (policy.minimum !== undefined) {
      evidence.minimum = policy.minimum;
      checks.push({
        item: `${metric} ${higher ? '≥' : '≤'} ${fmt(policy.minimum)} on the test split`,
        passed: better(value, policy.minimum),
        note: `candidate ${fmt(value)} on ${testRows} rows`,
      });
    }
    if (production) {
      evidence.production_version = production.version;
      const theirs = production.metrics?.[metric];
      const item = `${metric} not worse than production ${production.version} by more than ${fmt(policy.maxRegression)} (same test rows)`;
      if (theirs === undefined || !Number.isFinite(theirs)) {
        checks.push({
          item,
          passed: false,
          note: `production could not be scored on the test split: ${production.unavailable ?? `its ${metric} is ${String(theirs)}`}`,
        });
      } else {
        evidence[`production_${metric}`] = theirs;
        evidence.max_regression = policy.maxRegression;
        const bound = higher ? theirs - policy.maxRegression : theirs + policy.maxRegression;
        checks.push({
          item,
          passed: better(value, bound),
          note: `candidate ${fmt(value)} vs production ${fmt(theirs)} (${value === theirs ? 'equal' : better(value, theirs) ? 'better' : 'worse'})`,
        });
      }
    }
  }
  const passed = checks.every((c) => c.passed);
  const wanted: GateAction = production ? policy.action : policy.firstVersion;
  const action: GateAction = passed ? wanted : 'register';
  const failed = checks.filter((c) => !c.passed);
  const summary = checks.map((c) => `${c.passed ? 'ok' : 'FAILED'}: ${c.item} — ${c.note}`).join('; ');
  const verdict = passed
    ? `passed → ${action}${production ? '' : ' (first version)'}`
    : `failed (${failed.map((c) => c.item).join('; ')}) → registered only, stays in DEVELOPMENT`;
  return {
    passed,
    action,
    targetStage: STAGE_OF[action],
    canaryPercent: action === 'canary' ? policy.canaryPercent : null,
    checks,
    reason: `quality gate ${verdict}. ${summary || 'no checks configured'}`,
    evidence,
  };
}
