/**
 * The rollout controller's decisions, purely: where a model's candidate stands (read from the folded
 * registry state alone, so a restarted controller resumes exactly where the log says it was), and what
 * the next step is given the live evidence and the model's declared rollout policy.
 *
 *   staged → shadow (N predictions and/or T ms) → canary p₀ → p₁ … → promote (or request approval)
 *                 ↘ guardrail crossed / worse than production beyond the margin → rolled back (archived)
 *
 * - The candidate is the newest STAGING version registered after the production version. Versions the
 *   controller did not stage are taken on too; routes a person set for other versions are left alone.
 * - A step's evidence is fresh: a canary step advances once the candidate has `minLabels` labeled
 *   predictions made since that step began, and its quality is compared with production's over the
 *   whole canary so far (production keeps labels even once the canary answers everything).
 * - Every step carries its evidence (window, metric values, label counts, thresholds) for the event.
 */
import type { RolloutPolicy } from '../../projects/declaration.ts';
import type { ModelState, TrafficPolicy, VersionState } from '../../registry/types.ts';

export const ROLLOUT_ACTOR = 'system:rollout-controller';
/** Approves a promotion when the policy delegates it (`requireApproval: false`): protected stages need a second actor. */
export const ROLLOUT_POLICY_ACTOR = 'system:rollout-policy';

/** Declared metric → live-quality column (`monitoring/quality.ts`), and which way it improves. */
export const LIVE_METRICS: Readonly<Record<string, { column: LiveColumn; higherIsBetter: boolean }>> = {
  auc: { column: 'auc', higherIsBetter: true },
  accuracy: { column: 'accuracy', higherIsBetter: true },
  logloss: { column: 'log_loss', higherIsBetter: false },
  rmse: { column: 'rmse', higherIsBetter: false },
  mae: { column: 'mae', higherIsBetter: false },
};
export type LiveColumn = 'auc' | 'accuracy' | 'log_loss' | 'rmse' | 'mae';

/** Where the model's candidate stands, from the log. Times are event times (epoch ms). */
export type RolloutPhase =
  | { kind: 'idle'; why: string }
  | { kind: 'staged'; candidate: string; production: string }
  | { kind: 'shadow'; candidate: string; production: string; since: number }
  | { kind: 'canary'; candidate: string; production: string; percent: number; stepSince: number; canarySince: number }
  | { kind: 'awaiting-approval'; candidate: string; production: string; requestId: string; since: number };

/** Live figures of one version in one role over a window (predictions by event time). */
export interface VariantFigures {
  version: string;
  predictions: number;
  labeled: number;
  /** The policy's metric over the labeled predictions; null when it cannot be computed yet. */
  metric: number | null;
  latencyP99Ms: number | null;
  /** Failed scorings over attempts, when the serving path reports them; null when not observed. */
  errorRate: number | null;
}

export interface RolloutEvidence {
  /** The candidate since the current step began (shadow or canary step). */
  step: { from: number; to: number; candidate: VariantFigures };
  /** Candidate and production over the same window: the whole shadow, or the whole canary so far. */
  compare: { from: number; to: number; candidate: VariantFigures; production: VariantFigures };
}

/** What the evidence needs to cover, for the controller to query. */
export interface EvidenceRequest {
  candidate: string;
  candidateVariant: 'SHADOW' | 'CANARY';
  production: string;
  stepFrom: number;
  compareFrom: number;
}

export type RolloutStep =
  | { kind: 'wait'; why: string }
  | {
      kind: 'act';
      /** What the step does, for logs and metrics. */
      action: 'start-shadow' | 'start-canary' | 'raise-canary' | 'promote' | 'request-approval' | 'roll-back';
      candidate: string;
      /** The routes after the step (undefined: unchanged). */
      traffic?: { canary?: { version: string; percent: number } | null; shadow?: 'add' | 'remove' };
      /** Archive the candidate (a rollback). */
      archive?: boolean;
      /** Promote: request PRODUCTION, and approve it too when the policy delegates approval. */
      promote?: { approve: boolean; checklist: string[] };
      /** One sentence with the numbers, and the numbers themselves. */
      reason: string;
      evidence: Record<string, number | string | null>;
    };

const byRegistration = (a: VersionState, b: VersionState) => a.registeredAt - b.registeredAt;

