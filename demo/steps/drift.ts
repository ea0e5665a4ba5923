/**
 * Demo step: feedback, live quality and drift on the running stack.
 *
 * Two versions of the fraud model (logistic regressions in ONNX: one blind to merchant risk, one not)
 * are registered, each with the drift baseline of its training sample. Live card payments are scored
 * by both (production and shadow, real event times), fraud labels follow on `feedback`; the feedback
 * joiner shows live AUC per version. Then amounts inflate (the generator's `amountInflation`): the drift
 * processor's windows cross the alert band for `amount`, and one retraining request appears.
 * Windows are 5 s of event time here so the story fits in a minute; the service default is an hour.
 */
import { randomUUID } from 'node:crypto';
import type { CliIO } from '../../cli/command.ts';
import { sparkline } from '../../cli/commands/drift.ts';
import { table } from '../../cli/format.ts';
import { type Transaction, transactions } from '../../examples/fraud/generator.ts';
import { loadServingSettings, openArtifactStore } from '../../gateway/settings.ts';
import { createClickHouse } from '../../kernel/clients.ts';
import type { RheoConfig } from '../../kernel/config.ts';
import { createKafka, createProducer, type ProducerMessage } from '../../kernel/kafka.ts';
import type { Logger } from '../../kernel/log.ts';
import { createRegistry } from '../../kernel/metrics.ts';
import { sleep } from '../../kernel/retry.ts';
import { type DriftWindowRow, readDriftReports, readRetrainRequests } from '../../monitoring/drift.ts';
import { readQuality } from '../../monitoring/quality.ts';
import { createArchiver } from '../../processors/archiver/index.ts';
import { type BaselineSource, registryBaselines } from '../../processors/drift/baselines.ts';
import { createDriftProcessor } from '../../processors/drift/index.ts';
import { DEFAULT_DRIFT_SETTINGS } from '../../processors/drift/settings.ts';
import { createFeedbackJoiner } from '../../processors/feedback-joiner/index.ts';
import { RegistryClient } from '../../registry/client.ts';
import { type RegisterRequest, registrationSpec } from '../../registry/writer.ts';
import { CONTRACTS, type DriftBaseline, type FeedbackInput, type PredictionInput, SchemaCodec } from '../../schemas/index.ts';
import { sha256Hex } from '../../serving/artifacts/store.ts';
import { DEFAULT_SESSION_SETTINGS, LoadedModel } from '../../serving/host/session.ts';
import { logisticRegressionModel } from '../../serving/onnx/builder.ts';
import { deterministicUuid } from '../../serving/scoring.ts';
import { TOPICS } from '../../topics/catalogue.ts';
import { numericBaseline } from '../../trainers/baseline.ts';

const FEATURES = ['amount', 'hour_of_day', 'distance_from_home_km', 'merchant_risk'] as const;
const row = (t: Transaction) => [t.amount, t.hourOfDay, t.distanceFromHomeKm, t.merchantRisk];

/** The two versions: the same logistic regression, the second one also weighing merchant risk. */
const VERSIONS = [
  { tag: 'a', variant: 'PRODUCTION' as const, weights: [0.012, -0.06, 0.015, 0], bias: -3.2, note: 'blind to merchant risk' },
  { tag: 'b', variant: 'SHADOW' as const, weights: [0.012, -0.06, 0.015, 3.2], bias: -4.2, note: 'weighs merchant risk' },
];

async function score(model: LoadedModel, txs: readonly Transaction[]): Promise<Float32Array> {
  const input = new Float32Array(txs.length * FEATURES.length);
  txs.forEach((t, i) => {
    input.set(row(t), i * FEATURES.length);
  });
  const result = await model.score(input, txs.length);
  return result.outputs[0] as Float32Array;
}

/** The next `n` items of a running generator (a `for…of` with `break` would close it). */
function pull<T>(source: Iterator<T>, n: number): T[] {
  const out: T[] = [];
  for (let i = 0; i < n; i++) {
    const next = source.next();
    if (next.done) break;
    out.push(next.value);
  }
  return out;
}

