/**
 * The lifecycle rules, in one place. `checkEvent` says why an event may not be applied to a state
 * (or null when it may). Commands call it before producing anything (so an illegal command is refused
 * with that reason and no event), and the fold calls it on every event it reads (so two commands that
 * raced are settled the same way by every reader: the first one in log order wins).
 */
import type { ModelLifecycleEvent, TrafficPolicy } from '../schemas/index.ts';
import type { ModelState, RegistryPolicy, RegistryState, Stage } from './types.ts';

const SEMVER = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?(?:\+[0-9A-Za-z.-]+)?$/;
const MODEL_NAME = /^[A-Za-z][A-Za-z0-9_.-]{0,127}$/;
const ALIAS = /^[a-z][a-z0-9_-]{0,63}$/;
const SHA256 = /^[0-9a-f]{64}$/;

export function isSemver(version: string): boolean {
  return SEMVER.test(version);
}

export function isModelName(name: string): boolean {
  return MODEL_NAME.test(name);
}

export function isAlias(name: string): boolean {
  return ALIAS.test(name) && !isSemver(name);
}

/** Semantic-version order (pre-releases before their release; build metadata ignored). */
export function compareSemver(a: string, b: string): number {
  const pa = SEMVER.exec(a);
  const pb = SEMVER.exec(b);
  if (!pa || !pb) return a < b ? -1 : a > b ? 1 : 0;
  for (let i = 1; i <= 3; i++) {
    const d = Number(pa[i]) - Number(pb[i]);
    if (d !== 0) return Math.sign(d);
  }
  const ra = pa[4];
  const rb = pb[4];
  if (ra === undefined || rb === undefined) return ra === rb ? 0 : ra === undefined ? 1 : -1;
  const xa = ra.split('.');
  const xb = rb.split('.');
  for (let i = 0; i < Math.max(xa.length, xb.length); i++) {
    const u = xa[i];
    const v = xb[i];
    if (u === undefined) return -1;
    if (v === undefined) return 1;
    const nu = /^\d+$/.test(u);
    const nv = /^\d+$/.test(v);
    if (nu && nv && Number(u) !== Number(v)) return Math.sign(Number(u) - Number(v));
    if (nu !== nv) return nu ? -1 : 1;
    if (u !== v) return u < v ? -1 : 1;
  }
  return 0;
}

/** Stage moves a request or stage change may ask for. Leaving PRODUCTION happens only by promoting or rolling back another version. */
const MOVES: Record<Stage, readonly Stage[]> = {
  DEVELOPMENT: ['STAGING', 'PRODUCTION', 'ARCHIVED'],
  STAGING: ['DEVELOPMENT', 'PRODUCTION', 'ARCHIVED'],
  PRODUCTION: [],
  ARCHIVED: ['DEVELOPMENT', 'STAGING'],
};

export function legalMove(from: Stage, to: Stage): boolean {
  return MOVES[from].includes(to);
}

function knownStage(stage: string): stage is Stage {
  return stage === 'DEVELOPMENT' || stage === 'STAGING' || stage === 'PRODUCTION' || stage === 'ARCHIVED';
}

/** The catalogue code of a refusal: a missing model or version is MODEL_NOT_FOUND, any other rule ILLEGAL_TRANSITION. */
export function refusalCode(reason: string): 'MODEL_NOT_FOUND' | 'ILLEGAL_TRANSITION' {
  return / is not registered$/.test(reason) ? 'MODEL_NOT_FOUND' : 'ILLEGAL_TRANSITION';
}

