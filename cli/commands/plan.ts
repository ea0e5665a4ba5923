/**
 * `rheo plan` and `rheo apply` (like `terraform plan/apply`): what applying the project would change on
 * the cluster, the schema registry, ClickHouse and Redis (topics, subjects, tables, online key layout),
 * refusing incompatible changes; and the idempotent apply that makes them match the project. The plan
 * logic is `projects/plan.ts`; this file connects to the services, naming any it cannot reach, and
 * prints.
 */
import { connect } from 'node:net';
import { ClickHouseOfflineStore } from '../../features/offline/clickhouse.ts';
import { RedisOnlineStore } from '../../features/online/redis.ts';
import { defineArgs } from '../../kernel/args.ts';
import { type ClickHouseClient, createClickHouse, createRedis } from '../../kernel/clients.ts';
import { loadConfig, type RheoConfig } from '../../kernel/config.ts';
import { errorMessage, RheoError } from '../../kernel/errors.ts';
import { type Admin, createAdmin, createKafka } from '../../kernel/kafka.ts';
import type { ProjectContext } from '../../projects/context.ts';
import {
  type ApplyProjectDeps,
  applyProject,
  type ProjectPlan,
  planProject,
  planRows,
  refusalLines,
  summarize,
  summaryLine,
} from '../../projects/plan.ts';
import { SchemaCodec } from '../../schemas/index.ts';
import { CliError, type CliIO, defineCommand } from '../command.ts';
import { table } from '../format.ts';
import { openCliProject, PROJECT_FLAG } from '../project.ts';
import { bindings } from './schemas.ts';

const json = { type: 'boolean', description: 'print one JSON document instead of tables' } as const;

const PLAN_ARGS = defineArgs({
  program: 'rheo plan',
  flags: { project: PROJECT_FLAG, json },
  notes: [
    'Changes nothing. Exits 1 when a change would be refused (an incompatible subject or a table conflict), listing every reason.',
  ],
});

const APPLY_ARGS = defineArgs({
  program: 'rheo apply',
  flags: { project: PROJECT_FLAG, json },
  notes: [
    'Plans first: when anything is refused it changes nothing and exits 1 with the reasons.',
    'Otherwise registers the core subjects (BACKWARD), ensures the topics (fixing what can be fixed),',
    'applies the feature groups and ensures the ClickHouse catalogue. Running it again changes nothing.',
    'apply exits 3 when topic drift it cannot fix remains (e.g. more partitions than declared).',
  ],
});

const PROBE_TIMEOUT_MS = 20_000;

interface Services {
  deps: ApplyProjectDeps;
  close(): Promise<void>;
}

const redact = (url: string) => url.replace(/\/\/[^@/]*@/, '//[redacted]@');

/** Resolves once a TCP connection to `host:port` opens; rejects with the socket's error (fast, no client retries). */
function tcpOpen(address: string, ms = 5_000): Promise<void> {
  const at = address.lastIndexOf(':');
  const host = address.slice(0, at).replace(/^\[|\]$/g, '');
  const port = Number(address.slice(at + 1));
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port, timeout: ms });
    socket.once('connect', () => {
      socket.destroy();
      resolve();
    });
    socket.once('timeout', () => {
      socket.destroy();
      reject(new Error(`connect timed out after ${ms / 1000} s`));
    });
    socket.once('error', (error) => {
      socket.destroy();
      reject(error);
    });
  });
}

/** `host:port` of a service URL, with the scheme's default port. */
function hostPort(url: string, defaultPort: number): string {
  const parsed = new URL(url);
  return `${parsed.hostname}:${parsed.port || defaultPort}`;
}

/** Any broker accepting a TCP connection, before kafkajs (which retries for many seconds) connects. */
async function anyOpen(addresses: readonly string[]): Promise<void> {
  const results = await Promise.allSettled(addresses.map((a) => tcpOpen(a)));
  const failure = results.find((r) => r.status === 'rejected');
  if (results.some((r) => r.status === 'fulfilled')) return;
  throw failure?.reason ?? new Error('no brokers configured');
}

