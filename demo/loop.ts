/**
 * The closed loop, as the demo and its integration test run it. Rheo runs as services (`rheo up`);
 * the only other actors are a payment system (live traffic, `examples/fraud/traffic.ts`), a labeled
 * history loaded once, one first retraining request, and — in the second act — a person who
 * registers a deliberately worse version. Everything else happens by itself: the trainer trains v1,
 * v1 serves, labels join, the traffic shifts, drift raises a retraining request, the trainer trains v2
 * on point-in-time data up to that moment, the gate stages it, the rollout controller shadows,
 * canaries and promotes it, and later rolls the worse v3 back.
 *
 * What is printed comes from the topics as the events happen (`models.lifecycle`,
 * `training.requests`, `training.runs`, `monitoring.drift`), with the time since the loop started.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CliIO } from '../cli/command.ts';
import { main as rheo } from '../cli/main.ts';
import { labeledHistory, landLabeledHistory } from '../examples/fraud/labeled-history.ts';
import { FraudTraffic } from '../examples/fraud/traffic.ts';
import { createClickHouse } from '../kernel/clients.ts';
import type { RheoConfig } from '../kernel/config.ts';
import { createKafka, createProducer, type Kafka } from '../kernel/kafka.ts';
import type { Logger } from '../kernel/log.ts';
import { sleep } from '../kernel/retry.ts';
import { TopicFollower } from '../kernel/topic-reader.ts';
import { readQuality } from '../monitoring/quality.ts';
import {
  CONTRACTS,
  type DriftReport,
  type ModelLifecycleEvent,
  type RetrainRequest,
  SchemaCodec,
  type TrainingRunEvent,
} from '../schemas/index.ts';
import { tabularModel } from '../serving/onnx/builder.ts';
import { TOPICS } from '../topics/catalogue.ts';

export interface LoopOptions {
  /** The project folder (`--project`) and the model of it the loop follows. */
  project: string;
  model: string;
  /** Labeled history loaded before the first training. */
  historyPayments: number;
  /** Live payments per second, and the share scored through the gateway. */
  ratePerS: number;
  gatewayShare: number;
  labelDelayMs: number;
  /** How much the amounts inflate when the world shifts. */
  inflation: number;
  /** Environment of the services: drift windows, controller interval, ports. */
  serviceEnv: Record<string, string>;
  gatewayUrl: string;
  apiKey: string;
  /** Whether to run the second act (a worse v3, rolled back). */
  secondAct: boolean;
  /** Longest wait for any one milestone. */
  milestoneTimeoutMs: number;
}

/** When each milestone was seen (ms since the loop started), and the events behind them. */
export interface LoopResult {
  startedAt: number;
  milestones: Record<string, number>;
  v1: string;
  v2: string;
  v3?: string;
  driftRequest: RetrainRequest;
  lifecycle: ModelLifecycleEvent[];
}

type Seen =
  | { topic: 'lifecycle'; event: ModelLifecycleEvent }
  | { topic: 'request'; event: RetrainRequest }
  | { topic: 'run'; event: TrainingRunEvent }
  | { topic: 'drift'; event: DriftReport };

/** Follows the loop's topics from now on and keeps what it saw, so milestones can be awaited. */
class LoopWatcher {
  readonly seen: Seen[] = [];
  readonly #followers: Array<TopicFollower<unknown>> = [];
  readonly #waiters = new Set<() => void>();
  readonly #startedAt: number;
  readonly #model: string;
  readonly #say: (text: string) => void;
  /** Alerts told already (version/feature): each window repeats them. */
  readonly #alerted = new Set<string>();

  constructor(startedAt: number, model: string, say: (text: string) => void) {
    this.#startedAt = startedAt;
    this.#model = model;
    this.#say = say;
  }

