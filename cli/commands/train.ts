/**
 * `rheo train`: the trainer from the command line.
 *
 *   rheo train --model M [options]      one run in the foreground (the trainer service's code), with a progress bar
 *   rheo train --model M --enqueue      produce a RetrainRequest to `training.requests` for the trainer service
 *   rheo train serve                    run the trainer service (consumer group `rheo.trainer`) until SIGTERM
 *
 * Every action reads the models of the project (`--project DIR`, else RHEO_PROJECT, else the current folder).
 *   rheo train trials --model M         the experiment-tracking table: every trial, its parameters and metrics
 */
import { randomUUID } from 'node:crypto';
import { userInfo } from 'node:os';
import { defineActions, type ParsedActions } from '../../kernel/args.ts';
import { createClickHouse } from '../../kernel/clients.ts';
import { loadConfig } from '../../kernel/config.ts';
import { errorMessage } from '../../kernel/errors.ts';
import { createKafka, createProducer } from '../../kernel/kafka.ts';
import { createLogger } from '../../kernel/log.ts';
import { ident, sql } from '../../kernel/sql.ts';
import { type ProjectContext, trainingSpecOf } from '../../projects/context.ts';
import { runMain } from '../../runtime/main.ts';
import { CONTRACTS, type RetrainRequestInput, SchemaCodec } from '../../schemas/index.ts';
import { TOPICS } from '../../topics/catalogue.ts';
import { ACTIONS } from '../../trainers/gate.ts';
import { trainerService } from '../../trainers/index.ts';
import { manualRunRequest, type RunProgressUpdate, runTraining } from '../../trainers/run.ts';
import { connectRunDeps } from '../../trainers/service.ts';
import type { TrainingSpec } from '../../trainers/spec.ts';
import { TRIALS_TABLE } from '../../trainers/tracking.ts';
import { CliError, type CliIO, defineCommand } from '../command.ts';
import { table } from '../format.ts';
import { openCliProject, PROJECT_FLAG } from '../project.ts';

const model = {
  type: 'string',
  value: '<name>',
  required: true,
  description: 'the model, as the project declares it',
} as const;
const integer = (description: string) => ({ type: 'number', integer: true, description }) as const;

const TRAIN_ARGS = defineActions({
  program: 'rheo train',
  defaultAction: 'run',
  actions: {
    run: {
      flags: {
        model,
        trials: integer('hyperparameter trials; default from the spec'),
        seed: integer('the random seed of the search and the training'),
        algorithm: { type: 'enum', values: ['mlp', 'logistic_regression'], description: 'fix the algorithm' },
        epochs: integer('the most epochs per trial'),
        from: { type: 'string', value: '<time>', description: 'start of the training window (epoch ms or ISO time)' },
        to: { type: 'string', value: '<time>', description: 'end of the training window (epoch ms or ISO time)' },
        gate: { type: 'enum', values: ACTIONS, description: 'what a run that passes its quality gate does' },
        enqueue: { type: 'boolean', description: 'produce a RetrainRequest for the trainer service instead of training here' },
        json: { type: 'boolean', description: 'print the result as JSON' },
        project: PROJECT_FLAG,
      },
    },
    serve: {
      flags: { project: PROJECT_FLAG },
      notes: ['Runs the trainer service (consumer group rheo.trainer, from the earliest request) until SIGTERM.'],
    },
    trials: {
      flags: {
        model,
        run: { type: 'string', value: '<run id>', description: 'only this run' },
        limit: { type: 'number', integer: true, min: 1, default: 50, description: 'the most rows' },
        json: { type: 'boolean', description: 'print JSON instead of a table' },
      },
    },
  },
});

type TrainArgs = ParsedActions<typeof TRAIN_ARGS>;