/** Why `event` may not be applied to `state`, or null when it may. */
export function checkEvent(state: RegistryState, event: ModelLifecycleEvent, policy: RegistryPolicy): string | null {
  if (!isModelName(event.model_name)) return `"${event.model_name}" is not a valid model name`;
  if (!event.actor) return 'the event names no actor';
  const model = state.models.get(event.model_name);
  if (model?.seen.has(event.event_id)) return `event ${event.event_id} was already applied`;
  const versionOf = (v: string | null) => (v === null ? undefined : model?.versions.get(v));
  const label = `${event.model_name}@${event.model_version ?? '?'}`;

  switch (event.event_type) {
    case 'REGISTERED': {
      const spec = event.registered;
      if (!spec) return 'REGISTERED needs its `registered` section';
      if (event.model_version === null || !isSemver(event.model_version))
        return `"${event.model_version}" is not a semantic version (e.g. 1.2.0)`;
      if (versionOf(event.model_version)) return `${label} is already registered`;
      if (spec.framework !== 'onnx') return `framework "${spec.framework}" is not served; only onnx is`;
      if (!SHA256.test(spec.sha256)) return 'sha256 must be 64 lower-case hex digits';
      if (spec.size_bytes <= 0) return 'size_bytes must be positive';
      if (spec.inputs.length === 0) return 'a model needs at least one input';
      if (spec.outputs.length === 0) return 'a model needs at least one output';
      const names = spec.inputs.map((i) => i.name);
      if (new Set(names).size !== names.length) return 'input names must be unique';
      if (spec.inputs.some((i) => i.type === 'STRING' || i.type === 'UNKNOWN'))
        return 'inputs must be numeric or boolean (DOUBLE, LONG, BOOLEAN); encode categories in the features';
      if (new Set(spec.outputs.map((o) => o.name)).size !== spec.outputs.length) return 'output names must be unique';
      return null;
    }
    case 'TRANSITION_REQUESTED': {
      const t = event.transition;
      if (!t) return 'TRANSITION_REQUESTED needs its `transition` section';
      const version = versionOf(event.model_version);
      if (!version) return `${label} is not registered`;
      if (t.request_id !== event.event_id) return 'a request is identified by its own event id';
      if (!knownStage(t.to_stage) || !knownStage(t.from_stage)) return 'unknown stage';
      if (t.from_stage !== version.stage) return `${label} is in ${version.stage}, not ${t.from_stage}`;
      if (!legalMove(version.stage, t.to_stage)) return moveRefusal(label, version.stage, t.to_stage);
      const open = [...(model as ModelState).requests.values()].find(
        (r) => r.version === version.version && (r.status === 'PENDING' || r.status === 'APPROVED'),
      );
      if (open) return `${label} already has an open request ${open.requestId} (${open.from} → ${open.to}, ${open.status})`;
      return null;
    }
    case 'TRANSITION_APPROVED':
    case 'TRANSITION_REJECTED': {
      const t = event.transition;
      if (!t) return `${event.event_type} needs its \`transition\` section`;
      const request = model?.requests.get(t.request_id);
      if (!request) return `there is no transition request ${t.request_id} for ${event.model_name}`;
      if (request.version !== event.model_version) return `request ${t.request_id} is for version ${request.version}`;
      if (request.status !== 'PENDING') return `request ${t.request_id} is ${request.status.toLowerCase()}, not pending`;
      if (t.to_stage !== request.to || t.from_stage !== request.from)
        return `request ${t.request_id} asks ${request.from} → ${request.to}, not ${t.from_stage} → ${t.to_stage}`;
      const version = versionOf(event.model_version);
      if (version && version.stage !== request.from)
        return `${label} moved to ${version.stage} since the request; the request is stale`;
      if (event.event_type === 'TRANSITION_APPROVED') {
        if (policy.protectedStages.includes(request.to) && event.actor === request.requestedBy)
          return `${request.to} is a protected stage: ${event.actor} requested it and cannot also approve it`;
        const open = t.checklist.filter((item) => !item.done);
        if (open.length > 0) return `checklist items not done: ${open.map((i) => i.item).join('; ')}`;
      }
      return null;
    }
    case 'STAGE_CHANGED':
    case 'ARCHIVED': {
      const change = event.stage_change;
      if (!change) return `${event.event_type} needs its \`stage_change\` section`;
      const version = versionOf(event.model_version);
      if (!version || !model) return `${label} is not registered`;
      if (!knownStage(change.to_stage)) return 'unknown stage';
      if (event.event_type === 'ARCHIVED' && change.to_stage !== 'ARCHIVED') return 'ARCHIVED moves a version to ARCHIVED';
      if (change.from_stage !== version.stage) return `${label} is in ${version.stage}, not ${change.from_stage}`;
      if (!legalMove(version.stage, change.to_stage)) return moveRefusal(label, version.stage, change.to_stage);
      if (change.to_stage === 'ARCHIVED') {
        const routed = routedVersions(model.traffic);
        if (routed.includes(version.version))
          return `${label} still takes traffic (canary, A/B or shadow); change the traffic first`;
      }
      const protectedStage = policy.protectedStages.includes(change.to_stage);
      if (change.request_id === null) {
        if (protectedStage)
          return `${change.to_stage} needs an approved transition request; request it, then have someone else approve it`;
        return null;
      }
      const request = model.requests.get(change.request_id);
      if (!request) return `there is no transition request ${change.request_id}`;
      if (request.version !== version.version || request.to !== change.to_stage)
        return `request ${change.request_id} is for ${request.version} → ${request.to}`;
      if (request.status === 'APPROVED') return null;
      if (request.status === 'PENDING' && !protectedStage) return null;
      if (request.status === 'PENDING')
        return `request ${change.request_id} needs an approval before ${label} enters ${change.to_stage}`;
      return `request ${change.request_id} is ${request.status.toLowerCase()}`;
    }
    case 'TRAFFIC_SET': {
      if (!model) return `model ${event.model_name} is not registered`;
      if (!event.traffic) return 'TRAFFIC_SET needs its `traffic` section';
      if (event.traffic.production_version !== model.traffic.production_version)
        return `the production version is ${model.traffic.production_version ?? 'none'}; it changes only by promotion or rollback`;
      return checkRoutes(model, event.traffic);
    }
    case 'ROLLED_BACK': {
      if (!model) return `model ${event.model_name} is not registered`;
      const rb = event.rollback;
      if (!rb || !event.traffic) return 'ROLLED_BACK needs its `rollback` and `traffic` sections';
      const current = model.traffic.production_version;
      if (current === null) return `${event.model_name} has no production version to roll back`;
      if (rb.from_version !== current) return `production is ${current}, not ${rb.from_version}`;
      if (rb.to_version === rb.from_version) return 'a rollback needs a different target version';
      const target = model.versions.get(rb.to_version);
      if (!target) return `${event.model_name}@${rb.to_version} is not registered`;
      if (!model.productionHistory.some((p) => p.version === rb.to_version))
        return `${event.model_name}@${rb.to_version} was never in production; promote it through a request instead`;
      if (event.traffic.production_version !== rb.to_version) return 'the new traffic policy must serve the rollback target';
      return checkRoutes(model, event.traffic, { excluded: rb.from_version });
    }
    case 'ALIAS_SET': {
      if (!model) return `model ${event.model_name} is not registered`;
      const a = event.alias;
      if (!a) return 'ALIAS_SET needs its `alias` section';
      if (!isAlias(a.alias)) return `"${a.alias}" is not a valid alias (lower case, not a version number)`;
      if (a.version === null) return model.aliases.has(a.alias) ? null : `alias ${a.alias} is not set`;
      const target = model.versions.get(a.version);
      if (!target) return `${event.model_name}@${a.version} is not registered`;
      if (target.stage === 'ARCHIVED') return `${event.model_name}@${a.version} is archived`;
      return null;
    }
    default:
      return `unknown event type ${event.event_type}`;
  }
}