/** Where `model`'s rollout stands (pure: a function of the folded log). */
export function rolloutPhase(model: ModelState): RolloutPhase {
  const production = model.traffic.production_version;
  if (production === null) return { kind: 'idle', why: 'no production version to roll out against' };
  const prod = model.versions.get(production);
  const candidates = [...model.versions.values()]
    .filter((v) => v.stage === 'STAGING' && v.version !== production && v.registeredAt >= (prod?.registeredAt ?? 0))
    .sort(byRegistration);
  const routed = (v: string) => model.traffic.canary?.version === v || model.traffic.shadow_versions.includes(v);
  // A candidate already on a route goes on; otherwise the newest staged one starts.
  const candidate = candidates.find((v) => routed(v.version)) ?? candidates.at(-1);
  if (!candidate) return { kind: 'idle', why: `nothing staged after production ${production}` };
  const version = candidate.version;
  const traffic = model.traffic;
  if (traffic.canary?.version === version) {
    return { kind: 'canary', candidate: version, production, percent: traffic.canary.percent, ...canaryTimes(model, version) };
  }
  if (traffic.shadow_versions.includes(version)) {
    return {
      kind: 'shadow',
      candidate: version,
      production,
      since: routeSince(model, version, (p) => p.shadow_versions.includes(version)),
    };
  }
  const requests = [...model.requests.values()].filter((r) => r.version === version && r.to === 'PRODUCTION');
  const pending = requests.find((r) => r.status === 'PENDING' || r.status === 'APPROVED');
  if (pending)
    return {
      kind: 'awaiting-approval',
      candidate: version,
      production,
      requestId: pending.requestId,
      since: pending.requestedAt,
    };
  const rejected = requests.find((r) => r.status === 'REJECTED');
  if (rejected)
    return { kind: 'idle', why: `promotion of ${version} was rejected by ${rejected.decidedBy ?? 'someone'}; leaving it staged` };
  if (traffic.canary !== null) return { kind: 'idle', why: `a canary of ${traffic.canary.version} is running; ${version} waits` };
  const touched = model.trafficHistory.filter((e) => e.at >= candidate.registeredAt && onRoute(e.policy, version));
  if (touched.length > 0) {
    const last = model.trafficHistory.at(-1);
    return { kind: 'idle', why: `${version} was taken off its route by ${last?.actor ?? 'someone'}; leaving it staged` };
  }
  return { kind: 'staged', candidate: version, production };
}

function onRoute(policy: TrafficPolicy, version: string): boolean {
  return policy.canary?.version === version || policy.shadow_versions.includes(version);
}

/** When the route that still holds started: the first entry of the newest unbroken run where `holds`. */
function routeSince(model: ModelState, version: string, holds: (p: TrafficPolicy) => boolean): number {
  let since = model.versions.get(version)?.registeredAt ?? 0;
  for (let i = model.trafficHistory.length - 1; i >= 0; i--) {
    const entry = model.trafficHistory[i];
    if (!entry || !holds(entry.policy)) break;
    since = entry.at;
  }
  return since;
}

function canaryTimes(model: ModelState, version: string): { stepSince: number; canarySince: number } {
  const percent = model.traffic.canary?.percent;
  return {
    stepSince: routeSince(model, version, (p) => p.canary?.version === version && p.canary.percent === percent),
    canarySince: routeSince(model, version, (p) => p.canary?.version === version),
  };
}

/** What evidence the phase needs, or nothing (no live figures decide it). */
export function evidenceFor(phase: RolloutPhase): EvidenceRequest | undefined {
  if (phase.kind === 'shadow')
    return {
      candidate: phase.candidate,
      candidateVariant: 'SHADOW',
      production: phase.production,
      stepFrom: phase.since,
      compareFrom: phase.since,
    };
  if (phase.kind === 'canary')
    return {
      candidate: phase.candidate,
      candidateVariant: 'CANARY',
      production: phase.production,
      stepFrom: phase.stepSince,
      compareFrom: phase.canarySince,
    };
  return undefined;
}

const round = (v: number | null) => (v === null ? null : Number(v.toPrecision(5)));

