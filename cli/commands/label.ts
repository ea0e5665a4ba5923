/**
 * `rheo label --file labels.csv|labels.jsonl`: ground-truth labels from a file, one `Feedback` event
 * per row, to the `feedback` topic (key: prediction id, else entity id). The rows are parsed by
 * monitoring/labels.ts; as with `rheo produce`, the whole file is checked first and nothing is
 * produced when any line is invalid (unless `--skip-invalid`), the reasons listed with their line
 * numbers. Rows without an `event_id` get one derived from their content, so labelling the same file
 * twice writes the same ids (sinks keep one label each). Progress goes to stderr, the summary to
 * stdout (`--json` for a machine-readable one).
 */
import { access } from 'node:fs/promises';
import { defineArgs } from '../../kernel/args.ts';
import { loadConfig } from '../../kernel/config.ts';
import { errorMessage } from '../../kernel/errors.ts';
import { createAdmin, createKafka, createProducer, type ProducerMessage } from '../../kernel/kafka.ts';
import { feedbackKey, type LabelDefaults, type LabelResult, parseLabelRow } from '../../monitoring/labels.ts';
import { CONTRACTS, SchemaCodec } from '../../schemas/index.ts';
import { TOPICS } from '../../topics/catalogue.ts';
import { CliError, defineCommand } from '../command.ts';
import { readFileRows } from '../file-rows.ts';
import { openCliProject, PROJECT_FLAG } from '../project.ts';
import { formatOf, progressBar, progressRenderer } from './produce.ts';

export interface LabelLine {
  line: number;
  result: LabelResult;
}

/** Each row of a JSONL or CSV file as a Feedback event or its problems (pure apart from reading the file). */
export async function* readLabels(path: string, format: 'jsonl' | 'csv', defaults: LabelDefaults): AsyncIterable<LabelLine> {
  for await (const read of readFileRows(path, format)) {
    if ('problems' in read) yield { line: read.line, result: { problems: read.problems } };
    else yield { line: read.line, result: parseLabelRow(read.row, defaults, read.text ? { text: true } : {}) };
  }
}

const LABEL_ARGS = defineArgs({
  program: 'rheo label',
  flags: {
    file: { type: 'string', value: 'labels.csv|labels.jsonl', required: true, description: 'the labels, one per line or row' },
    model: { type: 'string', value: '<name>', description: 'model_name of rows that give none (default: none, every model)' },
    source: { type: 'string', value: '<source>', description: 'label_source of rows that give none (e.g. chargeback)' },
    format: { type: 'enum', values: ['jsonl', 'csv'], description: 'the file format, when its extension does not say' },
    'skip-invalid': { type: 'boolean', description: 'produce the valid labels even when some lines are invalid' },
    project: {
      ...PROJECT_FLAG,
      description: 'check model names against the models this project declares (without it, any name goes)',
    },
    json: { type: 'boolean', description: 'print the summary as JSON' },
  },
  notes: [
    'Columns: prediction_id and/or entity_id (at least one), reference_time (required without prediction_id),',
    'label (a number, or true/false for 1/0), observed_time (default now), model_name, label_source, event_id.',
    'Times are epoch milliseconds or ISO-8601 with a zone. Without event_id, the id is derived from the row,',
    'so labelling the same file again writes the same ids.',
  ],
});

