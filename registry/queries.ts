/** Questions answered from the folded state: who was in production when, what a name points to, summaries for the CLI and gateway. */
import { rheoError } from '../kernel/errors.ts';
import { compareSemver, isSemver } from './rules.ts';
import type { ModelState, ProductionPeriod, RegistryState, VersionState } from './types.ts';

/** Which version was in production at time `t` (epoch ms), and who requested and approved it; undefined when none was. */
export function productionAt(state: RegistryState, model: string, t: number): ProductionPeriod | undefined {
  const m = state.models.get(model);
  if (!m) return undefined;
  return m.productionHistory.find((p) => p.from <= t && (p.to === null || t < p.to));
}

export function requireModel(state: RegistryState, name: string): ModelState {
  const model = state.models.get(name);
  if (!model) throw rheoError('MODEL_NOT_FOUND', { subject: `model ${name}` });
  return model;
}

/**
 * A version reference to a version: a semantic version, an alias (e.g. `champion`), `production`
 * or `latest` (the highest registered version).
 */
export function resolveVersion(model: ModelState, ref: string): VersionState {
  let version: string | undefined;
  if (isSemver(ref)) version = ref;
  else if (ref === 'production') version = model.traffic.production_version ?? undefined;
  else if (ref === 'latest') version = sortedVersions(model).at(-1)?.version;
  else version = model.aliases.get(ref);
  const found = version === undefined ? undefined : model.versions.get(version);
  if (!found) throw rheoError('MODEL_NOT_FOUND', { subject: `${model.name}@${ref}` });
  return found;
}

export function sortedVersions(model: ModelState): VersionState[] {
  return [...model.versions.values()].sort((a, b) => compareSemver(a.version, b.version));
}

/** One line per model, for `rheo models list` and `GET /v1/models`. */
export function modelSummary(model: ModelState) {
  const t = model.traffic;
  return {
    name: model.name,
    versions: model.versions.size,
    latest: sortedVersions(model).at(-1)?.version ?? null,
    production: t.production_version,
    canary: t.canary ? `${t.canary.version} (${t.canary.percent}%)` : null,
    ab: t.ab_split ? `${t.ab_split.version} (${t.ab_split.percent}%)` : null,
    shadow: t.shadow_versions,
    pending_requests: [...model.requests.values()].filter((r) => r.status === 'PENDING').length,
    aliases: Object.fromEntries(model.aliases),
    last_event_time: model.lastEventTime,
  };
}

/** Everything about a model, JSON-ready, for `rheo models describe` and `GET /v1/models/:name`. */
export function modelDetail(model: ModelState) {
  return {
    ...modelSummary(model),
    traffic: model.traffic,
    versions: sortedVersions(model).map(versionDetail),
    requests: [...model.requests.values()],
    production_history: model.productionHistory,
    traffic_history: model.trafficHistory,
  };
}

export function versionDetail(v: VersionState) {
  return {
    version: v.version,
    stage: v.stage,
    registered_at: v.registeredAt,
    registered_by: v.registeredBy,
    artifact_uri: v.spec.artifact_uri,
    sha256: v.spec.sha256,
    size_bytes: v.spec.size_bytes,
    inputs: v.spec.inputs,
    outputs: v.spec.outputs,
    metrics: v.spec.metrics,
    params: v.spec.params,
    lineage: v.spec.lineage,
    model_card: v.spec.model_card,
    author: v.spec.author,
    stages: v.stages,
  };
}