function moveRefusal(label: string, from: Stage, to: Stage): string {
  if (from === 'PRODUCTION')
    return `${label} is in production; it leaves only when another version is promoted or production is rolled back`;
  if (from === to) return `${label} is already in ${to}`;
  return `${label} cannot move from ${from} to ${to}`;
}

/** Versions a policy routes to other than production. */
export function routedVersions(policy: TrafficPolicy): string[] {
  return [
    ...(policy.canary ? [policy.canary.version] : []),
    ...(policy.ab_split ? [policy.ab_split.version] : []),
    ...policy.shadow_versions,
  ];
}

function checkRoutes(model: ModelState, policy: TrafficPolicy, options: { excluded?: string } = {}): string | null {
  const production = policy.production_version;
  const usable = (version: string, role: string): string | null => {
    const v = model.versions.get(version);
    if (!v) return `${role} ${model.name}@${version} is not registered`;
    if (version === production) return `${role} ${version} is already the production version`;
    if (version === options.excluded) return `${role} ${version} is being rolled back`;
    if (v.stage === 'ARCHIVED') return `${role} ${model.name}@${version} is archived`;
    return null;
  };
  if ((policy.canary || policy.ab_split || policy.shadow_versions.length > 0) && production === null)
    return `${model.name} has no production version; canary, A/B and shadow routes need one to fall back on`;
  if (policy.canary) {
    const why = usable(policy.canary.version, 'canary');
    if (why) return why;
    if (!(policy.canary.percent > 0 && policy.canary.percent <= 100)) return 'canary percent must be in (0, 100]';
  }
  if (policy.ab_split) {
    const why = usable(policy.ab_split.version, 'A/B challenger');
    if (why) return why;
    if (!(policy.ab_split.percent > 0 && policy.ab_split.percent < 100)) return 'A/B percent must be in (0, 100)';
    if (!policy.ab_split.salt) return 'an A/B split needs a salt';
  }
  if (policy.canary && policy.ab_split && policy.canary.version === policy.ab_split.version)
    return 'the canary and the A/B challenger must be different versions';
  if (new Set(policy.shadow_versions).size !== policy.shadow_versions.length) return 'shadow versions must be unique';
  for (const shadow of policy.shadow_versions) {
    const why = usable(shadow, 'shadow');
    if (why) return why;
  }
  return null;
}
