/**
 * deploy/prometheus: `promtool check config` on the compose scrape config, `promtool check rules` and
 * `promtool test rules` on Rheo's alert rules (Debian's `prometheus` package ships promtool; the bootstrap,
 * deploy/local/bootstrap.sh, installs it, so it is there wherever `npm test` runs). Besides, every series a
 * rule reads is one a Rheo service exports (or Prometheus makes), every alert has a unit test, and every
 * scrape job covers the services of `rheo run` and the gateway.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { SERVICES } from '../../../cli/commands/run.ts';
import { exportedSeries, metricNamesOf, REPO_ROOT } from '../../support/metrics.ts';

const DIR = join(REPO_ROOT, 'deploy', 'prometheus');
const RULES = join(DIR, 'rules', 'rheo.rules.yml');
const RULE_TESTS = join(DIR, 'rules', 'rheo.rules.test.yml');

function promtool(): string | undefined {
  const found = spawnSync('sh', ['-c', 'command -v promtool'], { encoding: 'utf8' });
  return found.status === 0 ? found.stdout.trim() : undefined;
}
const PROMTOOL = promtool();

function run(args: string[], cwd = DIR): { status: number | null; output: string } {
  const result = spawnSync(PROMTOOL as string, args, { cwd, encoding: 'utf8' });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

interface Rule {
  alert?: string;
  record?: string;
  expr: string;
}
const rules = (parse(readFileSync(RULES, 'utf8')) as { groups: Array<{ name: string; rules: Rule[] }> }).groups.flatMap(
  (g) => g.rules,
);

describe('deploy/prometheus rules, read', () => {
  it('read only series Rheo exports, Prometheus makes, or a rule records', () => {
    const known = exportedSeries();
    for (const rule of rules.filter((r) => r.record)) known.add(rule.record as string);
    for (const rule of rules) {
      const names = metricNamesOf(rule.expr);
      if (rule.alert) expect(names.length, `${rule.alert} reads a series`).toBeGreaterThan(0);
      expect(
        names.filter((n) => !known.has(n)),
        `${rule.alert ?? rule.record}: ${rule.expr}`,
      ).toEqual([]);
    }
  });

  it('cover what operators page on, and each alert has a promtool unit test', () => {
    const alerts = rules.filter((r) => r.alert).map((r) => r.alert as string);
    for (const expected of [
      'RheoDriftAlert',
      'RheoLiveQualityBelowGate',
      'RheoConsumerLagGrowing',
      'RheoDeadLetters',
      'RheoPredictionLogLoss',
      'RheoGatewayLatencyHigh',
      'RheoGatewayErrorRate',
      'RheoServiceRestarting',
      'RheoRolloutWaitingApproval',
    ])
      expect(alerts).toContain(expected);
    const tests = parse(readFileSync(RULE_TESTS, 'utf8')) as {
      tests: Array<{ alert_rule_test: Array<{ alertname: string; exp_alerts: unknown[] }> }>;
    };
    const firing = new Set(
      tests.tests.flatMap((t) => t.alert_rule_test.filter((a) => a.exp_alerts.length > 0).map((a) => a.alertname)),
    );
    const silent = new Set(
      tests.tests.flatMap((t) => t.alert_rule_test.filter((a) => a.exp_alerts.length === 0).map((a) => a.alertname)),
    );
    for (const alert of alerts) {
      expect(firing.has(alert), `${alert} is tested firing`).toBe(true);
      expect(silent.has(alert), `${alert} is tested not firing`).toBe(true);
    }
  });

  it('are scraped from every Rheo service of the compose file', () => {
    const config = parse(readFileSync(join(DIR, 'prometheus.yml'), 'utf8')) as {
      rule_files: string[];
      scrape_configs: Array<{
        job_name: string;
        dns_sd_configs?: Array<{ names: string[]; port: number }>;
        authorization?: unknown;
      }>;
    };
    expect(config.rule_files).toEqual(['rules/rheo.rules.yml']);
    const jobs = Object.fromEntries(config.scrape_configs.map((j) => [j.job_name, j]));
    expect(jobs['rheo-services']?.dns_sd_configs?.[0]?.names.sort()).toEqual(Object.keys(SERVICES).sort());
    expect(jobs['rheo-services']?.dns_sd_configs?.[0]?.port).toBe(9464);
    expect(jobs['rheo-gateway']?.dns_sd_configs?.[0]).toMatchObject({ names: ['gateway'], port: 8080 });
    expect(jobs['rheo-gateway']?.authorization, 'the gateway needs a predict-scope key').toBeDefined();
    const compose = readFileSync(join(REPO_ROOT, 'deploy/compose/compose.yaml'), 'utf8');
    expect(compose).toContain('prometheus:rheo-compose-metrics-key:predict');
  });
});

// promtool is installed by the bootstrap; if it is missing the suite says so instead of passing quietly.
describe.skipIf(!PROMTOOL)(
  PROMTOOL
    ? `promtool (${PROMTOOL})`
    : 'promtool: NOT INSTALLED — run `sh deploy/local/bootstrap.sh` (Debian package prometheus)',
  () => {
    it('check rules: the rules parse and their templates are valid', () => {
      const { status, output } = run(['check', 'rules', RULES]);
      expect(output).toMatch(/SUCCESS: \d+ rules found/);
      expect(status, output).toBe(0);
    });

    it('check config: the compose scrape config is valid', () => {
      const { status, output } = run(['check', 'config', 'prometheus.yml']);
      expect(status, output).toBe(0);
    });

    it('test rules: every alert fires when its unit test says, with the labels and annotations it says', () => {
      const { status, output } = run(['test', 'rules', RULE_TESTS]);
      expect(output).toMatch(/SUCCESS/);
      expect(status, output).toBe(0);
    });

    it('test rules fails when an expectation is wrong (the tests are not vacuous)', () => {
      const dir = mkdtempSync(join(tmpdir(), 'rheo-rules-'));
      try {
        copyFileSync(RULES, join(dir, 'rheo.rules.yml'));
        const tests = readFileSync(RULE_TESTS, 'utf8');
        const broken = tests.replace(
          '{ severity: ticket, model: fraud_detector, version: 1.1.0 }',
          '{ severity: page, model: fraud_detector, version: 1.1.0 }',
        );
        expect(broken).not.toBe(tests);
        writeFileSync(join(dir, 'broken.test.yml'), broken);
        const { status, output } = run(['test', 'rules', 'broken.test.yml'], dir);
        expect(output).toMatch(/RheoDriftAlert/);
        expect(status).not.toBe(0);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  },
);

if (!PROMTOOL) console.warn('tests/unit/deploy/prometheus.test.ts: promtool is not installed; the promtool checks were SKIPPED');