/** The next step for a phase, its evidence and the policy (pure). */
export function nextStep(
  phase: RolloutPhase,
  policy: RolloutPolicy,
  evidence: RolloutEvidence | undefined,
  now: number,
): RolloutStep {
  switch (phase.kind) {
    case 'idle':
      return { kind: 'wait', why: phase.why };
    case 'awaiting-approval':
      return { kind: 'wait', why: `waiting for approval of ${phase.candidate} → PRODUCTION (request ${phase.requestId})` };
    case 'staged': {
      const { candidate } = phase;
      if (policy.shadow)
        return {
          kind: 'act',
          action: 'start-shadow',
          candidate,
          traffic: { shadow: 'add' },
          reason: `rollout of ${candidate}: shadow against production ${phase.production} for ${shadowTarget(policy)}`,
          evidence: {
            production: phase.production,
            shadow_predictions: policy.shadow.predictions ?? null,
            shadow_ms: policy.shadow.durationMs ?? null,
          },
        };
      return startCanary(candidate, phase.production, policy, 'no shadow in the policy');
    }
    case 'shadow':
    case 'canary': {
      if (!evidence) return { kind: 'wait', why: 'no evidence yet' };
      const guard = guardrails(evidence.step.candidate, policy);
      const { candidate } = phase;
      const base = evidenceRecord(phase, policy, evidence);
      if (guard) return rollBack(phase, guard, base);
      const quality = compareQuality(evidence, policy);
      const enough = evidence.step.candidate.labeled >= policy.promote.minLabels;
      if (quality.verdict === 'worse') return rollBack(phase, quality.text, base);
      if (phase.kind === 'shadow') {
        const shadow = policy.shadow ?? {};
        const seen = evidence.step.candidate.predictions;
        const elapsed = now - phase.since;
        const countDone = shadow.predictions === undefined || seen >= shadow.predictions;
        const timeDone = shadow.durationMs === undefined || elapsed >= shadow.durationMs;
        if (!countDone || !timeDone)
          return {
            kind: 'wait',
            why: `shadow of ${candidate}: ${seen}${shadow.predictions !== undefined ? `/${shadow.predictions}` : ''} predictions, ${Math.round(elapsed / 1000)} s${shadow.durationMs !== undefined ? `/${Math.round(shadow.durationMs / 1000)} s` : ''}`,
          };
        const started = startCanary(
          candidate,
          phase.production,
          policy,
          `shadow done (${seen} predictions in ${Math.round(elapsed / 1000)} s, ${quality.text})`,
        );
        return started.kind === 'act'
          ? { ...started, traffic: { ...started.traffic, shadow: 'remove' }, evidence: { ...base, ...started.evidence } }
          : started;
      }
      // canary
      if (!enough)
        return {
          kind: 'wait',
          why: `canary ${candidate} at ${phase.percent}%: ${evidence.step.candidate.labeled}/${policy.promote.minLabels} labels at this step`,
        };
      if (quality.verdict === 'unknown')
        return { kind: 'wait', why: `canary ${candidate} at ${phase.percent}%: ${quality.text}` };
      const steps = [policy.canary.percent, ...policy.canary.steps];
      const next = steps.find((s) => s > phase.percent);
      if (next !== undefined)
        return {
          kind: 'act',
          action: 'raise-canary',
          candidate,
          traffic: { canary: { version: candidate, percent: next } },
          reason: `canary ${candidate} ${phase.percent}% → ${next}%: ${quality.text}`,
          evidence: { ...base, canary_percent_to: next },
        };
      const checklist = [
        `live ${policy.promote.metric} not worse than production ${phase.production} by more than ${policy.promote.maxRegression} — ${quality.text}`,
        `at least ${policy.promote.minLabels} labels at ${phase.percent}% — ${evidence.step.candidate.labeled}`,
        `guardrails held: error rate ≤ ${policy.rollback.maxErrorRate}, p99 latency ≤ ${policy.rollback.maxLatencyP99Ms} ms`,
      ];
      return {
        kind: 'act',
        action: policy.requireApproval ? 'request-approval' : 'promote',
        candidate,
        promote: { approve: !policy.requireApproval, checklist },
        reason: `${policy.requireApproval ? 'promotion requested' : 'promoted'}: ${candidate} after canary up to ${phase.percent}%: ${quality.text}`,
        evidence: base,
      };
    }
  }
}