  async start(kafka: Kafka, codec: SchemaCodec): Promise<void> {
    const follow = async <T extends { event_time: number; model_name: string }>(
      topic: string,
      reader: (typeof CONTRACTS)[keyof typeof CONTRACTS]['type'],
      wrap: (event: T) => Seen,
    ) => {
      let ready: () => void = () => undefined;
      const caughtUp = new Promise<void>((resolve) => (ready = resolve));
      const follower = await TopicFollower.start<T | undefined>({
        kafka,
        topic,
        groupPrefix: 'rheo-loop-watch',
        decode: async (message) => (await codec.decode<T>(message.value ?? new Uint8Array(), { reader })).value,
        poison: { kind: 'skip', report: () => undefined },
        onChunk: (chunk) => {
          for (const record of chunk.records) {
            const event = record.value;
            if (!event || event.model_name !== this.#model || event.event_time < this.#startedAt) continue;
            const seen = wrap(event);
            this.seen.push(seen);
            this.#narrate(seen);
          }
          for (const wake of this.#waiters) wake();
        },
        onCaughtUp: () => ready(),
        onFailure: () => undefined,
      });
      this.#followers.push(follower as TopicFollower<unknown>);
      await caughtUp;
    };
    await Promise.all([
      follow<ModelLifecycleEvent>(TOPICS.modelsLifecycle.name, CONTRACTS.ModelLifecycleEvent.type, (event) => ({
        topic: 'lifecycle',
        event,
      })),
      follow<RetrainRequest>(TOPICS.trainingRequests.name, CONTRACTS.RetrainRequest.type, (event) => ({
        topic: 'request',
        event,
      })),
      follow<TrainingRunEvent>(TOPICS.trainingRuns.name, CONTRACTS.TrainingRunEvent.type, (event) => ({ topic: 'run', event })),
      follow<DriftReport>(TOPICS.monitoringDrift.name, CONTRACTS.DriftReport.type, (event) => ({ topic: 'drift', event })),
    ]);
  }

  /** Resolves with the first event seen (now or later) that `match` accepts. */
  async waitFor<T>(what: string, match: (seen: Seen) => T | undefined, timeoutMs: number): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    let index = 0;
    for (;;) {
      for (; index < this.seen.length; index++) {
        const found = match(this.seen[index] as Seen);
        if (found !== undefined) return found;
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`the loop did not reach "${what}" within ${Math.round(timeoutMs / 1000)} s`);
      await new Promise<void>((resolve) => {
        const wake = () => {
          clearTimeout(timer);
          this.#waiters.delete(wake);
          resolve();
        };
        const timer = setTimeout(wake, Math.min(left, 1_000));
        this.#waiters.add(wake);
      });
    }
  }

  #narrate(seen: Seen): void {
    const evidence = (reason: string | null) => (reason ?? '').split(' | evidence ')[0] ?? '';
    switch (seen.topic) {
      case 'lifecycle': {
        const l = seen.event;
        const v = l.model_version ?? '';
        const who = l.actor;
        if (l.event_type === 'REGISTERED')
          this.#say(`registry: ${v} REGISTERED by ${who} (run ${l.registered?.lineage.run_id ?? '-'})`);
        else if (l.event_type === 'STAGE_CHANGED' || l.event_type === 'ARCHIVED')
          this.#say(
            `registry: ${v} ${l.stage_change?.from_stage} → ${l.stage_change?.to_stage} by ${who}: ${truncate(evidence(l.reason))}`,
          );
        else if (l.event_type === 'TRAFFIC_SET') {
          const t = l.traffic;
          const routes = [
            t?.canary ? `canary ${t.canary.version} ${t.canary.percent}%` : 'no canary',
            t?.shadow_versions.length ? `shadow ${t.shadow_versions.join(',')}` : 'no shadow',
          ].join(', ');
          this.#say(
            `registry: traffic (production ${t?.production_version}; ${routes}) by ${who}: ${truncate(evidence(l.reason))}`,
          );
        } else if (l.event_type === 'TRANSITION_REQUESTED' || l.event_type === 'TRANSITION_APPROVED')
          this.#say(`registry: ${v} ${l.event_type.toLowerCase().replace('_', ' ')} by ${who}`);
        else this.#say(`registry: ${v} ${l.event_type} by ${who}`);
        return;
      }
      case 'request': {
        const r = seen.event;
        this.#say(
          `training.requests: ${r.reason} request ${r.event_id.slice(0, 8)}… by ${r.requested_by}: ${truncate(r.evidence.summary)}`,
        );
        return;
      }
      case 'run': {
        const r = seen.event;
        if (r.event_type === 'COMPLETED')
          this.#say(
            `training.runs: ${r.run_id} completed → ${r.completed?.model_version ?? ''} (gate ${r.completed?.gate_passed ? 'passed' : 'failed'} → ${r.completed?.target_stage ?? '?'})`,
          );
        else if (r.event_type === 'FAILED') this.#say(`training.runs: ${r.run_id} FAILED: ${r.failed?.error ?? ''}`);
        else if (r.event_type === 'STARTED')
          this.#say(`training.runs: ${r.run_id} started on ${r.started?.trainer ?? 'a trainer'}`);
        return;
      }
      case 'drift': {
        const d = seen.event;
        const key = `${d.model_version}/${d.feature}`;
        if (d.status === 'ALERT' && !this.#alerted.has(key) && this.#alerted.add(key))
          this.#say(
            `monitoring.drift: ALERT ${d.model_version} ${d.feature} PSI ${d.psi?.toFixed(3) ?? '-'} (alert ≥ ${d.alert_threshold}) on ${d.count} predictions`,
          );
        return;
      }
    }
  }

  async stop(): Promise<void> {
    await Promise.allSettled(this.#followers.map((f) => f.stop()));
  }
}

