/**
 * Demo step: the first model. A labeled history of card payments (rule-baseline predictions, fraud
 * labels an hour later, the card and merchant feature events) flows through Kafka into ClickHouse;
 * a retraining request goes to `training.requests`; a trainer — the consumer group `rheo.trainer`
 * — builds the point-in-time training set, searches hyperparameters, exports ONNX, registers the
 * version and lets the quality gate decide. On a fresh stack that is `fraud_detector` 1.0.0,
 * promoted to production; on a stack with a production version already, the gate compares with it
 * and (policy: canary) starts a 10% canary.
 */
import { randomUUID } from 'node:crypto';
import type { CliIO } from '../../cli/command.ts';
import { fraud } from '../../examples/fraud/index.ts';
import { labeledHistory, landLabeledHistory } from '../../examples/fraud/labeled-history.ts';
import type { RheoConfig } from '../../kernel/config.ts';
import { createAdmin, createKafka, createProducer } from '../../kernel/kafka.ts';
import type { Logger } from '../../kernel/log.ts';
import { createRegistry } from '../../kernel/metrics.ts';
import { auc } from '../../kernel/quality.ts';
import { CONTRACTS, type RetrainRequestInput, SchemaCodec } from '../../schemas/index.ts';
import { ensureTopics } from '../../topics/admin.ts';
import { catalogue, TOPICS } from '../../topics/catalogue.ts';
import type { RunResult } from '../../trainers/run.ts';
import { createTrainer, type RunOutcome } from '../../trainers/service.ts';

export interface TrainingStepResult {
  model: string;
  version: string;
  stage: string;
  result: RunResult;
}

export async function trainingStep(
  io: CliIO,
  ctx: { config: RheoConfig; logger: Logger },
  options: { model?: string; transactions?: number; timeoutMs?: number } = {},
): Promise<TrainingStepResult> {
  const { config, logger } = ctx;
  const model = options.model ?? 'fraud_detector';
  const say = (text: string) => io.out(`    ${text}`);
  const kafka = createKafka(config.kafka, logger, 'demo-training');
  const admin = createAdmin(kafka);
  await admin.connect();
  await ensureTopics(admin, catalogue()).finally(() => admin.disconnect());

  // 1. History to learn from: payments with a known fraud signal, as the live loop would have logged them.
  const run = randomUUID().slice(0, 8);
  const history = labeledHistory({
    model,
    transactions: options.transactions ?? 10_000,
    seed: Number.parseInt(run, 16) % 100_000,
    end: Date.now(),
    prefix: `demo${run}`,
  });
  const landed = await landLabeledHistory(config, logger, history, { via: 'kafka' });
  const fraudRate = history.labels.filter((l) => l.label === 1).length / history.labels.length;
  say(
    `labeled history: ${history.transactions.length} payments over ${((history.lastPayment - history.start) / 86_400_000).toFixed(1)} days ` +
      `(fraud rate ${(fraudRate * 100).toFixed(1)}%), predictions + labels + feature events → Kafka → ClickHouse in ${(landed.ms / 1000).toFixed(1)} s`,
  );

  // 2. A retraining request, and a trainer that picks it up.
  const request: RetrainRequestInput = {
    event_id: randomUUID(),
    event_time: Date.now(),
    model_name: model,
    reason: 'MANUAL',
    requested_by: 'user:demo',
    base_version: null,
    evidence: { summary: `train ${model} from the rule baseline's labeled predictions`, drift: [], metrics: {} },
    params: {},
  };
  const codec = await SchemaCodec.fromConfig(config.registry).forTopic(TOPICS.trainingRequests.name, CONTRACTS.RetrainRequest);
  const producer = createProducer(kafka);
  await producer.connect();
  await producer.send({
    topic: TOPICS.trainingRequests.name,
    acks: -1,
    messages: [{ key: model, value: codec.encode(request) }],
  });
  await producer.disconnect();
  say(`retraining request ${request.event_id.slice(0, 8)}… → ${TOPICS.trainingRequests.name}`);

  let settle: (outcome: RunOutcome) => void = () => undefined;
  const mine = new Promise<RunOutcome>((resolve) => {
    settle = resolve;
  });
  const trainer = await createTrainer(
    config,
    { logger, metrics: createRegistry('demo-trainer', { defaultMetrics: false }) },
    {
      project: fraud,
      onProgress: (r, update) => {
        if (
          r.event_id === request.event_id &&
          (update.phase === 'data' || (update.phase === 'train' && update.epoch === undefined))
        )
          say(`  ${update.message}`);
      },
      onOutcome: (outcome) => {
        const id = outcome.ok ? outcome.result.runId : `run-${outcome.requestId}`;
        if (id === `run-${request.event_id}`) settle(outcome);
        else
          say(
            `  (an earlier request for ${outcome.ok ? outcome.result.model : outcome.model} was run first: ${outcome.ok ? `${outcome.result.version} ${outcome.result.stage}` : outcome.error.message})`,
          );
      },
    },
  );
  await trainer.start();
  say(`trainer joined consumer group ${trainer.groupId}`);
  const timeoutMs = options.timeoutMs ?? 300_000;
  let timer: NodeJS.Timeout | undefined;
  const outcome = await Promise.race([
    mine,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no training outcome within ${timeoutMs / 1000} s`)), timeoutMs);
    }),
  ]).finally(() => {
    clearTimeout(timer);
    return trainer.stop('demo step done');
  });
  if (!outcome.ok) throw outcome.error;

  // 3. What came out.
  const r = outcome.result;
  // This history's payments in the test period: how the model compares with the truth the generator knows.
  const testFrom = r.split?.testFrom ?? Number.POSITIVE_INFINITY;
  const inTest = history.transactions
    .map((t, i) => ({ t, p: history.predictions[i] }))
    .filter(({ t }) => t.eventTime >= testFrom);
  const labels = inTest.map(({ t }) => (t.isFraud ? 1 : 0));
  say(
    `${model}@${r.version}: test AUC ${r.metrics.auc?.toFixed(3)} on the newest ${r.split?.test ?? '?'} of ${r.rows} rows (split by time); ` +
      `on those payments the generator's true probabilities reach ${auc(
        labels,
        inTest.map(({ t }) => t.fraudProbability),
      )?.toFixed(3)} ` +
      `and the rule baseline ${auc(
        labels,
        inTest.map(({ p }) => p?.score ?? 0),
      )?.toFixed(3)}; trained on ${r.backend.name} in ${(r.metrics.training_seconds ?? 0).toFixed(1)} s`,
  );
  say(`quality gate: ${r.gate.passed ? 'passed' : 'failed'} → ${r.gate.action}; ${model}@${r.version} is now ${r.stage}`);
  say(`  ${r.gate.reason.replace(/^quality gate [^.]*\. /, '')}`);
  say(`look around: npx rheo train trials --model ${model} · npx rheo models describe ${model}`);
  say(
    `             curl -s ${config.clickhouse.url}/ --data-binary "SELECT run_id, trial, selected, algorithm, val_auc FROM ${config.clickhouse.database}.training_trials FINAL WHERE model_name = '${model}' ORDER BY event_time DESC LIMIT 10 FORMAT PrettyCompact"`,
  );
  return { model, version: r.version, stage: r.stage, result: r };
}