function within<T>(ms: number, action: () => Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer in ${ms / 1000} s`)), ms);
  });
  return Promise.race([action(), timeout]).finally(() => clearTimeout(timer));
}

/** Connects to the four services, or one CliError naming every one it could not reach. */
async function openServices(config: RheoConfig): Promise<Services> {
  const codec = SchemaCodec.fromConfig(config.registry, { timeoutMs: 10_000 });
  const admin: Admin = createAdmin(createKafka(config.kafka, undefined, 'plan'));
  const clickhouse: ClickHouseClient = createClickHouse(config);
  const redis = createRedis(config);
  const online = new RedisOnlineStore(redis);
  const offline = new ClickHouseOfflineStore(clickhouse, { database: config.clickhouse.database });
  const close = async () => {
    await Promise.allSettled([admin.disconnect(), clickhouse.close()]);
    redis.disconnect();
  };
  const probes: Array<[string, string, () => Promise<unknown>]> = [
    [
      'Kafka',
      config.kafka.brokers.join(','),
      async () => {
        await anyOpen(config.kafka.brokers);
        await admin.connect();
      },
    ],
    ['the schema registry', redact(config.registry.url), () => codec.registry.subjects()],
    [
      'ClickHouse',
      redact(config.clickhouse.url),
      async () => {
        const url = config.clickhouse.url;
        await tcpOpen(hostPort(url, url.startsWith('https:') ? 8443 : 8123));
        const ping = await clickhouse.ping();
        if (!ping.success) throw ping.error;
      },
    ],
    [
      'Redis',
      redact(config.redis.url),
      async () => {
        await tcpOpen(hostPort(config.redis.url, 6379));
        await redis.ping();
      },
    ],
  ];
  const results = await Promise.allSettled(probes.map(([, , probe]) => within(PROBE_TIMEOUT_MS, probe)));
  const failed = results.flatMap((result, i) => {
    if (result.status === 'fulfilled') return [];
    const [service, where] = probes[i] as [string, string, unknown];
    return [`${service} at ${where} (${errorMessage(result.reason)})`];
  });
  if (failed.length > 0) {
    await close();
    throw new CliError(`cannot reach ${failed.join(', ')}: is the stack up? (rheo stack status)`);
  }
  return {
    deps: {
      codec,
      admin,
      clickhouse,
      database: config.clickhouse.database,
      offline,
      online,
      contracts: bindings(),
      ...(config.kafka.replicationFactor ? { replicationFactor: config.kafka.replicationFactor } : {}),
    },
    close,
  };
}

async function withServices<T>(action: (deps: ApplyProjectDeps) => Promise<T>): Promise<T> {
  const services = await openServices(loadConfig());
  try {
    return await action(services.deps);
  } catch (error) {
    if (error instanceof RheoError) throw new CliError(`${error.code}: ${error.message}`);
    throw error;
  } finally {
    await services.close();
  }
}

/** The plan (or what apply did) as four tables, then refusals and warnings, then the summary line. */
export function renderPlan(plan: ProjectPlan, done = false): string {
  const rows = planRows(plan, done);
  const sections = [
    `project ${plan.project.name} (${plan.project.file})`,
    '',
    'topics (Kafka)',
    table(rows.topics),
    '',
    'subjects (schema registry)',
    table(rows.subjects),
    '',
    'tables (ClickHouse)',
    table(rows.tables),
    '',
    'online (Redis)',
    table(rows.online),
  ];
  if (plan.refusals.length > 0) sections.push('', 'refused:', ...refusalLines(plan.refusals).map((l) => `  ${l}`));
  if (plan.warnings.length > 0) sections.push('', 'warnings:', ...plan.warnings.map((w) => `  ${w}`));
  sections.push('', summaryLine(summarize(plan), done));
  return sections.join('\n');
}

function document(plan: ProjectPlan, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ ...plan, ...extra, summary: summarize(plan) }, null, 2);
}

async function plan(io: CliIO, project: ProjectContext, asJson: boolean): Promise<number> {
  const result = await withServices((deps) => planProject(project, deps));
  io.out(asJson ? document(result) : renderPlan(result));
  return result.refusals.length > 0 ? 1 : 0;
}

async function apply(io: CliIO, project: ProjectContext, asJson: boolean): Promise<number> {
  const report = await withServices((deps) => applyProject(project, deps));
  if (!report.applied) {
    if (asJson) io.out(document(report));
    throw new CliError(
      `incompatible change refused, nothing was applied:\n${refusalLines(report.refusals)
        .map((l) => `  ${l}`)
        .join('\n')}`,
      1,
    );
  }
  io.out(asJson ? document(report) : renderPlan(report, true));
  for (const warning of report.warnings) io.err(`warning: ${warning}`);
  return report.warnings.length > 0 ? 3 : 0;
}

export const planCommand = defineCommand({
  name: 'plan',
  summary: 'show what applying the project would change (topics, subjects, tables, Redis), refusing incompatible changes',
  args: PLAN_ARGS,
  async run(args, io) {
    return plan(io, await openCliProject(args.flags.project), args.flags.json);
  },
});

export const applyCommand = defineCommand({
  name: 'apply',
  summary: 'make the cluster, registry, ClickHouse and Redis match the project, idempotently',
  args: APPLY_ARGS,
  async run(args, io) {
    return apply(io, await openCliProject(args.flags.project), args.flags.json);
  },
});