export const trainCommand = defineCommand({
  name: 'train',
  summary: 'train a model in the foreground, enqueue a retraining request, run the trainer service, list trials',
  args: TRAIN_ARGS,
  async run(args, io) {
    if (args.action === 'serve') return serve(args.flags.project);
    if (args.action === 'trials') return trials(args, io);
    const { flags } = args;
    const project = await openCliProject(flags.project);
    const spec = specOf(project, flags.model);
    const params: Record<string, number | string> = {};
    for (const [value, key] of [
      [flags.trials, 'trials'],
      [flags.seed, 'seed'],
      [flags.algorithm, 'algorithm'],
      [flags.epochs, 'epochs'],
      [flags.gate, 'gate_action'],
    ] as const) {
      if (value !== undefined) params[key] = value;
    }
    const from = time(flags.from, '--from');
    const to = time(flags.to, '--to');
    const actor = `user:${safeUser()}`;
    if (flags.enqueue) return enqueue(io, spec.model, actor, params, from, to, flags.json);
    return foreground(io, project, spec, actor, params, from, to, flags.json);
  },
});

function time(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const ms = /^\d+$/.test(value) ? Number(value) : Date.parse(value);
  if (!Number.isFinite(ms)) throw new CliError(`${flag} takes epoch ms or an ISO time, got ${value}`, 2);
  return ms;
}

function safeUser(): string {
  try {
    return userInfo().username || 'unknown';
  } catch {
    return 'unknown';
  }
}

function specOf(project: ProjectContext, model: string): TrainingSpec {
  try {
    return trainingSpecOf(project, model);
  } catch (error) {
    throw new CliError(errorMessage(error));
  }
}

async function foreground(
  io: CliIO,
  project: ProjectContext,
  spec: TrainingSpec,
  actor: string,
  params: Record<string, number | string>,
  from: number | undefined,
  to: number | undefined,
  json: boolean,
): Promise<number> {
  const model = spec.model;
  const config = loadConfig();
  const logger = createLogger('train', { defaultLevel: 'error' });
  const connected = await connectRunDeps(config, logger, project.features);
  const bar = progressBar(io);
  const request = manualRunRequest(model, {
    requestedBy: actor,
    params,
    ...(from !== undefined ? { windowStart: from } : {}),
    ...(to !== undefined ? { windowEnd: to } : {}),
  });
  const abort = new AbortController();
  const onSignal = () => abort.abort(new Error('interrupted'));
  process.once('SIGINT', onSignal);
  try {
    io.err(`training ${model} (run ${request.runId})`);
    const result = await runTraining(connected.deps, spec, request, { signal: abort.signal, onProgress: bar.update });
    bar.done();
    if (json) {
      io.out(JSON.stringify(result, null, 2));
      return 0;
    }
    const gateMetric = spec.gate.metric;
    const metrics = Object.entries(result.metrics)
      .filter(([k]) => ['auc', 'logloss', 'accuracy', 'rmse', 'mae', 'r2'].includes(k))
      .map(([k, v]) => `${k} ${v.toFixed(4)}`)
      .join(', ');
    io.out(`${model}@${result.version} registered, now ${result.stage} (run ${result.runId})`);
    io.out(
      `  test split: ${metrics}${result.productionMetrics ? ` — production: ${gateMetric} ${result.productionMetrics[gateMetric]?.toFixed(4)}` : ''}`,
    );
    io.out(
      `  backend ${result.backend.name}, ${result.rows} rows, dataset ${result.datasetHash.slice(0, 12)}, best ${JSON.stringify(result.bestParams)}`,
    );
    io.out(`  ${result.gate.reason}`);
    return 0;
  } catch (error) {
    bar.done();
    throw new CliError(errorMessage(error));
  } finally {
    process.off('SIGINT', onSignal);
    await connected.close();
  }
}

