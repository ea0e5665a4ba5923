/**
 * The metric names Rheo's services can export, for the tests of what reads them (alert rules, dashboards):
 * every `name: 'rheo_…'` (and the drift processor's `gauge('rheo_…'`) declared in the sources, with the
 * `_bucket`/`_sum`/`_count` series of histograms, plus the default process and Node.js metrics exactly as
 * `kernel/metrics.ts` registers them, plus the series Prometheus itself makes (`up`, `ALERTS`).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRegistry, Histogram } from '../../kernel/metrics.ts';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

const SKIPPED = new Set(['node_modules', 'dist', 'tests', 'bench', 'demo', 'examples', '.git', '.stack', '.cache']);

function sourceFiles(dir: string, out: string[] = []): string[] {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name.startsWith('.') || SKIPPED.has(entry.name)) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) sourceFiles(path, out);
    else if (entry.name.endsWith('.ts')) out.push(path);
  }
  return out;
}

/** `rheo_*` metrics declared in the sources, with the type each is declared as where it can be seen. */
export function declaredRheoMetrics(root = REPO_ROOT): Map<string, 'histogram' | 'other'> {
  const found = new Map<string, 'histogram' | 'other'>();
  const declaration = /(new (Counter|Gauge|Histogram)\(\{\s*name:\s*|gauge\()\s*'(rheo_[a-z0-9_]+)'/g;
  for (const file of sourceFiles(root)) {
    const text = readFileSync(file, 'utf8');
    for (const match of text.matchAll(declaration))
      found.set(match[3] as string, match[2] === 'Histogram' ? 'histogram' : 'other');
  }
  return found;
}

/** Every series name a scrape of a Rheo service (or Prometheus itself) can hold. */
export function exportedSeries(root = REPO_ROOT): Set<string> {
  const names = new Set<string>(['up', 'ALERTS', 'ALERTS_FOR_STATE', 'scrape_duration_seconds', 'scrape_samples_scraped']);
  const add = (name: string, histogram: boolean) => {
    names.add(name);
    if (histogram) for (const suffix of ['_bucket', '_sum', '_count']) names.add(`${name}${suffix}`);
  };
  for (const [name, type] of declaredRheoMetrics(root)) add(name, type === 'histogram');
  const registry = createRegistry('metric-names');
  for (const metric of registry.getMetricsAsArray()) add(metric.name, metric instanceof Histogram);
  registry.clear();
  return names;
}

const KEYWORDS = new Set([
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'and',
  'or',
  'unless',
  'bool',
  'offset',
  'inf',
  'nan',
]);

/**
 * The metric names a PromQL expression reads (a structural reading, not a parser): label matchers,
 * strings, ranges, grouping clauses and function names are set aside; `{__name__=~"a|b"}` names a and b.
 */
export function metricNamesOf(expr: string): string[] {
  const names: string[] = [];
  for (const match of expr.matchAll(/__name__\s*=~?\s*"([^"]*)"/g)) names.push(...(match[1] as string).split('|'));
  const bare = expr
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  for (const match of bare.matchAll(/(?<![A-Za-z0-9_:.$])([A-Za-z_:][A-Za-z0-9_:]*)\s*(\()?/g)) {
    const [, token, call] = match;
    if (call || KEYWORDS.has((token as string).toLowerCase())) continue;
    names.push(token as string);
  }
  return names;
}
