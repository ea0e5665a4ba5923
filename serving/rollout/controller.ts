/**
 * The rollout controller service: takes each of the project's models from "staged by the trainer" to
 * "in production" by its declared rollout policy (`policy.ts`), on live evidence from ClickHouse
 * (`evidence.ts`), every step one or two events on `models.lifecycle` by `system:rollout-controller`
 * whose reason carries the evidence.
 *
 * On the one runner: the controller is a consumer-group member on `models.lifecycle` (one partition),
 * so exactly one instance owns it at a time and acts; the others stand by and take over when its
 * session ends (kill -9 included). Its state is the fold of the log (the registry follower), so a new
 * owner resumes where the log says. A tick (a punctuation, and after each new lifecycle event) folds,
 * derives each model's phase, reads the evidence the phase needs, and takes at most one step per model,
 * re-deriving the phase just before acting so a step is never taken twice.
 */
import type { ClickHouseClient } from '../../kernel/clients.ts';
import { createClickHouse } from '../../kernel/clients.ts';
import type { RheoConfig } from '../../kernel/config.ts';
import { errorMessage } from '../../kernel/errors.ts';
import { createKafka } from '../../kernel/kafka.ts';
import type { Logger } from '../../kernel/log.ts';
import { Counter, Gauge, type Registry } from '../../kernel/metrics.ts';
import { duration, type Environment, load, processEnvironment, variable } from '../../kernel/settings.ts';
import type { RolloutPolicy } from '../../projects/declaration.ts';
import { RegistryClient } from '../../registry/client.ts';
import type { ModelState } from '../../registry/types.ts';
import type { RunnableService, ServiceEnvironment } from '../../runtime/main.ts';
import { ProcessorRunner, type RunnerOptions } from '../../runtime/runner.ts';
import type { ProcessorSpec } from '../../runtime/types.ts';
import { SchemaCodec } from '../../schemas/index.ts';
import { TOPICS } from '../../topics/catalogue.ts';
import { readEvidence } from './evidence.ts';
import {
  evidenceFor,
  nextStep,
  ROLLOUT_ACTOR,
  ROLLOUT_POLICY_ACTOR,
  type RolloutPhase,
  type RolloutStep,
  rolloutPhase,
} from './policy.ts';

export const ROLLOUT_SETTINGS = {
  RHEO_ROLLOUT_INTERVAL_MS: variable(duration(100, 3_600_000), {
    default: 5_000,
    description: 'how often the rollout controller re-evaluates every model (it also does after each lifecycle event)',
  }),
  RHEO_ROLLOUT_SESSION_TIMEOUT_MS: variable(duration(6_000, 300_000), {
    default: 10_000,
    description: 'how long a killed rollout controller holds ownership before a standby takes over',
  }),
} as const;

export interface RolloutSettings {
  intervalMs: number;
  sessionTimeoutMs: number;
}

export function loadRolloutSettings(env: Environment = processEnvironment()): RolloutSettings {
  const e = load(ROLLOUT_SETTINGS, env);
  return { intervalMs: e.RHEO_ROLLOUT_INTERVAL_MS, sessionTimeoutMs: e.RHEO_ROLLOUT_SESSION_TIMEOUT_MS };
}

interface RolloutMetrics {
  steps: Counter<'model' | 'action'>;
  ticks: Counter<'outcome'>;
  canaryPercent: Gauge<'model'>;
  waitingApproval: Gauge<'model'>;
  owner: Gauge;
}

function rolloutMetrics(registry: Registry): RolloutMetrics {
  const registers = [registry];
  return {
    steps: new Counter({
      name: 'rheo_rollout_steps_total',
      help: 'Rollout steps taken, by model and action (start-shadow, start-canary, raise-canary, promote, request-approval, roll-back)',
      labelNames: ['model', 'action'],
      registers,
    }),
    ticks: new Counter({
      name: 'rheo_rollout_ticks_total',
      help: 'Evaluations of every model, by outcome (ok, failed)',
      labelNames: ['outcome'],
      registers,
    }),
    canaryPercent: new Gauge({
      name: 'rheo_rollout_canary_percent',
      help: 'Share of requests the canary answers (0 when none)',
      labelNames: ['model'],
      registers,
    }),
    waitingApproval: new Gauge({
      name: 'rheo_rollout_waiting_approval',
      help: '1 while a promotion the controller requested waits for a person',
      labelNames: ['model'],
      registers,
    }),
    owner: new Gauge({
      name: 'rheo_rollout_owner',
      help: '1 while this instance owns the controller partition and acts',
      registers,
    }),
  };
}

