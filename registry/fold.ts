/**
 * The registry state as a pure fold over `models.lifecycle` events, in log order. Every reader (the
 * CLI, each gateway, each scorer) runs this same function, so they agree. An event that breaks a rule
 * (`checkEvent`) — a duplicate, an unknown type, a command that lost a race — is recorded as ignored
 * and changes nothing. A promotion is one event that both enters the new version and archives the old
 * one, so no reader ever sees zero or two production versions.
 */
import type { ModelLifecycleEvent, TrafficPolicy } from '../schemas/index.ts';
import { checkEvent } from './rules.ts';
import {
  DEFAULT_POLICY,
  emptyState,
  emptyTraffic,
  type ModelState,
  type ProductionPeriod,
  type RegistryPolicy,
  type RegistryState,
  type Stage,
  type StageEntry,
  type TrafficEntry,
  type TransitionRequestState,
  type VersionState,
} from './types.ts';

export function foldEvents(
  events: Iterable<ModelLifecycleEvent>,
  policy: RegistryPolicy = DEFAULT_POLICY,
  initial: RegistryState = emptyState(),
): RegistryState {
  let state = initial;
  for (const event of events) state = applyEvent(state, event, policy);
  return state;
}

/** One event onto a state; returns a new state (the old one is untouched). */
export function applyEvent(
  state: RegistryState,
  event: ModelLifecycleEvent,
  policy: RegistryPolicy = DEFAULT_POLICY,
): RegistryState {
  const refusal = checkEvent(state, event, policy);
  if (refusal !== null) {
    return {
      ...state,
      ignored: [
        ...state.ignored,
        { eventId: event.event_id, model: event.model_name, eventType: event.event_type, reason: refusal },
      ],
    };
  }
  const before = state.models.get(event.model_name) ?? newModel(event.model_name);
  const after = applyToModel(before, event);
  const models = new Map(state.models);
  models.set(event.model_name, {
    ...after,
    eventCount: before.eventCount + 1,
    lastEventTime: Math.max(before.lastEventTime, event.event_time),
    seen: new Set(before.seen).add(event.event_id),
  });
  return { models, applied: state.applied + 1, ignored: state.ignored };
}

function newModel(name: string): ModelState {
  return {
    name,
    versions: new Map(),
    requests: new Map(),
    traffic: emptyTraffic(),
    aliases: new Map(),
    productionHistory: [],
    trafficHistory: [],
    eventCount: 0,
    lastEventTime: 0,
    seen: new Set(),
  };
}

