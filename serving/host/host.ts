/**
 * The model host, shared by the gateway and the scorers: it turns the registry state into serving
 * tables. For each model it loads every version the traffic policy names — fetch, verify sha256,
 * create the session, check it against the registered schema, warm it up — off the request path, and
 * only then swaps the model's table in one assignment. Readers take the table once per request, so a
 * request sees either the old policy or the new one, never a mix.
 *
 * A version that fails to load (tampered artifact, bad graph) is refused, logged and counted; the
 * previous table keeps serving, and the load is retried after `retryDelayMs`. Sessions no table
 * needs are evicted least-recently-used beyond `maxSessions`.
 */
import { errorMessage, RheoError, rheoError } from '../../kernel/errors.ts';
import type { Logger } from '../../kernel/log.ts';
import type { Registry } from '../../kernel/metrics.ts';
import { resolveVersion } from '../../registry/queries.ts';
import type { RegistryState } from '../../registry/types.ts';
import type { ModelVersionRegistered, TrafficPolicy } from '../../schemas/index.ts';
import type { ArtifactResolver } from '../artifacts/store.ts';
import { versionsToServe } from '../routing.ts';
import { createHostMetrics, type HostMetrics } from './metrics.ts';
import { DEFAULT_SESSION_SETTINGS, LoadedModel, type SessionSettings } from './session.ts';

/** What one model serves right now. Immutable; replaced whole on every swap. */
export interface ServingTable {
  readonly model: string;
  /** The policy in force here (the registry's, minus routes whose version could not be loaded). */
  readonly policy: TrafficPolicy;
  /** The registry's policy this table was built for. */
  readonly wanted: TrafficPolicy;
  readonly versions: ReadonlyMap<string, LoadedModel>;
  readonly since: number;
}

export interface ModelStatus {
  model: string;
  /** Production version in the registry. */
  production: string | null;
  /** Production version this instance answers with. */
  serving: string | null;
  /** True when the table matches the registry's policy exactly. */
  current: boolean;
  problems: string[];
}

export interface HostOptions {
  artifacts: ArtifactResolver;
  logger: Logger;
  metrics: Registry;
  maxSessions?: number;
  session?: Partial<SessionSettings>;
  /** How long a failed version load is remembered before it is tried again. */
  retryDelayMs?: number;
  /** Which models this instance serves (a serving pool); default every model in the registry. */
  serves?: (model: string) => boolean;
}

interface Failure {
  error: RheoError;
  at: number;
}

const sameTraffic = (a: TrafficPolicy, b: TrafficPolicy) => JSON.stringify(a) === JSON.stringify(b);

