/**
 * Carrying out the gate's decision through the registry, as lifecycle events that carry the
 * evidence (the checks with their numbers, as reason and checklist):
 *
 * - `register`: nothing more; the REGISTERED event's reason already states the verdict.
 * - `stage`: STAGE_CHANGED → STAGING (an unprotected stage needs no approval).
 * - `rollout`: STAGING too; the rollout controller (`serving/rollout/`) then takes the version
 *   through shadow, canary and promotion by the model's rollout policy, on live evidence.
 * - `canary`: STAGING, then TRAFFIC_SET with a canary route at the policy's percent.
 * - `promote`: TRANSITION_REQUESTED → PRODUCTION by the trainer, with one checklist item per check,
 *   then TRANSITION_APPROVED by the quality gate (a different actor, as protected stages require),
 *   every item confirmed, and STAGE_CHANGED. Auto-promotion is a per-model policy: the owner
 *   delegates that approval to the gate.
 *
 * Each step looks at the folded state first, so carrying out a decision twice (a redelivered
 * request) changes nothing the second time.
 */

import type { RegistryCommand } from '../registry/commands.ts';
import type { RegistryWriter } from '../registry/writer.ts';
import type { GateAction, GateCheck } from './gate.ts';

export const TRAINER_ACTOR = 'service:trainer';
export const GATE_ACTOR = 'service:quality-gate';

export interface Decision {
  action: GateAction;
  canaryPercent: number | null;
  checks: readonly GateCheck[];
  reason: string;
}

/** Applies the decision; returns the event types it produced (empty when everything was already in place). */
export async function applyDecision(
  registry: RegistryWriter,
  model: string,
  version: string,
  decision: Decision,
): Promise<string[]> {
  const produced: string[] = [];
  const run = async (command: RegistryCommand) => {
    const { events } = await registry.execute(command);
    produced.push(...events.map((e) => e.event_type));
  };
  const current = () => registry.state.models.get(model)?.versions.get(version);
  const reason = decision.reason;
  if (decision.action === 'register') return produced;

  if (decision.action === 'stage' || decision.action === 'rollout' || decision.action === 'canary') {
    if (current()?.stage === 'DEVELOPMENT')
      await run({ kind: 'stage', model, version, to: 'STAGING', actor: TRAINER_ACTOR, reason });
    if (decision.action === 'canary') {
      const traffic = registry.state.models.get(model)?.traffic;
      if (traffic?.canary?.version !== version || traffic.canary.percent !== decision.canaryPercent) {
        await run({
          kind: 'traffic',
          model,
          actor: TRAINER_ACTOR,
          canary: { version, percent: decision.canaryPercent ?? 10 },
          reason,
        });
      }
    }
    return produced;
  }

  // promote
  if (current()?.stage === 'PRODUCTION') return produced;
  const pending = [...(registry.state.models.get(model)?.requests.values() ?? [])].find(
    (r) => r.version === version && r.to === 'PRODUCTION' && r.status === 'PENDING' && r.requestedBy === TRAINER_ACTOR,
  );
  let requestId = pending?.requestId;
  if (!requestId) {
    const { events } = await registry.execute({
      kind: 'request',
      model,
      version,
      to: 'PRODUCTION',
      actor: TRAINER_ACTOR,
      reason,
      checklist: decision.checks.map((c) => `${c.item} — ${c.note}`),
    });
    produced.push(...events.map((e) => e.event_type));
    requestId = events[0]?.transition?.request_id;
  }
  await run({ kind: 'approve', model, actor: GATE_ACTOR, ...(requestId ? { requestId } : { version }), confirm: true, reason });
  return produced;
}
