/**
 * `rheo score`: the batch scorer. Scores the rows of a ClickHouse SELECT (columns: entity_id, the
 * model's inputs, optionally request_time) or the PredictionRequests of a topic offset range, writes
 * predictions to Kafka and ClickHouse, shows a progress bar, and resumes after a crash (run the same
 * command again) without repeating or skipping rows.
 */
import { parseArgs } from 'node:util';
import { artifactResolver, loadServingSettings } from '../../gateway/settings.ts';
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
import { ScoringService } from '../../serving/serve.ts';
import { TOPICS } from '../../topics/catalogue.ts';
import { type CliCommand, CliError, type CliIO } from '../command.ts';

const USAGE = `rheo score --model M (--query "SELECT entity_id, <inputs>… FROM … ORDER BY …" | --topic ${TOPICS.predictionRequests.name} [--range P:FROM-TO,…])
           [--version V] [--batch-size N] [--job ID] [--json]`;

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

export const scoreCommand: CliCommand = {
  name: 'score',
  summary: 'batch-score a ClickHouse query or a topic offset range into predictions (resumable)',
  usage: USAGE,
  async run(argv, io: CliIO) {
    let values: Record<string, string | boolean | undefined>;
    try {
      ({ values } = parseArgs({
        args: argv,
        options: {
          model: { type: 'string' },
          version: { type: 'string' },
          query: { type: 'string' },
          topic: { type: 'string' },
          range: { type: 'string' },
          'batch-size': { type: 'string' },
          job: { type: 'string' },
          json: { type: 'boolean' },
        },
        strict: true,
      }));
    } catch (error) {
      throw new CliError(`${error instanceof Error ? error.message : String(error)}\nusage: ${USAGE}`, 2);
    }
    const model = values.model as string | undefined;
    if (!model) throw new CliError(`--model is required\nusage: ${USAGE}`, 2);
    if (!values.query === !values.topic) throw new CliError(`give exactly one of --query and --topic\nusage: ${USAGE}`, 2);
    const source: BatchSource = values.query
      ? { kind: 'query', query: values.query as string }
      : {
          kind: 'range',
          topic: values.topic as string,
          ...(values.range ? { ranges: parseRanges(values.range as string) } : {}),
        };
    const batchSize = values['batch-size'] === undefined ? 1000 : Number(values['batch-size']);
    if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 100_000)
      throw new CliError('--batch-size must be 1..100000', 2);

    const config = loadConfig();
    const settings = loadServingSettings(config);
    const logger = createLogger('score', { level: process.env.RHEO_LOG_LEVEL ?? 'warn' });
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
          scoring: new ScoringService(host),
          host,
          state,
          logger,
        },
        {
          model,
          source,
          batchSize,
          ...(values.version ? { version: values.version as string } : {}),
          ...(values.job ? { job: values.job as string } : {}),
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
};