// Precondition: checkEvent accepted the event, so the sections and versions it needs exist.
function applyToModel(model: ModelState, event: ModelLifecycleEvent): ModelState {
  const at = event.event_time;
  const version = event.model_version as string;
  switch (event.event_type) {
    case 'REGISTERED': {
      const spec = event.registered as NonNullable<ModelLifecycleEvent['registered']>;
      const entry: StageEntry = { stage: 'DEVELOPMENT', at, actor: event.actor, requestId: null, eventId: event.event_id };
      const versions = new Map(model.versions);
      versions.set(version, {
        model: model.name,
        version,
        stage: 'DEVELOPMENT',
        spec,
        registeredAt: at,
        registeredBy: event.actor,
        stages: [entry],
      });
      return { ...model, versions };
    }
    case 'TRANSITION_REQUESTED': {
      const t = event.transition as NonNullable<ModelLifecycleEvent['transition']>;
      const requests = new Map(model.requests);
      requests.set(t.request_id, {
        requestId: t.request_id,
        model: model.name,
        version,
        from: t.from_stage as Stage,
        to: t.to_stage as Stage,
        requestedBy: event.actor,
        requestedAt: at,
        reason: event.reason,
        checklist: t.checklist,
        status: 'PENDING',
        decidedBy: null,
        decidedAt: null,
        decisionReason: null,
        approvedChecklist: null,
      });
      return { ...model, requests };
    }
    case 'TRANSITION_APPROVED':
    case 'TRANSITION_REJECTED': {
      const t = event.transition as NonNullable<ModelLifecycleEvent['transition']>;
      const request = model.requests.get(t.request_id) as TransitionRequestState;
      const approved = event.event_type === 'TRANSITION_APPROVED';
      return withRequest(model, {
        ...request,
        status: approved ? 'APPROVED' : 'REJECTED',
        decidedBy: event.actor,
        decidedAt: at,
        decisionReason: event.reason,
        approvedChecklist: approved ? t.checklist : null,
      });
    }
    case 'STAGE_CHANGED':
    case 'ARCHIVED': {
      const change = event.stage_change as NonNullable<ModelLifecycleEvent['stage_change']>;
      const to = change.to_stage as Stage;
      let next = model;
      const request = change.request_id ? model.requests.get(change.request_id) : undefined;
      if (request) next = withRequest(next, { ...request, status: 'COMPLETED' });
      next = moveVersion(next, version, to, { at, actor: event.actor, requestId: change.request_id, eventId: event.event_id });
      if (to !== 'PRODUCTION') return next;
      const previous = model.traffic.production_version;
      if (previous !== null) {
        next = moveVersion(next, previous, 'ARCHIVED', {
          at,
          actor: event.actor,
          requestId: change.request_id,
          eventId: event.event_id,
        });
      }
      const period: ProductionPeriod = {
        version,
        from: at,
        to: null,
        via: 'promotion',
        actor: event.actor,
        requestId: change.request_id,
        requestedBy: request?.requestedBy ?? null,
        approvedBy: request?.status === 'APPROVED' ? request.decidedBy : null,
        eventId: event.event_id,
      };
      const traffic: TrafficPolicy = {
        production_version: version,
        canary: model.traffic.canary?.version === version ? null : model.traffic.canary,
        ab_split: model.traffic.ab_split?.version === version ? null : model.traffic.ab_split,
        shadow_versions: model.traffic.shadow_versions.filter((v) => v !== version),
      };
      return withTraffic(withProduction(next, period), traffic, {
        at,
        actor: event.actor,
        eventId: event.event_id,
        kind: 'STAGE_CHANGED',
      });
    }
    case 'TRAFFIC_SET': {
      const traffic = copyTraffic(event.traffic as TrafficPolicy);
      return withTraffic(model, traffic, { at, actor: event.actor, eventId: event.event_id, kind: 'TRAFFIC_SET' });
    }
    case 'ROLLED_BACK': {
      const rb = event.rollback as NonNullable<ModelLifecycleEvent['rollback']>;
      const step = { at, actor: event.actor, requestId: null, eventId: event.event_id };
      let next = moveVersion(model, rb.from_version, 'ARCHIVED', step);
      next = moveVersion(next, rb.to_version, 'PRODUCTION', step);
      next = withProduction(next, {
        version: rb.to_version,
        from: at,
        to: null,
        via: 'rollback',
        actor: event.actor,
        requestId: null,
        requestedBy: null,
        approvedBy: null,
        eventId: event.event_id,
      });
      return withTraffic(next, copyTraffic(event.traffic as TrafficPolicy), {
        at,
        actor: event.actor,
        eventId: event.event_id,
        kind: 'ROLLED_BACK',
      });
    }
    case 'ALIAS_SET': {
      const a = event.alias as NonNullable<ModelLifecycleEvent['alias']>;
      const aliases = new Map(model.aliases);
      if (a.version === null) aliases.delete(a.alias);
      else aliases.set(a.alias, a.version);
      return { ...model, aliases };
    }
    default:
      return model;
  }
}

function withRequest(model: ModelState, request: TransitionRequestState): ModelState {
  const requests = new Map(model.requests);
  requests.set(request.requestId, request);
  return { ...model, requests };
}

/** Moves a version to `to`; its other open requests become stale (they asked from a stage it left). */
function moveVersion(
  model: ModelState,
  version: string,
  to: Stage,
  step: { at: number; actor: string; requestId: string | null; eventId: string },
): ModelState {
  const current = model.versions.get(version) as VersionState;
  const versions = new Map(model.versions);
  versions.set(version, { ...current, stage: to, stages: [...current.stages, { stage: to, ...step }] });
  let requests: Map<string, TransitionRequestState> | undefined;
  for (const request of model.requests.values()) {
    if (request.version !== version || request.requestId === step.requestId) continue;
    if (request.status !== 'PENDING' && request.status !== 'APPROVED') continue;
    requests ??= new Map(model.requests);
    requests.set(request.requestId, { ...request, status: 'STALE' });
  }
  return { ...model, versions, ...(requests ? { requests } : {}) };
}

function withProduction(model: ModelState, period: ProductionPeriod): ModelState {
  const history = model.productionHistory.map((p) => (p.to === null ? { ...p, to: period.from } : p));
  return { ...model, productionHistory: [...history, period] };
}

function withTraffic(model: ModelState, traffic: TrafficPolicy, entry: Omit<TrafficEntry, 'policy'>): ModelState {
  return { ...model, traffic, trafficHistory: [...model.trafficHistory, { ...entry, policy: traffic }] };
}

function copyTraffic(policy: TrafficPolicy): TrafficPolicy {
  return {
    production_version: policy.production_version,
    canary: policy.canary ? { ...policy.canary } : null,
    ab_split: policy.ab_split ? { ...policy.ab_split } : null,
    shadow_versions: [...policy.shadow_versions],
  };
}