const indent = (text: string, by = '      ') =>
  text
    .split('\n')
    .map((l) => by + l)
    .join('\n');
const clock = (ms: number) => new Date(ms).toISOString().slice(11, 19);

export async function driftStep(
  io: CliIO,
  ctx: { config: RheoConfig; logger: Logger },
  options: { model?: string; perSecond?: number; windowMs?: number; seed?: number } = {},
): Promise<void> {
  const { config, logger } = ctx;
  const model = options.model ?? 'fraud_detector';
  const perSecond = options.perSecond ?? 300;
  const windowMs = options.windowMs ?? 5_000;
  const run = randomUUID().slice(0, 6);
  const seed = options.seed ?? Number.parseInt(run, 16) % 100_000;
  const database = config.clickhouse.database;
  const stops: Array<() => Promise<unknown>> = [];
  const clickhouse = createClickHouse(config);
  const registry = await RegistryClient.connect(config, logger);
  stops.push(() => registry.close());
  try {
    // 1. Two versions, each with the baseline of its training sample: quantile bins per feature and of its score.
    const store = openArtifactStore(loadServingSettings(config));
    // One stream of payments: the first 20 000 are the training sample, the live traffic continues it (same
    // cards and merchants, new payments). Gaps of hours make the hour of day vary from payment to payment.
    const stream = (amountInflation = 1) => transactions({ seed, meanGapMs: 10 * 3_600_000, amountInflation });
    const normal = stream();
    const sample = pull(normal, 20_000);
    const loaded: LoadedModel[] = [];
    const versions: string[] = [];
    for (const v of VERSIONS) {
      const version = `0.1.0-demo.${v.tag}${run}`;
      const bytes = logisticRegressionModel({ name: `fraud_lr_${v.tag}`, weights: v.weights, bias: v.bias });
      const request: RegisterRequest = {
        model,
        version,
        actor: 'user:demo',
        inputs: FEATURES.map((name) => ({ name, type: 'DOUBLE' as const })),
        outputs: [{ name: 'probability', type: 'DOUBLE' }],
        params: { decision_threshold: 0.5, positive_label: 'fraud', negative_label: 'legit' },
        modelCard: `Demo logistic regression ${v.note}.`,
      };
      const spec = registrationSpec({ uri: 'memory:', sha256: sha256Hex(bytes), size: bytes.length }, request);
      const session = await LoadedModel.load(model, version, spec, bytes, DEFAULT_SESSION_SETTINGS);
      stops.push(() => session.dispose());
      const scores = await score(session, sample);
      const baseline: DriftBaseline = {
        features: FEATURES.map((f, i) =>
          numericBaseline(
            f,
            sample.map((t) => row(t)[i] as number),
          ),
        ),
        prediction: numericBaseline('probability', [...scores]),
      };
      await registry.register(store, bytes, { ...request, baseline });
      loaded.push(session);
      versions.push(version);
    }
    io.out(
      `    registered ${model} ${versions[0]} (${VERSIONS[0]?.note}) and ${versions[1]} (${VERSIONS[1]?.note}), each with the drift ` +
        `baseline of its training sample (${sample.length} payments): 10 quantile bins per feature (${FEATURES.join(', ')}) and of its score`,
    );

    // 2. The archiver, the feedback joiner and a drift processor (5 s windows) watching these two versions.
    const metrics = (name: string) => createRegistry(name, { defaultMetrics: false });
    const archiver = await createArchiver(config, { logger, metrics: metrics('demo-archiver') });
    const joiner = await createFeedbackJoiner(
      config,
      { logger, metrics: metrics('demo-feedback-joiner') },
      { startFrom: 'earliest', settings: { waitMs: 5_000 } },
    );
    const all = registryBaselines(registry.follower, logger);
    const ours: BaselineSource = {
      baseline: (m, v) => (m === model && versions.includes(v) ? all.baseline(m, v) : undefined),
      knows: all.knows,
      waitFor: all.waitFor,
    };
    const drift = await createDriftProcessor(
      config,
      { logger, metrics: metrics('demo-drift') },
      {
        startFrom: 'earliest',
        groupId: 'rheo.drift.demo',
        baselines: ours,
        settings: {
          ...DEFAULT_DRIFT_SETTINGS,
          window: { sizeMs: windowMs, slideMs: windowMs, latenessMs: 1_000 },
          models: { [model]: { minSamples: 200, cooldownMs: 60_000 } },
        },
      },
    );
    for (const p of [archiver, joiner, drift]) {
      await p.start();
      stops.push(() => p.stop('demo step done'));
    }
    io.out(
      `    running: archiver (${archiver.groupId}), feedback joiner (${joiner.groupId}), drift processor (${drift.runner.groupId}: ` +
        `${windowMs / 1000} s tumbling windows, 1 s allowed lateness, PSI bands 0.1 warn / 0.25 alert, ε ${drift.settings.epsilon})`,
    );

    // 3. Live traffic: both versions score every payment; labels follow. Three windows as trained, then amounts inflate.
    const codec = SchemaCodec.fromConfig(config.registry);
    const predictions = await codec.forTopic(TOPICS.predictions.name, CONTRACTS.Prediction);
    const feedback = await codec.forTopic(TOPICS.feedback.name, CONTRACTS.Feedback);
    const producer = createProducer(createKafka(config.kafka, logger, 'demo-drift'));
    await producer.connect();
    stops.push(() => producer.disconnect());
    // The same stream with amounts ×1.8 (the generator's distribution shift), joined where the normal one is then.
    let inflated: Iterator<Transaction> | undefined;
    let used = sample.length;
    await sleep(windowMs - (Date.now() % windowMs)); // start on a window boundary
    const start = Date.now();
    const shiftAt = start + 3 * windowMs;
    const end = start + 6 * windowMs;
    const tickMs = 100;
    let sent = 0;
    io.out(`    ${perSecond} payments/s from ${clock(start)} UTC; amounts ×1.8 from ${clock(shiftAt)}; until ${clock(end)} ...`);
    for (let tick = start; Date.now() < end + windowMs; tick += tickMs) {
      const now = Date.now();
      const n = Math.round((perSecond * tickMs) / 1000);
      if (now >= shiftAt && !inflated) {
        inflated = stream(1.8);
        pull(inflated, used);
      }
      const txs = pull(inflated ?? normal, n);
      used += txs.length;
      const scores = await Promise.all(loaded.map((m) => score(m, txs)));
      const messages: { predictions: ProducerMessage[]; feedback: ProducerMessage[] } = { predictions: [], feedback: [] };
      txs.forEach((t, i) => {
        const predictionId = `demo-${run}-${t.transactionId}`;
        VERSIONS.forEach((v, k) => {
          const s = (scores[k] as Float32Array)[i] as number;
          const value: PredictionInput = {
            event_id: deterministicUuid(predictionId, versions[k] as string),
            event_time: now,
            prediction_id: predictionId,
            entity_id: t.cardId,
            model_name: model,
            model_version: versions[k] as string,
            variant: v.variant,
            source: 'STREAMING',
            inputs: {
              amount: t.amount,
              hour_of_day: t.hourOfDay,
              distance_from_home_km: t.distanceFromHomeKm,
              merchant_risk: t.merchantRisk,
            },
            outputs: { probability: s },
            score: s,
            predicted_label: s >= 0.5 ? 'fraud' : 'legit',
            latency_ms: 0.2,
            request_time: now,
          };
          messages.predictions.push({ key: t.cardId, value: predictions.encode(value) });
        });
        const label: FeedbackInput = {
          event_id: deterministicUuid(predictionId, 'label'),
          event_time: now,
          prediction_id: predictionId,
          entity_id: t.cardId,
          label: t.isFraud ? 1 : 0,
          observed_time: now,
          label_source: 'chargeback',
        };
        messages.feedback.push({ key: predictionId, value: feedback.encode(label) });
      });
      await producer.sendBatch({
        acks: -1,
        topicMessages: [
          { topic: TOPICS.predictions.name, messages: messages.predictions },
          { topic: TOPICS.feedback.name, messages: messages.feedback },
        ],
      });
      sent += txs.length;
      await sleep(Math.max(0, tick + tickMs - Date.now()));
    }

    // 4. Labels joined: live quality per version (ClickHouse, the joiner's prediction_outcomes).
    const quality = async () =>
      readQuality(clickhouse, {
        database,
        model,
        from: start,
        to: Date.now() + 1,
        windowMs: Date.now() + 1 - start,
        origin: start,
      });
    let rows = await quality();
    for (let waited = 0; waited < 60_000 && rows.reduce((s, r) => s + r.labeled, 0) < 2 * sent; waited += 500) {
      await sleep(500);
      rows = await quality();
    }
    io.out(
      `    ${sent} payments scored by both versions; labels joined by the feedback joiner (ClickHouse ${database}.prediction_outcomes):`,
    );
    io.out(
      indent(
        table(
          rows
            .filter((r) => versions.includes(r.model_version))
            .map((r) => ({
              version: r.model_version,
              variant: r.variant,
              predictions: r.predictions,
              labeled: r.labeled,
              fraud_rate: r.mean_label,
              auc: r.auc,
              log_loss: r.log_loss,
              accuracy: r.accuracy,
            })),
        ),
      ),
    );

    // 5. Drift per window of the production version, and the retraining request.
    const production = versions[0] as string;
    const reports = async () => readDriftReports(clickhouse, { database, model, version: production, from: start, to: end });
    const requests = async () =>
      (await readRetrainRequests(clickhouse, { database, model, from: start, to: end + 60_000 })).filter((r) =>
        versions.includes(r.base_version ?? ''),
      );
    let drifts: DriftWindowRow[] = await reports();
    for (let waited = 0; waited < 60_000 && (drifts.length < 6 * 5 || (await requests()).length === 0); waited += 500) {
      await sleep(500);
      drifts = await reports();
    }
    const byWindow = new Map<number, Record<string, string | number>>();
    for (const r of drifts) {
      const entry = byWindow.get(r.window_start) ?? {
        window: `${clock(r.window_start)}–${clock(r.window_end)}`,
        n: r.count,
        status: 'OK',
      };
      entry[r.target === 'PREDICTION' ? 'score' : r.feature] = r.psi === null ? '—' : r.psi.toFixed(3);
      const rank = ['OK', 'INSUFFICIENT', 'WARN', 'ALERT'];
      if (rank.indexOf(r.status) > rank.indexOf(String(entry.status))) entry.status = r.status;
      byWindow.set(r.window_start, entry);
    }
    const amount = drifts.filter((r) => r.feature === 'amount');
    io.out(
      `    drift of ${production}, PSI per ${windowMs / 1000} s window against its baseline (amount: ${sparkline(
        amount.map((r) => r.psi),
        Math.max(0.4, ...amount.map((r) => r.psi ?? 0)),
      )}):`,
    );
    io.out(indent(table([...byWindow.values()], ['window', 'n', ...FEATURES, 'score', 'status'])));
    const found = await requests();
    if (found.length === 0) io.out('    !! no retraining request appeared within 60 s');
    for (const r of found)
      io.out(
        `    retraining request ${r.event_id.slice(0, 8)} on ${TOPICS.trainingRequests.name} (${r.reason}, base ${r.base_version}): ${r.summary}`,
      );
    io.out(
      `    ${found.length} request for ${model}: the later windows over the band fell inside its cool-down (60 s of event time here, 24 h by default)`,
    );
    io.out(`    look around: npx rheo drift report --model ${model} --last 1h --version ${production}`);
    io.out(
      `                 curl -s localhost:18123 --data-binary "SELECT * FROM ${database}.drift_alerts WHERE model_name = '${model}' LIMIT 10 FORMAT PrettyCompact"`,
    );
    io.out(
      `                 curl -s localhost:18123 --data-binary "SELECT model_version, variant, labeled, auc FROM ${database}.model_quality_hourly WHERE model_name = '${model}' FORMAT PrettyCompact"`,
    );
  } finally {
    for (const stop of stops.reverse())
      await stop().catch((error: unknown) => logger.warn({ err: error }, 'demo drift step cleanup'));
    await clickhouse.close();
  }
}