export interface RolloutControllerDeps {
  registry: RegistryClient;
  clickhouse: Pick<ClickHouseClient, 'query'>;
  database: string;
  /** Declared rollout policies, by model name: the controller touches no other model. */
  policies: ReadonlyMap<string, RolloutPolicy>;
  logger: Logger;
  metrics: Registry;
  now?: () => number;
  /** Whether this instance owns the controller partition right now; checked again just before acting. */
  owns?: () => boolean;
}

/** One evaluation of every model (exported for tests: the service runs it as a punctuation). */
export class RolloutController {
  readonly #deps: RolloutControllerDeps;
  readonly #metrics: RolloutMetrics;
  readonly #log: Logger;
  /** The last thing said of each model while it waits, so the log says it once, not every tick. */
  readonly #said = new Map<string, string>();

  constructor(deps: RolloutControllerDeps) {
    this.#deps = deps;
    this.#metrics = rolloutMetrics(deps.metrics);
    this.#log = deps.logger.child({ component: 'rollout-controller' });
  }

  set owner(owns: boolean) {
    this.#metrics.owner.set(owns ? 1 : 0);
  }

  /** Evaluates every declared model once; returns the steps taken. */
  async tick(signal?: AbortSignal): Promise<Array<{ model: string; step: RolloutStep }>> {
    const taken: Array<{ model: string; step: RolloutStep }> = [];
    try {
      await this.#deps.registry.follower.waitUntilCaughtUp(30_000);
      for (const [name, policy] of this.#deps.policies) {
        if (signal?.aborted) break;
        const step = await this.#evaluate(name, policy);
        if (step?.kind === 'act') taken.push({ model: name, step });
      }
      this.#metrics.ticks.inc({ outcome: 'ok' });
    } catch (error) {
      this.#metrics.ticks.inc({ outcome: 'failed' });
      throw error;
    }
    return taken;
  }

