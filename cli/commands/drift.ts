/**
 * `rheo drift report --model M [--from T] [--to T | --last 6h] [--version V] [--json]`: a model's
 * drift reports from ClickHouse (where the archiver lands `monitoring.drift`), one table per feature
 * with its PSI per window as a bar and over time as a sparkline, then the retraining requests.
 * Times are epoch ms or ISO 8601; the default range is the last 24 hours.
 */
import { defineActions } from '../../kernel/args.ts';
import { createClickHouse } from '../../kernel/clients.ts';
import { loadConfig } from '../../kernel/config.ts';
import { errorMessage } from '../../kernel/errors.ts';
import { type DriftWindowRow, type RetrainRow, readDriftReports, readRetrainRequests } from '../../monitoring/drift.ts';
import { DEFAULT_THRESHOLDS, type Thresholds } from '../../processors/drift/scores.ts';
import { CliError, defineCommand } from '../command.ts';
import { table } from '../format.ts';

const SPARKS = '▁▂▃▄▅▆▇█';
const BAR_WIDTH = 24;

const DRIFT_ARGS = defineActions({
  program: 'rheo drift',
  actions: {
    report: {
      flags: {
        model: { type: 'string', value: '<name>', required: true, description: 'the model' },
        from: { type: 'string', value: '<time>', description: 'windows starting at or after (default: --last before --to)' },
        to: { type: 'string', value: '<time>', description: 'windows starting before (default: now)' },
        last: {
          type: 'string',
          value: '<30m|6h|7d>',
          description: 'the range before --to when --from is not given (default 24h)',
        },
        version: { type: 'string', value: '<v>', description: 'only this model version' },
        json: { type: 'boolean', description: 'print JSON' },
      },
      notes: ['Times are epoch ms or ISO 8601.'],
    },
  },
});

export function parseTime(value: string, what: string): number {
  const ms = /^\d+$/.test(value) ? Number(value) : Date.parse(value);
  if (!Number.isFinite(ms)) throw new CliError(`${what} is not a time (epoch ms or ISO 8601): ${value}`, 2);
  return ms;
}

export function parseDuration(value: string): number {
  const match = /^(\d+)(m|h|d)$/.exec(value);
  if (!match) throw new CliError(`--last takes a duration like 30m, 6h or 7d, not ${value}`, 2);
  return Number(match[1]) * { m: 60_000, h: 3_600_000, d: 86_400_000 }[match[2] as 'm' | 'h' | 'd'];
}

/** One character per window: the PSI's height against `top`; `·` for an insufficient window. */
export function sparkline(values: ReadonlyArray<number | null>, top: number): string {
  return values
    .map((v) => (v === null ? '·' : SPARKS[Math.min(SPARKS.length - 1, Math.floor((Math.max(0, v) / top) * SPARKS.length))]))
    .join('');
}

/** A horizontal bar of `value` against `top`, with the warn and alert bands marked `|` where empty. */
export function bar(value: number | null, top: number, thresholds: Thresholds): string {
  if (value === null) return '(insufficient)';
  const cells = Math.round((Math.min(value, top) / top) * BAR_WIDTH);
  const marks = new Set([Math.round((thresholds.warn / top) * BAR_WIDTH), Math.round((thresholds.alert / top) * BAR_WIDTH)]);
  let out = '';
  for (let i = 0; i < BAR_WIDTH; i++) out += i < cells ? '█' : marks.has(i) ? '|' : ' ';
  return out.trimEnd();
}

const at = (ms: number) => new Date(ms).toISOString().slice(0, 16).replace('T', ' ');

export interface FeatureSeries {
  version: string;
  feature: string;
  target: string;
  windows: DriftWindowRow[];
}

export function groupByFeature(rows: readonly DriftWindowRow[]): FeatureSeries[] {
  const series = new Map<string, FeatureSeries>();
  for (const r of rows) {
    const key = `${r.model_version}\u0000${r.target}\u0000${r.feature}`;
    const s = series.get(key) ?? { version: r.model_version, feature: r.feature, target: r.target, windows: [] };
    s.windows.push(r);
    series.set(key, s);
  }
  return [...series.values()];
}