function truncate(text: string, max = 220): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

const isLifecycle = (s: Seen): s is Extract<Seen, { topic: 'lifecycle' }> => s.topic === 'lifecycle';

/** The version a training run registered. */
const registeredBy = (runId: string) => (s: Seen) =>
  isLifecycle(s) && s.event.event_type === 'REGISTERED' && s.event.registered?.lineage.run_id === runId ? s.event : undefined;

/** The event that made `version` the production version. */
const reachedProduction = (version: string) => (s: Seen) =>
  isLifecycle(s) && s.event.model_version === version && s.event.stage_change?.to_stage === 'PRODUCTION' ? s.event : undefined;

/** Runs `rheo <args>` in this process; its output goes to the loop's story, indented. */
async function cli(io: CliIO, args: string[], quiet = false): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await rheo(args, {
    out: (text) => {
      out += `${text}\n`;
      if (!quiet) io.out(text.replace(/^/gm, '      '));
    },
    err: (text) => {
      err += `${text}\n`;
      if (!quiet) io.out(text.replace(/^/gm, '      '));
    },
  });
  return { code, out, err };
}

/** A deliberately worse model of the same inputs: the known fraud signal turned upside down. */
function invertedModel(model: string, inputs: readonly string[]): Uint8Array {
  const weight: Record<string, number> = {
    amount: -0.01,
    hour_of_day: 0.1,
    distance_from_home_km: -0.02,
    chargeback_rate_30d: -3,
  };
  return tabularModel({
    name: model,
    features: inputs.length,
    layers: [{ weights: inputs.map((name) => [weight[name.split(':').at(-1) ?? name] ?? 0]), bias: [-1], activation: 'sigmoid' }],
    outputName: 'probability',
    metadata: { rheo_model: model, note: 'deliberately worse: the fraud signal inverted' },
  });
}

