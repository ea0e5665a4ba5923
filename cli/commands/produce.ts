/**
 * `rheo produce <group> --file data.jsonl|csv`: feature events from a file to `features.<group>`.
 * The whole file is checked against the declaration first; when any line is invalid nothing is
 * produced (unless `--skip-invalid`) and the reasons are listed with their line numbers. Progress
 * goes to stderr; the summary to stdout (`--json` for a machine-readable one).
 */
import { access } from 'node:fs/promises';
import { extname } from 'node:path';
import type { FeatureGroupDecl } from '../../features/declaration.ts';
import { type FeatureEventRecord, parseFeatureInput } from '../../features/input.ts';
import { FeatureProducer } from '../../features/producer.ts';
import { defineArgs } from '../../kernel/args.ts';
import { loadConfig } from '../../kernel/config.ts';
import { errorMessage } from '../../kernel/errors.ts';
import { createAdmin, createKafka, type ProducerMessage } from '../../kernel/kafka.ts';
import { featureTopic } from '../../topics/catalogue.ts';
import { CliError, type CliIO, defineCommand, processIO } from '../command.ts';
import { readFileRows } from '../file-rows.ts';
import { PROJECT_FLAG } from '../project.ts';
import { projectRegistry } from './features.ts';

export interface FileEvent {
  line: number;
  result: ReturnType<typeof parseFeatureInput>;
}

/** Each event of a JSONL or CSV file, checked against the group (pure apart from reading the file). */
export async function* readEvents(path: string, group: FeatureGroupDecl, format: 'jsonl' | 'csv'): AsyncIterable<FileEvent> {
  for await (const read of readFileRows(path, format)) {
    if ('problems' in read) yield { line: read.line, result: { problems: read.problems } };
    else yield { line: read.line, result: parseFeatureInput(group, read.row, read.text ? { text: true } : {}) };
  }
}

const FORMATS = ['jsonl', 'ndjson', 'json', 'csv'] as const;

export function formatOf(path: string, explicit?: (typeof FORMATS)[number]): 'jsonl' | 'csv' {
  const format = explicit ?? extname(path).slice(1).toLowerCase();
  if (['jsonl', 'ndjson', 'json'].includes(format)) return 'jsonl';
  if (format === 'csv') return 'csv';
  throw new CliError(`cannot tell the format of ${path}; use .jsonl or .csv, or --format jsonl|csv`, 2);
}

/** `[██████░░░░░░] 52% 5200/10000 events, 8400/s` */
export function progressBar(done: number, total: number, elapsedMs: number, width = 24): string {
  const share = total === 0 ? 1 : done / total;
  const filled = Math.round(share * width);
  const rate = elapsedMs > 0 ? Math.round((done / elapsedMs) * 1000) : 0;
  return `[${'█'.repeat(filled)}${'░'.repeat(width - filled)}] ${Math.floor(share * 100)}% ${done}/${total} events, ${rate}/s`;
}

const PRODUCE_ARGS = defineArgs({
  program: 'rheo produce',
  positionals: [{ name: 'group', description: 'the feature group the events belong to', required: true }],
  flags: {
    file: { type: 'string', value: 'data.jsonl|data.csv', required: true, description: 'the events, one per line or row' },
    format: { type: 'enum', values: FORMATS, description: 'the file format, when its extension does not say' },
    'skip-invalid': { type: 'boolean', description: 'produce the valid events even when some lines are invalid' },
    json: { type: 'boolean', description: 'print the summary as JSON' },
    project: PROJECT_FLAG,
  },
});

export const produceCommand = defineCommand({
  name: 'produce',
  summary: 'produce feature events of a group from a JSONL or CSV file, checked against its declaration',
  args: PRODUCE_ARGS,
  async run({ flags, positionals }, io) {
    const name = positionals.group;
    const path = flags.file;
    const format = formatOf(path, flags.format);
    const registry = await projectRegistry(flags.project);
    let group: FeatureGroupDecl;
    try {
      group = registry.get(name);
    } catch (error) {
      throw new CliError(errorMessage(error));
    }
    await access(path).catch(() => {
      throw new CliError(`cannot read ${path}`);
    });

    // Pass 1: check everything before producing anything.
    let valid = 0;
    const invalid: Array<{ line: number; problems: string[] }> = [];
    for await (const event of readEvents(path, group, format)) {
      if ('event' in event.result) valid++;
      else invalid.push({ line: event.line, problems: event.result.problems });
    }
    const skip = flags['skip-invalid'];
    if (invalid.length > 0) {
      const shown = invalid.slice(0, 10).map((i) => `  line ${i.line}: ${i.problems.join('; ')}`);
      const more = invalid.length > 10 ? `\n  ... and ${invalid.length - 10} more` : '';
      if (!skip)
        throw new CliError(
          `${invalid.length} invalid event${invalid.length === 1 ? '' : 's'} in ${path}, nothing produced (--skip-invalid produces the ${valid} valid ones):\n${shown.join('\n')}${more}`,
        );
      io.err(`skipping ${invalid.length} invalid events:\n${shown.join('\n')}${more}`);
    }
    if (valid === 0) throw new CliError(`no valid events in ${path}`);

    const config = loadConfig();
    const kafka = createKafka(config.kafka, undefined, 'produce');
    const topic = featureTopic(group.name).name;
    const admin = createAdmin(kafka);
    try {
      await admin.connect();
      if (!(await admin.listTopics()).includes(topic))
        throw new CliError(`topic ${topic} does not exist; run \`rheo apply\` first`);
    } finally {
      await admin.disconnect();
    }
    const producer = await FeatureProducer.create(config, group, { kafka }).catch((error: unknown) => {
      throw new CliError(`cannot produce to ${topic}: ${errorMessage(error)}`);
    });
    const started = performance.now();
    let sent = 0;
    const render = progressRenderer(io);
    try {
      let batch: ProducerMessage[] = [];
      const flush = async () => {
        await producer.sendMessages(batch, batch.length);
        sent += batch.length;
        batch = [];
        render(progressBar(sent, valid, performance.now() - started), sent === valid);
      };
      for await (const event of readEvents(path, group, format)) {
        if (!('event' in event.result)) continue;
        batch.push(producer.encodeChecked(event.result.event as FeatureEventRecord));
        if (batch.length >= 1000) await flush();
      }
      if (batch.length > 0) await flush();
    } catch (error) {
      throw new CliError(`producing to ${topic} failed after ${sent} events: ${errorMessage(error)}`);
    } finally {
      await producer.close();
    }
    const seconds = (performance.now() - started) / 1000;
    const summary = {
      group: group.name,
      topic,
      produced: sent,
      skipped: invalid.length,
      seconds: Math.round(seconds * 100) / 100,
    };
    if (flags.json) io.out(JSON.stringify(summary));
    else
      io.out(
        `produced ${sent} events to ${topic} in ${summary.seconds} s${invalid.length ? ` (${invalid.length} invalid skipped)` : ''}`,
      );
    return 0;
  },
});

/** On a terminal the bar redraws in place; otherwise a line per tenth of the way. */
export function progressRenderer(io: CliIO): (line: string, last: boolean) => void {
  if (io === processIO && process.stderr.isTTY) return (line, last) => process.stderr.write(`\r${line}${last ? '\n' : ''}`);
  let lastTenth = -1;
  return (line, last) => {
    const tenth = Math.floor(Number(/(\d+)%/.exec(line)?.[1] ?? 0) / 10);
    if (tenth !== lastTenth || last) {
      lastTenth = tenth;
      io.err(line);
    }
  };
}