  async #evaluate(name: string, policy: RolloutPolicy): Promise<RolloutStep | undefined> {
    const model = this.#deps.registry.state.models.get(name);
    if (!model) return undefined;
    const phase = rolloutPhase(model);
    this.#metrics.canaryPercent.set({ model: name }, model.traffic.canary?.percent ?? 0);
    this.#metrics.waitingApproval.set({ model: name }, phase.kind === 'awaiting-approval' ? 1 : 0);
    const request = evidenceFor(phase);
    const now = (this.#deps.now ?? Date.now)();
    const evidence = request
      ? await readEvidence(this.#deps.clickhouse, this.#deps.database, name, policy.promote.metric, request, now)
      : undefined;
    const step = nextStep(phase, policy, evidence, now);
    if (step.kind === 'wait') {
      if (this.#said.get(name) !== step.why) {
        this.#said.set(name, step.why);
        // Waiting on a person is news; the rest is progress.
        const level = phase.kind === 'awaiting-approval' ? 'warn' : phase.kind === 'idle' ? 'debug' : 'info';
        this.#log[level]({ model: name, phase: phase.kind }, step.why);
      }
      return step;
    }
    // The log may have moved while we read ClickHouse (a person, or another instance): act only on the phase we judged.
    await this.#deps.registry.follower.waitUntilCaughtUp(30_000);
    const current = this.#deps.registry.state.models.get(name);
    if (!current || !samePhase(phase, rolloutPhase(current))) return undefined;
    if (this.#deps.owns && !this.#deps.owns()) return undefined;
    await this.#act(current, step);
    this.#said.delete(name);
    this.#metrics.steps.inc({ model: name, action: step.action });
    this.#log.info({ model: name, action: step.action, version: step.candidate, evidence: step.evidence }, step.reason);
    return step;
  }

  async #act(model: ModelState, step: Extract<RolloutStep, { kind: 'act' }>): Promise<void> {
    const registry = this.#deps.registry;
    const reason = `${step.reason} | evidence ${JSON.stringify(step.evidence)}`;
    const name = model.name;
    if (step.traffic) {
      const { canary, shadow } = step.traffic;
      const shadows = model.traffic.shadow_versions;
      await registry.execute({
        kind: 'traffic',
        model: name,
        actor: ROLLOUT_ACTOR,
        ...(canary !== undefined ? { canary } : {}),
        ...(shadow === 'add' ? { shadow: [...shadows.filter((v) => v !== step.candidate), step.candidate] } : {}),
        ...(shadow === 'remove' ? { shadow: shadows.filter((v) => v !== step.candidate) } : {}),
        reason,
      });
    }
    if (step.archive)
      await registry.execute({ kind: 'archive', model: name, version: step.candidate, actor: ROLLOUT_ACTOR, reason });
    if (step.promote) {
      const { events } = await registry.execute({
        kind: 'request',
        model: name,
        version: step.candidate,
        to: 'PRODUCTION',
        actor: ROLLOUT_ACTOR,
        reason,
        checklist: step.promote.checklist,
      });
      const requestId = events[0]?.transition?.request_id ?? undefined;
      if (step.promote.approve)
        await registry.execute({
          kind: 'approve',
          model: name,
          actor: ROLLOUT_POLICY_ACTOR,
          ...(requestId ? { requestId } : { version: step.candidate }),
          confirm: true,
          reason: `approval delegated to the rollout policy (requireApproval: false): ${step.reason}`,
        });
    }
  }
}

function samePhase(a: RolloutPhase, b: RolloutPhase): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/**
 * The controller as a runner processor: its input is only ownership. The records mark the partition
 * as this member's and, once committed, wake the tick; the tick itself runs on the service's timer
 * while the member owns the partition (a partition with no new records still has an owner).
 */
export function rolloutControllerSpec(wake: () => void): ProcessorSpec<null, never> {
  return {
    name: 'rollout-controller',
    inputs: [TOPICS.modelsLifecycle],
    // The fold comes from the registry follower; the records here need no decoding.
    decode: () => null,
    policies: { decode: 'continue', process: 'continue' },
    supply: () => ({ transform: () => ({ writes: [], rejected: [] }), committed: wake }),
  };
}

export async function createRolloutController(
  config: RheoConfig,
  deps: { logger: Logger; metrics: Registry; policies: ReadonlyMap<string, RolloutPolicy> },
  options: Partial<RunnerOptions> & { settings?: RolloutSettings } = {},
): Promise<RunnableService & { controller: RolloutController; runner: ProcessorRunner<null, never> }> {
  const { settings: given, ...runnerOptions } = options;
  const settings = given ?? loadRolloutSettings();
  const kafka = createKafka(config.kafka, deps.logger, 'rollout-controller');
  const registry = new RegistryClient({ kafka, codec: SchemaCodec.fromConfig(config.registry), logger: deps.logger });
  const clickhouse = createClickHouse(config);
  let runner: ProcessorRunner<null, never> | undefined;
  const owns = () => !!runner?.state().assigned.some((a) => a.topic === TOPICS.modelsLifecycle.name && a.partitions.length > 0);
  const controller = new RolloutController({
    registry,
    clickhouse,
    database: config.clickhouse.database,
    policies: deps.policies,
    logger: deps.logger,
    metrics: deps.metrics,
    owns,
  });
  // One tick at a time; a wake during a tick runs one more after it.
  let ticking: Promise<void> | undefined;
  let again = false;
  const log = deps.logger.child({ component: 'rollout-controller' });
  const wake = () => {
    if (ticking) {
      again = true;
      return;
    }
    const owner = owns();
    controller.owner = owner;
    if (!owner) return;
    ticking = controller
      .tick()
      .then(
        () => undefined,
        (error: unknown) => log.warn({ err: errorMessage(error) }, 'rollout evaluation failed; the next tick tries again'),
      )
      .finally(() => {
        ticking = undefined;
        if (again) {
          again = false;
          wake();
        }
      });
  };
  let timer: NodeJS.Timeout | undefined;
  const spec: ProcessorSpec<null, never> = {
    ...rolloutControllerSpec(wake),
    close: async () => {
      clearInterval(timer);
      await ticking;
      await registry.close();
      await clickhouse.close();
    },
  };
  runner = new ProcessorRunner(spec, {
    kafka,
    logger: deps.logger,
    metrics: deps.metrics,
    startFrom: 'latest',
    sessionTimeoutMs: settings.sessionTimeoutMs,
    heartbeatIntervalMs: Math.max(1_000, Math.floor(settings.sessionTimeoutMs / 5)),
    ...runnerOptions,
  });
  const started = runner;
  return {
    controller,
    runner: started,
    async start() {
      await registry.start();
      await started.start();
      timer = setInterval(wake, settings.intervalMs);
      wake();
    },
    stop: (reason) => started.stop(reason),
    finished: () => started.finished(),
    // A standby (no partition) is ready too: it takes over when the owner goes.
    readiness: () => {
      const own = started.readiness();
      const registryOk = registry.follower.caughtUp;
      return {
        ready: own.ready && registryOk,
        checks: { ...own.checks, registry: { ok: registryOk }, owner: { ok: true, detail: owns() } },
      };
    },
  };
}

/** `rheo run rollout-controller`: every model the project declares, by its rollout policy. */
export async function rolloutControllerService({
  config,
  logger,
  metrics,
  args,
  project,
}: ServiceEnvironment): Promise<RunnableService> {
  const { project: decl } = await project();
  const policies = new Map(decl.models.map((m) => [m.name, m.rollout] as const));
  logger.info({ models: [...policies.keys()] }, 'rollout controller for the project’s models');
  return createRolloutController(config, { logger, metrics, policies }, args).catch((error: unknown) => {
    logger.error({ err: errorMessage(error) }, 'rollout controller could not start');
    throw error;
  });
}