export function renderDriftReport(
  model: string,
  range: { from: number; to: number },
  rows: readonly DriftWindowRow[],
  requests: readonly RetrainRow[],
  thresholds: Thresholds = DEFAULT_THRESHOLDS,
): string {
  const series = groupByFeature(rows);
  const top = Math.max(thresholds.alert * 1.6, ...rows.map((r) => r.psi ?? 0));
  const windows = new Set(rows.map((r) => r.window_start)).size;
  const lines = [
    `drift of ${model}, windows starting ${at(range.from)} → ${at(range.to)} UTC: ${windows} window${windows === 1 ? '' : 's'}, ` +
      `${series.length} series; PSI bands: warn ${thresholds.warn}, alert ${thresholds.alert} (| on the bars)`,
  ];
  for (const s of series) {
    const last = s.windows[s.windows.length - 1] as DriftWindowRow;
    lines.push(
      '',
      `${s.feature} (${s.target === 'PREDICTION' ? 'score' : 'feature'}, version ${s.version})  PSI ${sparkline(
        s.windows.map((w) => w.psi),
        top,
      )}  last ${last.psi === null ? '—' : last.psi.toFixed(3)} ${last.status}`,
    );
    lines.push(
      table(
        s.windows.map((w) => ({
          window: at(w.window_start),
          psi: w.psi === null ? '—' : w.psi.toFixed(3),
          kl: w.kl === null ? '—' : w.kl.toFixed(3),
          status: w.status,
          n: w.count,
          'null%': (w.null_rate * 100).toFixed(1),
          'oor%': (w.out_of_range_rate * 100).toFixed(1),
          late: w.late_count,
          dlq: w.dlq_count,
          bar: bar(w.psi, top, thresholds),
        })),
      )
        .split('\n')
        .map((l) => `  ${l}`)
        .join('\n'),
    );
  }
  lines.push('', requests.length === 0 ? 'retraining requests: none' : `retraining requests: ${requests.length}`);
  for (const r of requests)
    lines.push(`  ${at(r.event_time)}  ${r.reason}  by ${r.requested_by}  base ${r.base_version ?? '—'}: ${r.summary}`);
  return lines.join('\n');
}

export const driftCommand = defineCommand({
  name: 'drift',
  summary: "a model's drift reports per feature, with PSI over time, and its retraining requests",
  args: DRIFT_ARGS,
  async run({ flags }, io) {
    const { model, last, version } = flags;
    const to = flags.to === undefined ? Date.now() : parseTime(flags.to, '--to');
    const from = flags.from !== undefined ? parseTime(flags.from, '--from') : to - (last ? parseDuration(last) : 86_400_000);
    if (from >= to) throw new CliError('--from must be before --to', 2);
    const config = loadConfig();
    const client = createClickHouse(config);
    try {
      const database = config.clickhouse.database;
      const [rows, requests] = await Promise.all([
        readDriftReports(client, { database, model, from, to, ...(version ? { version } : {}) }),
        readRetrainRequests(client, { database, model, from, to }),
      ]);
      if (flags.json) {
        io.out(
          JSON.stringify(
            {
              model,
              from,
              to,
              series: groupByFeature(rows).map((s) => ({ ...s, windows: s.windows.map(({ model_version: _, ...w }) => w) })),
              retrain_requests: requests,
            },
            null,
            2,
          ),
        );
        return 0;
      }
      if (rows.length === 0)
        throw new CliError(
          `no drift reports for ${model} with windows starting ${at(from)} → ${at(to)} UTC (is the drift processor running, and the archiver?)`,
        );
      const newest = rows[rows.length - 1] as DriftWindowRow;
      io.out(
        renderDriftReport(model, { from, to }, rows, requests, { warn: newest.warn_threshold, alert: newest.alert_threshold }),
      );
      return 0;
    } catch (error) {
      if (error instanceof CliError) throw error;
      throw new CliError(`cannot read drift reports from ClickHouse at ${config.clickhouse.url}: ${errorMessage(error)}`);
    } finally {
      await client.close();
    }
  },
});