export class ModelHost {
  readonly #artifacts: ArtifactResolver;
  readonly #log: Logger;
  readonly #metrics: HostMetrics;
  readonly #maxSessions: number;
  readonly #settings: SessionSettings;
  readonly #retryDelayMs: number;
  readonly #serves: (model: string) => boolean;
  readonly #tables = new Map<string, ServingTable>();
  readonly #sessions = new Map<string, LoadedModel>();
  readonly #loading = new Map<string, Promise<LoadedModel>>();
  readonly #failures = new Map<string, Failure>();
  readonly #problems = new Map<string, string[]>();
  readonly #listeners = new Set<(table: ServingTable | undefined, model: string) => void>();
  #state: RegistryState | undefined;
  #reconciled: RegistryState | undefined;
  #loop: Promise<void> | undefined;
  #retryTimer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(options: HostOptions) {
    this.#artifacts = options.artifacts;
    this.#log = options.logger.child({ component: 'model-host' });
    this.#metrics = createHostMetrics(options.metrics);
    this.#maxSessions = options.maxSessions ?? 8;
    this.#retryDelayMs = options.retryDelayMs ?? 30_000;
    this.#serves = options.serves ?? (() => true);
    const onBatch = (rows: number, seconds: number) => {
      this.#metrics.batchRows.observe(rows);
      this.#metrics.inferenceSeconds.observe(seconds);
    };
    this.#settings = { ...DEFAULT_SESSION_SETTINGS, onBatch, ...options.session };
  }

  /** Whether this instance serves `model` at all (its serving pool). */
  serves(model: string): boolean {
    return this.#serves(model);
  }

  /** The registry state last handed to `update`. */
  get state(): RegistryState | undefined {
    return this.#state;
  }

  /** Reconciles the tables with `state`; resolves once this state (or a newer one) is in force. */
  update(state: RegistryState): Promise<void> {
    this.#state = state;
    this.#loop ??= this.#run().finally(() => {
      this.#loop = undefined;
    });
    return this.#loop;
  }

  async #run(): Promise<void> {
    while (!this.#closed && this.#state && this.#state !== this.#reconciled) {
      const state = this.#state;
      try {
        await this.#reconcile(state);
      } catch (error) {
        this.#log.error({ err: error }, 'reconciling model tables failed');
      }
      this.#reconciled = state;
    }
  }

  /** The table a request should use (take it once per request). */
  table(model: string): ServingTable | undefined {
    return this.#tables.get(model);
  }

  tables(): ServingTable[] {
    return [...this.#tables.values()];
  }

  /** Called after every swap (or removal) of a model's table. */
  onSwap(listener: (table: ServingTable | undefined, model: string) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * A specific version (by number, alias, `production` or `latest`), for pinned requests: served
   * from memory when loaded, otherwise loaded now (the caller waits; routed traffic never does).
   */
  async version(model: string, ref: string): Promise<LoadedModel> {
    const state = this.#state;
    const m = state?.models.get(model);
    if (!m) throw rheoError('MODEL_NOT_FOUND', { subject: `model ${model}` });
    if (!this.#serves(model)) throw new RheoError('MODEL_NOT_SERVING', `model ${model} is not served by this instance`);
    const v = resolveVersion(m, ref);
    return this.#ensure(model, v.version, v.spec);
  }

  /** Ready when every model with a production version has a table to answer from. */
  status(): { ready: boolean; folded: boolean; models: ModelStatus[] } {
    const state = this.#state;
    const models: ModelStatus[] = [];
    let ready = state !== undefined && this.#reconciled !== undefined;
    for (const m of state?.models.values() ?? []) {
      if (!this.#serves(m.name)) continue;
      const production = m.traffic.production_version;
      const table = this.#tables.get(m.name);
      if (production === null && !table) continue;
      const serving = table?.policy.production_version ?? null;
      if (production !== null && !table) ready = false;
      models.push({
        model: m.name,
        production,
        serving,
        current: table ? sameTraffic(table.policy, m.traffic) : production === null,
        problems: this.#problems.get(m.name) ?? [],
      });
    }
    return { ready, folded: state !== undefined, models };
  }

  async #reconcile(state: RegistryState): Promise<void> {
    let failed = false;
    for (const model of state.models.values()) {
      if (this.#closed) return;
      if (!this.#serves(model.name)) continue;
      const wanted = model.traffic;
      const current = this.#tables.get(model.name);
      if (wanted.production_version === null) {
        if (current) this.#swap(model.name, undefined);
        continue;
      }
      if (current && sameTraffic(current.wanted, wanted) && sameTraffic(current.policy, wanted)) continue;
      if (current && sameTraffic(current.wanted, wanted) && !this.#retryDue(model.name, wanted)) {
        failed = true;
        continue;
      }
      const loaded = new Map<string, LoadedModel>();
      const problems: string[] = [];
      const failedVersions = new Set<string>();
      for (const version of versionsToServe(wanted)) {
        const v = model.versions.get(version);
        if (!v) continue;
        try {
          loaded.set(version, await this.#ensure(model.name, version, v.spec));
        } catch (error) {
          failedVersions.add(version);
          problems.push(`${version}: ${errorMessage(error)}`);
        }
      }
      this.#problems.set(model.name, problems);
      if (problems.length > 0) failed = true;
      const production = wanted.production_version;
      if (failedVersions.has(production)) {
        this.#log.error(
          { model: model.name, wanted: production, serving: current?.policy.production_version ?? null, problems },
          current
            ? 'new production version refused; the previous version keeps serving'
            : 'production version cannot be loaded; model not served',
        );
        continue;
      }
      const policy: TrafficPolicy = {
        production_version: production,
        canary: wanted.canary && !failedVersions.has(wanted.canary.version) ? wanted.canary : null,
        ab_split: wanted.ab_split && !failedVersions.has(wanted.ab_split.version) ? wanted.ab_split : null,
        shadow_versions: wanted.shadow_versions.filter((v) => !failedVersions.has(v)),
      };
      this.#swap(model.name, { model: model.name, policy, wanted, versions: loaded, since: Date.now() });
    }
    for (const name of this.#tables.keys()) if (!state.models.has(name)) this.#swap(name, undefined);
    this.#evict();
    if (failed) this.#scheduleRetry();
  }

  #retryDue(model: string, wanted: TrafficPolicy): boolean {
    const now = Date.now();
    return versionsToServe(wanted).some((version) => {
      const failure = [...this.#failures.entries()].find(([key]) => key.startsWith(`${model}@${version}#`))?.[1];
      return failure !== undefined && now - failure.at >= this.#retryDelayMs;
    });
  }

  #scheduleRetry(): void {
    if (this.#retryTimer || this.#closed) return;
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      if (this.#state) {
        this.#reconciled = undefined;
        void this.update(this.#state);
      }
    }, this.#retryDelayMs);
    this.#retryTimer.unref();
  }

  #swap(model: string, table: ServingTable | undefined): void {
    const previous = this.#tables.get(model);
    if (table) this.#tables.set(model, table);
    else this.#tables.delete(model);
    // Info-style gauge: drop the old label sets, set the new ones.
    if (previous)
      for (const [version, variant] of variants(previous.policy)) this.#metrics.serving.remove({ model, version, variant });
    if (table) for (const [version, variant] of variants(table.policy)) this.#metrics.serving.set({ model, version, variant }, 1);
    this.#metrics.swaps.inc({ model });
    this.#log.info(
      { model, policy: table?.policy ?? null, previous: previous?.policy.production_version ?? null },
      table ? 'routing table swapped' : 'model no longer served',
    );
    for (const listener of this.#listeners) {
      try {
        listener(table, model);
      } catch (error) {
        this.#log.warn({ err: error }, 'swap listener failed');
      }
    }
  }

  async #ensure(model: string, version: string, spec: ModelVersionRegistered): Promise<LoadedModel> {
    const key = `${model}@${version}#${spec.sha256}`;
    const loaded = this.#sessions.get(key);
    if (loaded) return loaded;
    const failure = this.#failures.get(key);
    if (failure && Date.now() - failure.at < this.#retryDelayMs) throw failure.error;
    let pending = this.#loading.get(key);
    if (!pending) {
      pending = this.#load(model, version, spec, key).finally(() => this.#loading.delete(key));
      this.#loading.set(key, pending);
    }
    return pending;
  }

  async #load(model: string, version: string, spec: ModelVersionRegistered, key: string): Promise<LoadedModel> {
    const started = performance.now();
    try {
      const bytes = await this.#artifacts.get(spec.artifact_uri, { sha256: spec.sha256, size: spec.size_bytes });
      const session = await LoadedModel.load(model, version, spec, bytes, this.#settings);
      this.#sessions.set(key, session);
      this.#failures.delete(key);
      this.#metrics.loads.inc({ model, version, outcome: 'loaded' });
      this.#metrics.sessions.set(this.#sessions.size);
      this.#metrics.loadSeconds.observe({ model }, (performance.now() - started) / 1000);
      this.#log.info(
        { model, version, sha256: spec.sha256, ms: Math.round(performance.now() - started) },
        'model version loaded and warmed up',
      );
      return session;
    } catch (error) {
      const rheo =
        error instanceof RheoError
          ? error
          : new RheoError('MODEL_INVALID', `${model}@${version}: ${errorMessage(error)}`, { cause: error });
      this.#failures.set(key, { error: rheo, at: Date.now() });
      this.#metrics.loads.inc({ model, version, outcome: rheo.code });
      this.#log.error({ model, version, code: rheo.code, err: rheo.message, uri: spec.artifact_uri }, 'model version refused');
      throw rheo;
    }
  }

  #evict(): void {
    if (this.#sessions.size <= this.#maxSessions) return;
    const inUse = new Set<LoadedModel>();
    for (const table of this.#tables.values()) for (const s of table.versions.values()) inUse.add(s);
    const idle = [...this.#sessions.entries()]
      .filter(([, s]) => !inUse.has(s) && Date.now() - s.lastUsed > 1_000)
      .sort(([, a], [, b]) => a.lastUsed - b.lastUsed);
    for (const [key, session] of idle) {
      if (this.#sessions.size <= this.#maxSessions) break;
      this.#sessions.delete(key);
      void session.dispose();
      this.#log.info({ model: session.model, version: session.version }, 'session evicted (LRU)');
    }
    this.#metrics.sessions.set(this.#sessions.size);
  }

  /** Loaded sessions (for status pages and tests). */
  sessions(): Array<{ model: string; version: string; lastUsed: number }> {
    return [...this.#sessions.values()].map((s) => ({ model: s.model, version: s.version, lastUsed: s.lastUsed }));
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#retryTimer) clearTimeout(this.#retryTimer);
    await this.#loop?.catch(() => undefined);
    const sessions = [...this.#sessions.values()];
    this.#sessions.clear();
    this.#tables.clear();
    await Promise.all(sessions.map((s) => s.dispose()));
  }
}

function variants(policy: TrafficPolicy): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  if (policy.production_version) out.push([policy.production_version, 'PRODUCTION']);
  if (policy.canary) out.push([policy.canary.version, 'CANARY']);
  if (policy.ab_split) out.push([policy.ab_split.version, 'CHALLENGER']);
  for (const v of policy.shadow_versions) out.push([v, 'SHADOW']);
  return out;
}
