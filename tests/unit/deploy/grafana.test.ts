/**
 * deploy/grafana: the dashboards, read structurally (whether each query returns data is checked against
 * a live Prometheus after a demo run, not here). Every panel has at least one query; every query names
 * only series a Rheo service registers (the `name: 'rheo_…'` declarations and the default process and
 * Node.js metrics of kernel/metrics.ts), Prometheus makes, or a Rheo rule records; every query's
 * parentheses and braces balance; panels use the dashboard's Prometheus variable; uids are unique; the
 * provisioning points Grafana at the folder compose mounts.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { exportedSeries, metricNamesOf, REPO_ROOT } from '../../support/metrics.ts';

const DIR = join(REPO_ROOT, 'deploy', 'grafana');

interface Target {
  expr: string;
  refId: string;
}
interface Panel {
  id: number;
  type: string;
  title: string;
  datasource?: { type: string; uid: string };
  targets?: Target[];
  gridPos: { x: number; y: number; w: number; h: number };
}
interface Dashboard {
  uid: string;
  title: string;
  panels: Panel[];
  templating: { list: Array<{ name: string; type: string; query: string | { query: string } }> };
}

const dashboards = readdirSync(join(DIR, 'dashboards'))
  .filter((f) => f.endsWith('.json'))
  .map((file) => ({ file, board: JSON.parse(readFileSync(join(DIR, 'dashboards', file), 'utf8')) as Dashboard }));

const known = exportedSeries();
const rules = parse(readFileSync(join(REPO_ROOT, 'deploy/prometheus/rules/rheo.rules.yml'), 'utf8')) as {
  groups: Array<{ rules: Array<{ record?: string }> }>;
};
for (const rule of rules.groups.flatMap((g) => g.rules)) if (rule.record) known.add(rule.record);

function balanced(expr: string): boolean {
  const pairs: Record<string, string> = { ')': '(', '}': '{', ']': '[' };
  const stack: string[] = [];
  const bare = expr.replace(/"(?:[^"\\]|\\.)*"/g, '""');
  for (const c of bare) {
    if (c === '(' || c === '{' || c === '[') stack.push(c);
    else if (c in pairs && stack.pop() !== pairs[c]) return false;
  }
  return stack.length === 0;
}

describe('deploy/grafana dashboards', () => {
  it('are the overview, model, features and processors dashboards, with unique uids', () => {
    expect(dashboards.map((d) => d.file).sort()).toEqual(['features.json', 'model.json', 'overview.json', 'processors.json']);
    const uids = dashboards.map((d) => d.board.uid);
    expect(new Set(uids).size).toBe(uids.length);
  });

  it.each(dashboards.map((d) => [d.file, d.board] as const))('%s: every panel queries only series that exist', (_, board) => {
    const panels = board.panels.filter((p) => p.type !== 'row');
    expect(panels.length).toBeGreaterThan(3);
    const ids = board.panels.map((p) => p.id);
    expect(new Set(ids).size, 'panel ids unique').toBe(ids.length);
    for (const panel of panels) {
      const where = `${board.uid} / ${panel.title}`;
      expect(panel.targets?.length, `${where} has a query`).toBeGreaterThan(0);
      // biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana's variable syntax, not a template literal
      expect(panel.datasource, where).toEqual({ type: 'prometheus', uid: '${datasource}' });
      expect(panel.gridPos.x + panel.gridPos.w, `${where} fits the grid`).toBeLessThanOrEqual(24);
      for (const target of panel.targets ?? []) {
        expect(balanced(target.expr), `${where}: ${target.expr}`).toBe(true);
        const names = metricNamesOf(target.expr);
        expect(names.length, `${where}: ${target.expr} reads a series`).toBeGreaterThan(0);
        expect(
          names.filter((n) => !known.has(n)),
          `${where}: ${target.expr}`,
        ).toEqual([]);
      }
    }
  });

  it.each(dashboards.map((d) => [d.file, d.board] as const))(
    '%s: its variables query series that exist, and its panels use them',
    (_, board) => {
      const variables = board.templating.list;
      expect(variables.find((v) => v.name === 'datasource')?.type).toBe('datasource');
      const text = JSON.stringify(board.panels);
      for (const variable of variables.filter((v) => v.type === 'query')) {
        const query = typeof variable.query === 'string' ? variable.query : variable.query.query;
        const match = /^label_values\((.+),\s*(\w+)\)$/.exec(query);
        expect(match, `${variable.name}: ${query}`).not.toBeNull();
        expect(metricNamesOf(match?.[1] ?? '').filter((n) => !known.has(n))).toEqual([]);
        expect(text, `panels use $${variable.name}`).toContain(`$${variable.name}`);
      }
    },
  );

  it('show drift against the PSI bands and live quality against the gate on the model dashboard', () => {
    const model = dashboards.find((d) => d.file === 'model.json')?.board as Dashboard;
    const text = JSON.stringify(model);
    expect(text).toContain('rheo_drift_psi{model=\\"$model\\"}');
    expect(text).toMatch(/"value":0\.1\b/);
    expect(text).toMatch(/"value":0\.25\b/);
    expect(text).toContain('rheo:model_quality_gate:minimum');
  });

  it('are provisioned from the folder compose mounts, with the Prometheus datasource', () => {
    const provider = parse(readFileSync(join(DIR, 'provisioning/dashboards/rheo.yml'), 'utf8')) as {
      providers: Array<{ options: { path: string } }>;
    };
    const compose = readFileSync(join(REPO_ROOT, 'deploy/compose/compose.yaml'), 'utf8');
    expect(compose).toContain(`../grafana/dashboards:${provider.providers[0]?.options.path}:ro`);
    const datasource = parse(readFileSync(join(DIR, 'provisioning/datasources/prometheus.yml'), 'utf8')) as {
      datasources: Array<{ type: string; url: string }>;
    };
    expect(datasource.datasources[0]).toMatchObject({ type: 'prometheus', url: 'http://prometheus:9090' });
  });
});
