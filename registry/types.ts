/**
 * The registry's folded state: what the `models.lifecycle` log says about every model, version,
 * request, route and alias. Values are immutable snapshots — the fold returns a new state and shares
 * what did not change — so a reader holding a state never sees it change under it.
 */
import type {
  Stage as AvroStage,
  ChecklistItem,
  ModelLifecycleEvent,
  ModelVersionRegistered,
  TrafficPolicy,
} from '../schemas/index.ts';

export type { ModelLifecycleEvent, ModelVersionRegistered, TrafficPolicy };

/** A known stage (the Avro enum without UNKNOWN). */
export type Stage = Exclude<AvroStage, 'UNKNOWN'>;
export const STAGES: readonly Stage[] = ['DEVELOPMENT', 'STAGING', 'PRODUCTION', 'ARCHIVED'];

export interface StageEntry {
  readonly stage: Stage;
  readonly at: number;
  readonly actor: string;
  readonly requestId: string | null;
  readonly eventId: string;
}

export interface VersionState {
  readonly model: string;
  readonly version: string;
  readonly stage: Stage;
  readonly spec: ModelVersionRegistered;
  readonly registeredAt: number;
  readonly registeredBy: string;
  /** Every stage the version went through, oldest first (registration is the first entry). */
  readonly stages: readonly StageEntry[];
}

export type RequestStatus = 'PENDING' | 'APPROVED' | 'REJECTED' | 'COMPLETED' | 'STALE';

export interface TransitionRequestState {
  readonly requestId: string;
  readonly model: string;
  readonly version: string;
  readonly from: Stage;
  readonly to: Stage;
  readonly requestedBy: string;
  readonly requestedAt: number;
  readonly reason: string | null;
  readonly checklist: readonly ChecklistItem[];
  readonly status: RequestStatus;
  readonly decidedBy: string | null;
  readonly decidedAt: number | null;
  readonly decisionReason: string | null;
  /** The approver's checklist, when approved. */
  readonly approvedChecklist: readonly ChecklistItem[] | null;
}

/** A stretch of time during which one version was the production version. */
export interface ProductionPeriod {
  readonly version: string;
  readonly from: number;
  /** When it stopped being production; null while it still is. */
  readonly to: number | null;
  readonly via: 'promotion' | 'rollback';
  readonly actor: string;
  readonly requestId: string | null;
  readonly requestedBy: string | null;
  readonly approvedBy: string | null;
  readonly eventId: string;
}

export interface TrafficEntry {
  readonly at: number;
  readonly actor: string;
  readonly eventId: string;
  readonly kind: 'TRAFFIC_SET' | 'ROLLED_BACK' | 'STAGE_CHANGED';
  readonly policy: TrafficPolicy;
}

export interface ModelState {
  readonly name: string;
  /** By version, in registration order. */
  readonly versions: ReadonlyMap<string, VersionState>;
  /** By request id, in request order. */
  readonly requests: ReadonlyMap<string, TransitionRequestState>;
  /** The routing policy in force; `production_version` is always the one PRODUCTION version (or null). */
  readonly traffic: TrafficPolicy;
  readonly aliases: ReadonlyMap<string, string>;
  readonly productionHistory: readonly ProductionPeriod[];
  readonly trafficHistory: readonly TrafficEntry[];
  readonly eventCount: number;
  readonly lastEventTime: number;
  readonly seen: ReadonlySet<string>;
}

/** An event the fold did not apply, and why (a duplicate, an unknown type, or a rule it breaks). */
export interface IgnoredEvent {
  readonly eventId: string;
  readonly model: string;
  readonly eventType: string;
  readonly reason: string;
}

export interface RegistryState {
  readonly models: ReadonlyMap<string, ModelState>;
  /** Events applied so far, in log order. */
  readonly applied: number;
  readonly ignored: readonly IgnoredEvent[];
}

/** Rules every reader of the log must share, or their folds would differ. */
export interface RegistryPolicy {
  /** Stages that need an approval by someone other than the requester. */
  protectedStages: readonly Stage[];
}

export const DEFAULT_POLICY: RegistryPolicy = { protectedStages: ['PRODUCTION'] };

export function emptyTraffic(): TrafficPolicy {
  return { production_version: null, canary: null, ab_split: null, shadow_versions: [] };
}

export function emptyState(): RegistryState {
  return { models: new Map(), applied: 0, ignored: [] };
}