export async function runLoop(io: CliIO, ctx: { config: RheoConfig; logger: Logger }, options: LoopOptions): Promise<LoopResult> {
  const { config, logger } = ctx;
  const startedAt = Date.now();
  const clock = () => {
    const s = Math.round((Date.now() - startedAt) / 1000);
    return `${String(Math.floor(s / 60)).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}`;
  };
  const say = (text: string) => io.out(`  [${clock()}] ${text}`);
  const step = (n: number, text: string) => io.out(`\n[${n}] ${text}`);
  const milestones: Record<string, number> = {};
  // When it happened: the event's own time where there is one, else now.
  const mark = (name: string, at = Date.now()) => {
    milestones[name] = at - startedAt;
  };
  const { model } = options;
  const timeout = options.milestoneTimeoutMs;

  step(1, `Project ${options.project}: topics, subjects (compatibility enforced) and tables`);
  const applied = await cli(io, ['apply', '--project', options.project], true);
  if (applied.code !== 0) throw new Error(`rheo apply failed: ${applied.err || applied.out}`);
  io.out(
    applied.out
      .trim()
      .split('\n')
      .slice(-3)
      .map((l) => `      ${l}`)
      .join('\n'),
  );

  step(2, 'Services: rheo up (gateway, materializer, archiver, scorer, feedback joiner, drift, trainer, rollout controller)');
  for (const [k, v] of Object.entries(options.serviceEnv)) process.env[k] = v;
  const up = await cli(io, ['up', '--project', options.project, '--no-stack'], false);
  if (up.code !== 0) throw new Error(`rheo up failed: ${up.err || up.out}`);
  mark('services_ready');

  const kafka = createKafka(config.kafka, logger, 'loop');
  const codec = SchemaCodec.fromConfig(config.registry);
  const watcher = new LoopWatcher(startedAt, model, say);
  await watcher.start(kafka, codec);
  const clickhouse = createClickHouse(config);
  let traffic: FraudTraffic | undefined;
  try {
    step(3, `History: ${options.historyPayments} labeled payments (rule-baseline predictions, labels, feature events) → Kafka`);
    const run = randomUUID().slice(0, 8);
    const history = labeledHistory({
      model,
      transactions: options.historyPayments,
      seed: Number.parseInt(run, 16) % 100_000,
      end: Date.now(),
      prefix: `loop${run}`,
    });
    const landed = await landLabeledHistory(config, logger, history, { via: 'kafka', servicesRunning: true });
    say(
      `landed in ClickHouse by the running archiver and materializer in ${(landed.ms / 1000).toFixed(1)} s: ${JSON.stringify(landed.counts)}`,
    );

    step(4, 'A first retraining request → the trainer service trains v1');
    const requests = await codec.forTopic(TOPICS.trainingRequests.name, CONTRACTS.RetrainRequest);
    const producer = createProducer(kafka);
    await producer.connect();
    const first = randomUUID();
    await producer.send({
      topic: TOPICS.trainingRequests.name,
      acks: -1,
      messages: [
        {
          key: model,
          value: requests.encode({
            event_id: first,
            event_time: Date.now(),
            model_name: model,
            reason: 'MANUAL',
            requested_by: 'user:demo',
            base_version: null,
            evidence: {
              summary: `first version of ${model}, from the rule baseline's labeled predictions`,
              drift: [],
              metrics: {},
            },
            params: {},
          }),
        },
      ],
    });
    await producer.disconnect();
    const v1Registered = await watcher.waitFor('v1 registered', registeredBy(`run-${first}`), timeout);
    const v1 = v1Registered.model_version as string;
    mark('v1_registered', v1Registered.event_time);
    const v1Promoted = await watcher.waitFor('v1 in production', reachedProduction(v1), timeout);
    mark('v1_production', v1Promoted.event_time);

    step(
      5,
      `Live traffic: ${options.ratePerS} payments/s (${Math.round(options.gatewayShare * 100)}% through the gateway, the rest through the streaming scorer), labels ${options.labelDelayMs / 1000} s later; the world has moved on since the history: amounts × ${options.inflation}, all of them now`,
    );
    traffic = await FraudTraffic.connect(config, logger, {
      model,
      seed: Number.parseInt(run, 16) % 1_000,
      ratePerS: options.ratePerS,
      gatewayShare: options.gatewayShare,
      gatewayUrl: options.gatewayUrl,
      apiKey: options.apiKey,
      labelDelayMs: options.labelDelayMs,
    });
    // Live payments differ from the history by more than the amounts (they all happen in this hour, on
    // new cards): drift sees it in the first full window, the inflation makes it unmistakable.
    traffic.shift(options.inflation);
    traffic.start();
    const liveFrom = Date.now();
    mark('shift');
    const quality = await waitForQuality(clickhouse, config.clickhouse.database, model, v1, liveFrom, 100, timeout);
    mark('v1_live_quality');
    say(
      `live quality of ${v1}: AUC ${quality.auc?.toFixed(3) ?? '-'} on ${quality.labeled} labeled of ${quality.predictions} predictions (${traffic.stats.payments} payments, ${traffic.stats.labels} labels so far)`,
    );

    step(6, 'Drift: windowed PSI per feature and for the score against v1’s training baseline');
    const driftRequest = await watcher.waitFor(
      'a drift retraining request',
      (s) => (s.topic === 'request' && s.event.reason === 'DRIFT' && s.event.event_time >= liveFrom ? s.event : undefined),
      timeout,
    );
    mark('drift_request', driftRequest.event_time);

    step(
      7,
      'The trainer trains v2 on point-in-time data up to the request; the gate stages it; the rollout controller takes over',
    );
    const v2Registered = await watcher.waitFor('v2 registered', registeredBy(`run-${driftRequest.event_id}`), timeout);
    const v2 = v2Registered.model_version as string;
    mark('v2_registered', v2Registered.event_time);
    const v2Promoted = await watcher.waitFor('v2 promoted', reachedProduction(v2), timeout * 2);
    mark('v2_production', v2Promoted.event_time);
    say(
      `${v2} is production: drift → request ${secs(milestones.drift_request, milestones.shift)}, request → registered ${secs(milestones.v2_registered, milestones.drift_request)}, registered → promoted ${secs(milestones.v2_production, milestones.v2_registered)}`,
    );

    let v3: string | undefined;
    if (options.secondAct) {
      step(8, 'Second act: a person registers a deliberately worse v3 (the fraud signal inverted) and stages it');
      const inputs = await declaredInputs(options.project, model);
      const dir = mkdtempSync(join(tmpdir(), 'rheo-loop-'));
      const file = join(dir, 'worse.onnx');
      writeFileSync(file, invertedModel(model, inputs));
      v3 = `${Number(v2.split('.')[0]) + 1}.0.0`;
      const registered = await cli(
        io,
        [
          'models',
          'register',
          model,
          '--version',
          v3,
          '--artifact',
          file,
          '--project',
          options.project,
          '--actor',
          'user:demo',
          '--reason',
          'a deliberately worse model, to show the rollback',
        ],
        true,
      );
      if (registered.code !== 0) throw new Error(`rheo models register failed: ${registered.err}`);
      const staged = await cli(
        io,
        ['models', 'request', model, '--version', v3, '--to', 'staging', '--actor', 'user:demo', '--reason', 'try it'],
        true,
      );
      if (staged.code !== 0) throw new Error(`rheo models request failed: ${staged.err}`);
      mark('v3_staged');
      const version3 = v3;
      const v3Archived = await watcher.waitFor(
        'v3 rolled back',
        (s) => (isLifecycle(s) && s.event.model_version === version3 && s.event.event_type === 'ARCHIVED' ? s.event : undefined),
        timeout * 2,
      );
      mark('v3_rolled_back', v3Archived.event_time);
      say(
        `${v3} rolled back ${secs(milestones.v3_rolled_back, milestones.v3_staged)} after it was staged; ${v2} kept production throughout`,
      );
    }
    const lifecycle = watcher.seen.filter(isLifecycle).map((s) => s.event);
    return { startedAt, milestones, v1, v2, ...(v3 ? { v3 } : {}), driftRequest, lifecycle };
  } finally {
    await traffic?.stop();
    await watcher.stop();
    await clickhouse.close();
  }
}

