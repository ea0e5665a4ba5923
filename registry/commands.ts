/**
 * Registry commands, decided purely: `decide(state, command)` returns the events the command produces,
 * or throws a RheoError naming the rule it breaks — in which case nothing is produced. The events are
 * checked by folding them onto the caller's state with the same rules every reader applies.
 */
import { randomUUID } from 'node:crypto';
import { RheoError, rheoError } from '../kernel/errors.ts';
import type { ChecklistItem, ModelLifecycleEvent, ModelVersionRegistered, TrafficPolicy } from '../schemas/index.ts';
import { applyEvent } from './fold.ts';
import { checkEvent, refusalCode } from './rules.ts';
import { DEFAULT_POLICY, type ModelState, type RegistryPolicy, type RegistryState, type Stage } from './types.ts';

export type RegistryCommand =
  | { kind: 'register'; model: string; version: string; actor: string; spec: ModelVersionRegistered; reason?: string }
  | {
      kind: 'request';
      model: string;
      version: string;
      to: Stage;
      actor: string;
      reason?: string;
      checklist?: string[];
    }
  | {
      kind: 'approve';
      model: string;
      actor: string;
      /** The request to approve; or give `version` when it has exactly one pending request. */
      requestId?: string;
      version?: string;
      reason?: string;
      /** Checklist items the approver confirms; `true` confirms all of them. */
      confirm?: string[] | true;
    }
  | { kind: 'reject'; model: string; actor: string; requestId?: string; version?: string; reason: string }
  | {
      kind: 'traffic';
      model: string;
      actor: string;
      /** Undefined keeps the current route; null removes it. */
      canary?: { version: string; percent: number } | null;
      ab?: { version: string; percent: number; salt?: string } | null;
      shadow?: string[];
      reason?: string;
    }
  | { kind: 'rollback'; model: string; actor: string; to?: string; reason?: string }
  | { kind: 'archive'; model: string; version: string; actor: string; reason?: string }
  | { kind: 'alias'; model: string; alias: string; version: string | null; actor: string }
  /** A direct stage change: allowed without a request only for unprotected stages (e.g. a passing quality gate → STAGING). */
  | { kind: 'stage'; model: string; version: string; to: Stage; actor: string; requestId?: string; reason?: string };

export interface DecideOptions {
  policy?: RegistryPolicy;
  now?: () => number;
  newId?: () => string;
}

