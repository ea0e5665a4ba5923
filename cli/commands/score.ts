/**
 * `rheo score`: the batch scorer. Scores the rows of a ClickHouse SELECT (columns: entity_id, the
 * model's inputs, optionally request_time) or the PredictionRequests of a topic offset range, writes
 * predictions to Kafka and ClickHouse, shows a progress bar, and resumes after a crash (run the same
 * command again) without repeating or skipping rows.
 */
import { artifactResolver, loadServingSettings } from '../../gateway/settings.ts';
import { defineArgs } from '../../kernel/args.ts';
import { createClickHouse } from '../../kernel/clients.ts';
import { loadConfig } from '../../kernel/config.ts';
import { RheoError } from '../../kernel/errors.ts';
import { createKafka } from '../../kernel/kafka.ts';
import { createLogger } from '../../kernel/log.ts';
import { createRegistry } from '../../kernel/metrics.ts';
import { RegistryFollower } from '../../registry/follower.ts';
import { SchemaCodec } from '../../schemas/index.ts';
import { type BatchProgress, type BatchSource, runBatchScore } from '../../serving/batch/job.ts';
import { ModelHost } from '../../serving/host/host.ts';
import { TOPICS } from '../../topics/catalogue.ts';
import { CliError, type CliIO, defineCommand } from '../command.ts';

const SCORE_ARGS = defineArgs({
  program: 'rheo score',
  flags: {
    model: { type: 'string', value: 'M', required: true, description: 'the model to score with' },
    query: {
      type: 'string',
      value: '"SELECT entity_id, <inputs>… FROM … ORDER BY …"',
      description: 'score the rows of this ClickHouse query (optionally with request_time)',
    },
    topic: {
      type: 'string',
      value: TOPICS.predictionRequests.name,
      description: 'score the PredictionRequests of this topic',
    },
    range: { type: 'string', value: 'P:FROM-TO,…', description: 'offsets per partition of --topic (TO exclusive; default all)' },
    version: { type: 'string', value: 'V', description: 'the version to score with (default: production)' },
    'batch-size': { type: 'number', integer: true, min: 1, max: 100_000, default: 1000, description: 'rows per inference batch' },
    job: { type: 'string', value: 'ID', description: 'the job id to resume (default: derived from the source)' },
    json: { type: 'boolean', description: 'print the result as JSON (and no progress)' },
  },
  notes: ['Give exactly one of --query and --topic. Running the same command again resumes an interrupted job.'],
});

/** `0:0-100,1:5-20` → ranges by partition (TO exclusive; either side may be empty for start/end). */
export function parseRanges(text: string): Record<string, { from?: string; to?: string }> {
  const out: Record<string, { from?: string; to?: string }> = {};
  for (const part of text.split(',')) {
    const m = /^(\d+):(\d*)-(\d*)$/.exec(part.trim());
    if (!m) throw new CliError(`--range ${part}: expected PARTITION:FROM-TO`, 2);
    out[m[1] as string] = { ...(m[2] ? { from: m[2] } : {}), ...(m[3] ? { to: m[3] } : {}) };
  }
  return out;
}

export function progressLine(p: BatchProgress, width = 30): string {
  const total = p.total ?? 0;
  const fraction = total > 0 ? Math.min(1, p.rows / total) : p.done ? 1 : 0;
  const filled = Math.round(fraction * width);
  const bar = `${'█'.repeat(filled)}${'░'.repeat(width - filled)}`;
  return `${bar} ${String(Math.round(fraction * 100)).padStart(3)}%  ${p.rows}/${total || '?'} rows  ${p.scored} scored  ${p.skipped} skipped${p.resumedFrom ? `  (resumed at ${p.resumedFrom})` : ''}`;
}

export const scoreCommand = defineCommand({
  name: 'score',
  summary: 'batch-score a ClickHouse query or a topic offset range into predictions (resumable)',
  args: SCORE_ARGS,
  async run({ flags: values }, io: CliIO) {
    const model = values.model;
    if (!values.query === !values.topic)
      throw new CliError(`give exactly one of --query and --topic\n\n${scoreCommand.usage}`, 2);
    const source: BatchSource = values.query
      ? { kind: 'query', query: values.query }
      : {
          kind: 'range',
          topic: values.topic as string,
          ...(values.range ? { ranges: parseRanges(values.range) } : {}),
        };
    const batchSize = values['batch-size'];

    const config = loadConfig();
    const settings = loadServingSettings(config);
    const logger = createLogger('score', { defaultLevel: 'warn' });
    const kafka = createKafka(config.kafka, logger, 'batch-scorer');
    const codec = SchemaCodec.fromConfig(config.registry);
    const clickhouse = createClickHouse(config);
    const follower = new RegistryFollower({ kafka, codec, logger });
    const host = new ModelHost({
      artifacts: artifactResolver(settings),
      logger,
      metrics: createRegistry('batch-scorer', { defaultMetrics: false }),
      session: { maxBatchRows: batchSize },
      serves: (name) => name === model,
    });
    const tty = process.stderr.isTTY;
    let lastPrinted = 0;
    try {
      await follower.start();
      const state = await follower.waitUntilCaughtUp();
      await host.update(state);
      const result = await runBatchScore(
        {
          kafka,
          clickhouse,
          database: config.clickhouse.database,
          codec,
          host,
          state,
          logger,
        },
        {
          model,
          source,
          batchSize,
          ...(values.version ? { version: values.version } : {}),
          ...(values.job ? { job: values.job } : {}),
          onProgress: (p) => {
            if (values.json) return;
            const now = Date.now();
            if (tty) process.stderr.write(`\r${progressLine(p)}`);
            else if (p.done || now - lastPrinted > 1000) {
              io.err(progressLine(p));
              lastPrinted = now;
            }
          },
        },
      );
      if (tty && !values.json) process.stderr.write('\n');
      if (values.json) io.out(JSON.stringify(result, null, 2));
      else {
        io.out(
          result.alreadyComplete
            ? `job ${result.job} was already complete: ${result.scored} predictions by ${model}@${result.version}`
            : `job ${result.job}: ${result.scored} predictions by ${model}@${result.version} → Kafka ${TOPICS.predictions.name} and ClickHouse ${config.clickhouse.database}.predictions` +
                `${result.skipped ? `; ${result.skipped} rows skipped (${result.skippedReasons[0] ?? ''})` : ''}`,
        );
      }
      return 0;
    } catch (error) {
      if (error instanceof RheoError)
        throw new CliError(`${error.code}: ${error.message}`, error.code === 'MODEL_NOT_FOUND' ? 4 : 1);
      throw error;
    } finally {
      await follower.stop();
      await host.close();
      await clickhouse.close();
    }
  },
});
