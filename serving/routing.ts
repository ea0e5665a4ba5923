/**
 * Traffic routing, pure and shared by the gateway, the streaming scorer and the batch scorer, so an
 * entity gets the same version on every path. Each route draws a bucket in [0, 10000) from a stable
 * hash of (salt, entity id): FNV-1a 32 over the UTF-8 bytes of `<salt>:<entity id>`, finished with
 * murmur3's fmix32 avalanche. The canary's salt is `canary:<version>` (so raising its percent only adds
 * entities, and a new canary version reshuffles); the A/B split uses the salt in its policy.
 *
 * Order: the canary takes its share of entities first; of the entities outside it, the A/B challenger
 * takes its share (the two hashes are independent); everyone else gets production. Shadow versions
 * score every routed request.
 */
import type { ServingVariant, TrafficPolicy } from '../schemas/index.ts';

export type Variant = Exclude<ServingVariant, 'UNKNOWN'>;

export interface Route {
  readonly version: string;
  readonly variant: Variant;
}

export interface RoutingDecision {
  /** The version whose answer is returned. */
  readonly primary: Route;
  /** Versions scored in the background and logged, never returned. */
  readonly shadows: readonly Route[];
}

export const BUCKETS = 10_000;

const encoder = new TextEncoder();

export function fnv1a32(bytes: Uint8Array): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) {
    hash ^= bytes[i] as number;
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

function fmix32(h: number): number {
  let x = h;
  x ^= x >>> 16;
  x = Math.imul(x, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  x ^= x >>> 16;
  return x >>> 0;
}

/** The entity's bucket in [0, 10000) under `salt`. Stable across processes, machines and releases. */
export function bucket(salt: string, entityId: string): number {
  return fmix32(fnv1a32(encoder.encode(`${salt}:${entityId}`))) % BUCKETS;
}

/** Whether the entity falls in the first `percent` % of buckets under `salt`. */
export function inShare(salt: string, entityId: string, percent: number): boolean {
  return bucket(salt, entityId) < Math.round(percent * (BUCKETS / 100));
}

export function canarySalt(version: string): string {
  return `canary:${version}`;
}

const NO_SHADOWS: readonly Route[] = [];

/** Where one entity's request goes under `policy`; null when the model has no production version. */
export function route(policy: TrafficPolicy, entityId: string): RoutingDecision | null {
  const production = policy.production_version;
  if (production === null) return null;
  const shadows =
    policy.shadow_versions.length === 0
      ? NO_SHADOWS
      : policy.shadow_versions.map((version): Route => ({ version, variant: 'SHADOW' }));
  const canary = policy.canary;
  if (canary && inShare(canarySalt(canary.version), entityId, canary.percent)) {
    return { primary: { version: canary.version, variant: 'CANARY' }, shadows };
  }
  const ab = policy.ab_split;
  if (ab && inShare(ab.salt, entityId, ab.percent)) {
    return { primary: { version: ab.version, variant: 'CHALLENGER' }, shadows };
  }
  return { primary: { version: production, variant: 'PRODUCTION' }, shadows };
}

/** Every version a policy needs loaded to serve: production first, then canary, challenger and shadows. */
export function versionsToServe(policy: TrafficPolicy): string[] {
  if (policy.production_version === null) return [];
  const out = [policy.production_version];
  if (policy.canary) out.push(policy.canary.version);
  if (policy.ab_split) out.push(policy.ab_split.version);
  out.push(...policy.shadow_versions);
  return [...new Set(out)];
}