export const labelCommand = defineCommand({
  name: 'label',
  summary: 'produce ground-truth labels (feedback) from a CSV or JSONL file',
  args: LABEL_ARGS,
  async run({ flags }, io) {
    const path = flags.file;
    const format = formatOf(path, flags.format);
    await access(path).catch(() => {
      throw new CliError(`cannot read ${path}`);
    });
    // One `now` for both passes, so the second sees exactly the events the first checked.
    const defaults: LabelDefaults = { now: Date.now(), model: flags.model, source: flags.source };
    // Labels are platform-wide (one feedback topic); a project, when named, catches a misspelt model.
    const declared = flags.project ? new Set((await openCliProject(flags.project)).project.models.map((m) => m.name)) : undefined;
    const undeclared = (name: string | null) => declared !== undefined && name !== null && !declared.has(name);
    if (flags.model !== undefined && undeclared(flags.model))
      throw new CliError(
        `model ${flags.model} is not declared in the project (declared: ${[...(declared ?? [])].join(', ') || 'none'})`,
      );

    // Pass 1: check everything before producing anything.
    let valid = 0;
    const invalid: Array<{ line: number; problems: string[] }> = [];
    for await (const row of readLabels(path, format, defaults)) {
      if (!('feedback' in row.result)) invalid.push({ line: row.line, problems: row.result.problems });
      else if (undeclared(row.result.feedback.model_name))
        invalid.push({
          line: row.line,
          problems: [`model_name ${row.result.feedback.model_name} is not declared in the project`],
        });
      else valid++;
    }
    if (invalid.length > 0) {
      const shown = invalid.slice(0, 10).map((i) => `  line ${i.line}: ${i.problems.join('; ')}`);
      const more = invalid.length > 10 ? `\n  ... and ${invalid.length - 10} more` : '';
      if (!flags['skip-invalid'])
        throw new CliError(
          `${invalid.length} invalid label${invalid.length === 1 ? '' : 's'} in ${path}, nothing produced (--skip-invalid produces the ${valid} valid ones):\n${shown.join('\n')}${more}`,
        );
      io.err(`skipping ${invalid.length} invalid label${invalid.length === 1 ? '' : 's'}:\n${shown.join('\n')}${more}`);
    }
    if (valid === 0) throw new CliError(`no valid labels in ${path}`);

    const config = loadConfig();
    const kafka = createKafka(config.kafka, undefined, 'label');
    const topic = TOPICS.feedback.name;
    const admin = createAdmin(kafka);
    try {
      await admin.connect();
      if (!(await admin.listTopics()).includes(topic))
        throw new CliError(`topic ${topic} does not exist; run \`rheo apply\` (or \`rheo topics ensure\`) first`);
    } catch (error) {
      if (error instanceof CliError) throw error;
      throw new CliError(`cannot reach Kafka at ${config.kafka.brokers.join(',')}: ${errorMessage(error)}`);
    } finally {
      await admin.disconnect();
    }
    const codec = await SchemaCodec.fromConfig(config.registry)
      .forTopic(topic, CONTRACTS.Feedback)
      .catch((error: unknown) => {
        throw new CliError(`cannot produce to ${topic}: ${errorMessage(error)}`);
      });
    const producer = createProducer(kafka);
    await producer.connect().catch((error: unknown) => {
      throw new CliError(`cannot produce to ${topic}: ${errorMessage(error)}`);
    });

    const started = performance.now();
    let sent = 0;
    let byPrediction = 0;
    const render = progressRenderer(io);
    try {
      let batch: ProducerMessage[] = [];
      const flush = async () => {
        await producer.send({ topic, acks: -1, messages: batch });
        sent += batch.length;
        batch = [];
        render(progressBar(sent, valid, performance.now() - started), sent === valid);
      };
      for await (const row of readLabels(path, format, defaults)) {
        if (!('feedback' in row.result) || undeclared(row.result.feedback.model_name)) continue;
        const feedback = row.result.feedback;
        if (feedback.prediction_id !== null) byPrediction++;
        batch.push({ key: feedbackKey(feedback), value: codec.encode(feedback) });
        if (batch.length >= 1000) await flush();
      }
      if (batch.length > 0) await flush();
    } catch (error) {
      throw new CliError(
        `producing to ${topic} failed after ${sent} labels: ${errorMessage(error)} (running it again is safe: the labels keep their event ids)`,
      );
    } finally {
      await producer.disconnect();
    }
    const seconds = Math.round(((performance.now() - started) / 1000) * 100) / 100;
    const summary = {
      topic,
      file: path,
      produced: sent,
      by_prediction_id: byPrediction,
      by_entity_id: sent - byPrediction,
      skipped: invalid.length,
      seconds,
    };
    if (flags.json) io.out(JSON.stringify(summary));
    else
      io.out(
        `produced ${sent} labels to ${topic} in ${seconds} s (${byPrediction} by prediction id, ${sent - byPrediction} by entity)${invalid.length ? ` (${invalid.length} invalid skipped)` : ''}`,
      );
    return 0;
  },
});