function shadowTarget(policy: RolloutPolicy): string {
  const s = policy.shadow ?? {};
  return [
    s.predictions !== undefined ? `${s.predictions} predictions` : '',
    s.durationMs !== undefined ? `${s.durationMs} ms` : '',
  ]
    .filter(Boolean)
    .join(' and ');
}

function startCanary(candidate: string, production: string, policy: RolloutPolicy, why: string): RolloutStep {
  return {
    kind: 'act',
    action: 'start-canary',
    candidate,
    traffic: { canary: { version: candidate, percent: policy.canary.percent } },
    reason: `canary ${candidate} at ${policy.canary.percent}% against production ${production}: ${why}`,
    evidence: { production, canary_percent_to: policy.canary.percent },
  };
}

function rollBack(
  phase: Extract<RolloutPhase, { kind: 'shadow' | 'canary' }>,
  why: string,
  evidence: Record<string, number | string | null>,
): RolloutStep {
  const route = phase.kind === 'canary' ? `canary at ${phase.percent}%` : 'shadow';
  return {
    kind: 'act',
    action: 'roll-back',
    candidate: phase.candidate,
    traffic: phase.kind === 'canary' ? { canary: null } : { shadow: 'remove' },
    archive: true,
    reason: `rolled back ${phase.candidate} (${route}); production ${phase.production} keeps serving: ${why}`,
    evidence,
  };
}

/** The first guardrail the candidate crossed, as a sentence, or undefined. */
export function guardrails(candidate: VariantFigures, policy: RolloutPolicy): string | undefined {
  const { maxErrorRate, maxLatencyP99Ms } = policy.rollback;
  if (candidate.errorRate !== null && candidate.errorRate > maxErrorRate)
    return `error rate ${round(candidate.errorRate)} over the guardrail ${maxErrorRate}`;
  if (candidate.latencyP99Ms !== null && candidate.latencyP99Ms > maxLatencyP99Ms)
    return `p99 latency ${round(candidate.latencyP99Ms)} ms over the guardrail ${maxLatencyP99Ms} ms`;
  return undefined;
}

/** Candidate against production on the compare window: better/equal within the margin, worse, or not known yet. */
export function compareQuality(
  evidence: RolloutEvidence,
  policy: RolloutPolicy,
): { verdict: 'ok' | 'worse' | 'unknown'; text: string } {
  const { metric, maxRegression, minLabels } = policy.promote;
  const live = LIVE_METRICS[metric];
  const { candidate, production } = evidence.compare;
  if (!live) return { verdict: 'unknown', text: `${metric} is not measured live` };
  if (candidate.metric === null || production.metric === null || candidate.labeled < minLabels || production.labeled < minLabels)
    return {
      verdict: 'unknown',
      text: `live ${metric} not known yet (candidate ${candidate.labeled}, production ${production.labeled} labels; ${minLabels} needed)`,
    };
  const regression = live.higherIsBetter ? production.metric - candidate.metric : candidate.metric - production.metric;
  const text = `live ${metric} ${round(candidate.metric)} vs production ${round(production.metric)} on ${candidate.labeled}/${production.labeled} labels (margin ${maxRegression})`;
  return { verdict: regression > maxRegression ? 'worse' : 'ok', text };
}

function evidenceRecord(
  phase: Extract<RolloutPhase, { kind: 'shadow' | 'canary' }>,
  policy: RolloutPolicy,
  evidence: RolloutEvidence,
): Record<string, number | string | null> {
  const { step, compare } = evidence;
  return {
    phase: phase.kind,
    ...(phase.kind === 'canary' ? { canary_percent: phase.percent } : {}),
    production: phase.production,
    metric: policy.promote.metric,
    step_from_ms: step.from,
    step_to_ms: step.to,
    step_predictions: step.candidate.predictions,
    step_labels: step.candidate.labeled,
    window_from_ms: compare.from,
    window_to_ms: compare.to,
    candidate_metric: round(compare.candidate.metric),
    production_metric: round(compare.production.metric),
    candidate_labels: compare.candidate.labeled,
    production_labels: compare.production.labeled,
    candidate_p99_ms: round(step.candidate.latencyP99Ms),
    candidate_error_rate: round(step.candidate.errorRate),
    max_regression: policy.promote.maxRegression,
    min_labels: policy.promote.minLabels,
    max_error_rate: policy.rollback.maxErrorRate,
    max_p99_ms: policy.rollback.maxLatencyP99Ms,
  };
}