/** A one-line bar on a terminal (rewritten in place), plain lines otherwise. */
function progressBar(io: CliIO): { update: (u: RunProgressUpdate) => void; done: () => void } {
  const tty = process.stderr.isTTY === true;
  let drawn = false;
  const write = (text: string) => {
    if (tty) {
      process.stderr.write(`\r${text.slice(0, (process.stderr.columns ?? 100) - 1).padEnd((process.stderr.columns ?? 100) - 1)}`);
      drawn = true;
    } else io.err(text);
  };
  return {
    update(u) {
      if (
        u.phase === 'train' &&
        u.epoch !== undefined &&
        u.epochs !== undefined &&
        u.trial !== undefined &&
        u.trials !== undefined
      ) {
        if (!tty) return; // per-epoch lines would flood a log; trial summaries follow
        const done = (u.trial + u.epoch / u.epochs) / u.trials;
        const width = 24;
        const filled = Math.round(done * width);
        const m = u.metrics ?? {};
        const figures = ['loss', 'val_loss', 'val_auc', 'val_rmse']
          .filter((k) => m[k] !== undefined)
          .map((k) => `${k} ${(m[k] as number).toFixed(4)}`)
          .join(' ');
        write(
          `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] trial ${u.trial + 1}/${u.trials} epoch ${u.epoch}/${u.epochs} ${figures}`,
        );
        return;
      }
      if (drawn) {
        process.stderr.write('\n');
        drawn = false;
      }
      io.err(`  ${u.phase}: ${u.message}`);
    },
    done() {
      if (drawn) process.stderr.write('\n');
      drawn = false;
    },
  };
}

async function enqueue(
  io: CliIO,
  model: string,
  actor: string,
  params: Record<string, number | string>,
  from: number | undefined,
  to: number | undefined,
  json: boolean,
): Promise<number> {
  const config = loadConfig();
  const logger = createLogger('train', { defaultLevel: 'error' });
  const codec = await SchemaCodec.fromConfig(config.registry).forTopic(TOPICS.trainingRequests.name, CONTRACTS.RetrainRequest);
  const request: RetrainRequestInput = {
    event_id: randomUUID(),
    event_time: Date.now(),
    model_name: model,
    reason: 'MANUAL',
    requested_by: actor,
    base_version: null,
    evidence: { summary: `requested with rheo train --enqueue by ${actor}`, drift: [], metrics: {} },
    training_window_start: from ?? null,
    training_window_end: to ?? null,
    params,
  };
  const producer = createProducer(createKafka(config.kafka, logger, 'train-cli'));
  await producer.connect();
  try {
    await producer.send({
      topic: TOPICS.trainingRequests.name,
      acks: -1,
      messages: [{ key: model, value: codec.encode(request) }],
    });
  } finally {
    await producer.disconnect();
  }
  if (json)
    io.out(
      JSON.stringify({ request_id: request.event_id, run_id: `run-${request.event_id}`, topic: TOPICS.trainingRequests.name }),
    );
  else
    io.out(
      `request ${request.event_id} sent to ${TOPICS.trainingRequests.name}; a trainer will run it as run-${request.event_id}`,
    );
  return 0;
}

async function serve(projectFlag: string | undefined): Promise<number> {
  await openCliProject(projectFlag); // refuse a missing or invalid project here, as every command does
  await runMain('trainer', trainerService, ['--from', 'earliest', ...(projectFlag ? ['--project', projectFlag] : [])]);
  return Number(process.exitCode ?? 0);
}

async function trials({ flags }: Extract<TrainArgs, { action: 'trials' }>, io: CliIO): Promise<number> {
  const { model, run, limit } = flags;
  const config = loadConfig();
  const clickhouse = createClickHouse(config);
  try {
    const where = run ? sql`model_name = ${model} AND run_id = ${run}` : sql`model_name = ${model}`;
    const result = await clickhouse.query({
      query:
        sql`SELECT run_id, trial, selected, algorithm, backend, epochs_run, best_epoch, round(val_loss, 4) AS val_loss, val_auc, val_rmse, params, test_metrics, event_time
FROM ${ident(`${config.clickhouse.database}.${TRIALS_TABLE}`)} FINAL WHERE ${where}
ORDER BY event_time DESC, run_id, trial LIMIT ${limit}`.text,
      format: 'JSONEachRow',
    });
    const rows = (await result.json()) as Array<Record<string, unknown>>;
    if (flags.json) io.out(JSON.stringify(rows, null, 2));
    else
      io.out(
        table(rows, [
          'run_id',
          'trial',
          'selected',
          'algorithm',
          'backend',
          'epochs_run',
          'best_epoch',
          'val_loss',
          'val_auc',
          'params',
        ]),
      );
    return 0;
  } finally {
    await clickhouse.close();
  }
}