export function decide(state: RegistryState, command: RegistryCommand, options: DecideOptions = {}): ModelLifecycleEvent[] {
  const policy = options.policy ?? DEFAULT_POLICY;
  const now = options.now ?? Date.now;
  const newId = options.newId ?? randomUUID;
  const base = (type: ModelLifecycleEvent['event_type'], version: string | null, reason?: string): ModelLifecycleEvent => ({
    event_id: newId(),
    event_time: now(),
    model_name: command.model,
    model_version: version,
    event_type: type,
    actor: command.actor,
    reason: reason ?? null,
    registered: null,
    transition: null,
    stage_change: null,
    traffic: null,
    rollback: null,
    alias: null,
  });
  const model = state.models.get(command.model);
  const needModel = (): ModelState => {
    if (!model) throw rheoError('MODEL_NOT_FOUND', { subject: `model ${command.model}` });
    return model;
  };
  const needVersion = (version: string) => {
    const v = needModel().versions.get(version);
    if (!v) throw rheoError('MODEL_NOT_FOUND', { subject: `${command.model}@${version}` });
    return v;
  };

  let events: ModelLifecycleEvent[];
  switch (command.kind) {
    case 'register':
      events = [{ ...base('REGISTERED', command.version, command.reason), registered: command.spec }];
      break;
    case 'request': {
      const version = needVersion(command.version);
      const requested = base('TRANSITION_REQUESTED', command.version, command.reason);
      const checklist: ChecklistItem[] = (command.checklist ?? []).map((item) => ({ item, done: false, note: null }));
      const request: ModelLifecycleEvent = {
        ...requested,
        transition: { request_id: requested.event_id, from_stage: version.stage, to_stage: command.to, checklist },
      };
      events = [request];
      // An unprotected stage needs no approval: the request is carried out at once (and recorded).
      if (!policy.protectedStages.includes(command.to)) {
        events.push({
          ...base('STAGE_CHANGED', command.version, command.reason),
          stage_change: { from_stage: version.stage, to_stage: command.to, request_id: request.event_id },
        });
      }
      break;
    }
    case 'approve':
    case 'reject': {
      const m = needModel();
      const request = findRequest(m, command.requestId, command.version);
      const approving = command.kind === 'approve';
      const confirm = approving ? command.confirm : undefined;
      const checklist = request.checklist.map((item) => ({
        item: item.item,
        done: confirm === true || (Array.isArray(confirm) && confirm.includes(item.item)),
        note: null,
      }));
      const decision: ModelLifecycleEvent = {
        ...base(approving ? 'TRANSITION_APPROVED' : 'TRANSITION_REJECTED', request.version, command.reason),
        transition: { request_id: request.requestId, from_stage: request.from, to_stage: request.to, checklist },
      };
      events = [decision];
      if (approving) {
        events.push({
          ...base('STAGE_CHANGED', request.version, command.reason),
          stage_change: { from_stage: request.from, to_stage: request.to, request_id: request.requestId },
        });
      }
      break;
    }
    case 'traffic': {
      const m = needModel();
      const current = m.traffic;
      const traffic: TrafficPolicy = {
        production_version: current.production_version,
        canary: command.canary === undefined ? current.canary : command.canary && { ...command.canary },
        ab_split:
          command.ab === undefined
            ? current.ab_split
            : command.ab && {
                version: command.ab.version,
                percent: command.ab.percent,
                salt: command.ab.salt ?? `ab:${command.ab.version}`,
              },
        shadow_versions: command.shadow === undefined ? [...current.shadow_versions] : [...command.shadow],
      };
      events = [{ ...base('TRAFFIC_SET', null, command.reason), traffic }];
      break;
    }
    case 'rollback': {
      const m = needModel();
      const from = m.traffic.production_version;
      if (from === null) throw new RheoError('ILLEGAL_TRANSITION', `${command.model} has no production version to roll back`);
      const to = command.to ?? previousProduction(m);
      if (!to) throw new RheoError('ILLEGAL_TRANSITION', `${command.model} has had no other production version to roll back to`);
      // A rollback is an emergency brake: production goes back, and every experiment route is cleared.
      events = [
        {
          ...base('ROLLED_BACK', null, command.reason),
          rollback: { from_version: from, to_version: to },
          traffic: { production_version: to, canary: null, ab_split: null, shadow_versions: [] },
        },
      ];
      break;
    }
    case 'archive': {
      const version = needVersion(command.version);
      events = [
        {
          ...base('ARCHIVED', command.version, command.reason),
          stage_change: { from_stage: version.stage, to_stage: 'ARCHIVED', request_id: null },
        },
      ];
      break;
    }
    case 'alias':
      needModel();
      events = [{ ...base('ALIAS_SET', null), alias: { alias: command.alias, version: command.version } }];
      break;
    case 'stage': {
      const version = needVersion(command.version);
      events = [
        {
          ...base('STAGE_CHANGED', command.version, command.reason),
          stage_change: { from_stage: version.stage, to_stage: command.to, request_id: command.requestId ?? null },
        },
      ];
      break;
    }
  }

  // Each event must pass the rules on the state the previous ones leave.
  let scratch = state;
  for (const event of events) {
    const refusal = checkEvent(scratch, event, policy);
    if (refusal !== null) {
      throw new RheoError(refusalCode(refusal), refusal, {
        details: { model: command.model, command: command.kind },
      });
    }
    scratch = applyEvent(scratch, event, policy);
  }
  return events;
}

function findRequest(model: ModelState, requestId: string | undefined, version: string | undefined) {
  if (requestId) {
    const request = model.requests.get(requestId);
    if (!request) throw new RheoError('NOT_FOUND', `there is no transition request ${requestId} for ${model.name}`);
    return request;
  }
  if (!version) throw new RheoError('BAD_REQUEST', 'name the request (request id) or the version whose pending request it is');
  if (!model.versions.has(version)) throw rheoError('MODEL_NOT_FOUND', { subject: `${model.name}@${version}` });
  const pending = [...model.requests.values()].filter((r) => r.version === version && r.status === 'PENDING');
  if (pending.length === 0)
    throw new RheoError('ILLEGAL_TRANSITION', `${model.name}@${version} has no pending transition request`);
  return pending[pending.length - 1] as (typeof pending)[number];
}

/** The version that was production just before the current one. */
export function previousProduction(model: ModelState): string | undefined {
  const current = model.traffic.production_version;
  for (let i = model.productionHistory.length - 1; i >= 0; i--) {
    const period = model.productionHistory[i];
    if (period && period.version !== current) return period.version;
  }
  return undefined;
}