function secs(to: number | undefined, from: number | undefined): string {
  return to === undefined || from === undefined ? '?' : `${((to - from) / 1000).toFixed(0)} s`;
}

async function declaredInputs(projectDir: string, model: string): Promise<readonly string[]> {
  const { openProject } = await import('../projects/context.ts');
  const project = await openProject({ flag: projectDir });
  const decl = project.project.models.find((m) => m.name === model);
  if (!decl) throw new Error(`${projectDir} declares no model ${model}`);
  return decl.inputs;
}

async function waitForQuality(
  clickhouse: ReturnType<typeof createClickHouse>,
  database: string,
  model: string,
  version: string,
  from: number,
  labels: number,
  timeoutMs: number,
): Promise<{ labeled: number; predictions: number; auc: number | null }> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const to = Date.now();
    const rows = await readQuality(clickhouse, { database, model, windowMs: Math.max(1, to - from), origin: from, from, to });
    const row = rows.find((r) => r.model_version === version && r.variant === 'PRODUCTION');
    if (row && row.labeled >= labels) return { labeled: row.labeled, predictions: row.predictions, auc: row.auc };
    if (Date.now() > deadline) throw new Error(`no live quality for ${model}@${version} within ${timeoutMs / 1000} s`);
    await sleep(2_000);
  }
}
