/**
 * The local stack on loopback, without Docker: Kafka (1 or 3 KRaft nodes), Apicurio Registry, Redis and
 * ClickHouse as processes this module starts, watches and stops. `up` is idempotent (only what is not
 * running starts), `down` signals only pids whose command line still carries the marker we started them with.
 */
import { existsSync, readdirSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { localPortsFrom, stackDirFrom } from '../../kernel/config.ts';
import { CLICKHOUSE_DATABASE, clickhouseService, clickhouseUrl } from './clickhouse.ts';
import { JavaRuntimes } from './java.ts';
import { brokerList, kafkaServices } from './kafka.ts';
import { pidFile, type StackLayout, stackLayout } from './layout.ts';
import {
  errorText,
  isOurs,
  isPortFree,
  launch,
  type PidRecord,
  portConflictMessage,
  portOwner,
  readPidRecord,
  removeFile,
  residentMiB,
  stop,
  tail,
  waitFor,
} from './process.ts';
import { redisService } from './redis.ts';
import { registryService, registryUrl } from './registry.ts';
import type { LocalService, ServiceContext, ServicePort } from './service.ts';

export type BrokerCount = 1 | 3;

export interface StackUpOptions {
  /** Kafka nodes; defaults to the mode the stack last ran with, else 1. */
  brokers?: BrokerCount;
  progress?: (line: string) => void;
  stackDir?: string;
}

export interface ServiceStatus {
  name: string;
  state: 'up' | 'unhealthy' | 'down';
  pid?: number;
  ports: ServicePort[];
  version?: string;
  memory: string;
  rssMiB?: number;
  /** Why it is unhealthy, when it is. */
  problem?: string;
}

export interface StackStatus {
  stackDir: string;
  brokers: BrokerCount;
  running: boolean;
  services: ServiceStatus[];
}

export interface StackUpResult {
  alreadyRunning: boolean;
  started: string[];
  tookMs: number;
  status: StackStatus;
}

interface StackState {
  brokers: BrokerCount;
  updatedAt: string;
}

/** Thrown for failures the user can act on (a taken port, a mode mismatch, a service that did not come up). */
export class StackError extends Error {
  override name = 'StackError';
}

export function stackServices(ctx: ServiceContext): LocalService[] {
  return [redisService(ctx), clickhouseService(ctx), ...kafkaServices(ctx), registryService(ctx)];
}

export async function stackUp(opts: StackUpOptions = {}): Promise<StackUpResult> {
  const started = Date.now();
  const layout = stackLayout(opts.stackDir);
  const progress = opts.progress ?? (() => {});
  await mkdir(layout.stack, { recursive: true });
  return withLock(layout, progress, async () => {
    const state = await readState(layout);
    const brokers = opts.brokers ?? state?.brokers ?? 1;
    const runningMode = await runningKafkaMode(layout, state);
    if (runningMode && runningMode !== brokers) {
      throw new StackError(
        `the stack is running with ${runningMode} Kafka broker${runningMode > 1 ? 's' : ''}; run \`rheo stack down\` first to switch to ${brokers}`,
      );
    }
    const ctx: ServiceContext = { layout, brokers, java: new JavaRuntimes(layout), progress };
    const services = stackServices(ctx);
    const records = new Map<string, PidRecord>();
    for (const service of services) {
      const record = await readPidRecord(pidFile(layout, service.name));
      if (record && isOurs(record)) records.set(service.name, record);
      else if (record) await removeFile(pidFile(layout, service.name));
    }
    const toStart = services.filter((s) => !records.has(s.name));
    await writeState(layout, { brokers, updatedAt: new Date().toISOString() });

    for (const service of toStart) {
      for (const { port, role } of service.ports) {
        if (!(await isPortFree(port)))
          throw new StackError(
            portConflictMessage(role === service.name ? service.name : `${service.name} (${role})`, port, portOwner(port)),
          );
      }
    }

    if (toStart.length > 0) {
      progress(`preparing ${toStart.map((s) => s.name).join(', ')}`);
      await Promise.all(
        toStart.map((s) =>
          s.prepare().catch((error: unknown) => {
            throw new StackError(`cannot prepare ${s.name}: ${errorText(error)}`);
          }),
        ),
      );
      for (const service of toStart) {
        try {
          records.set(service.name, await launch(service.name, service.launchSpec(), pidFile(layout, service.name)));
        } catch (error) {
          throw new StackError(
            `${errorText(error)} (is it installed? sh deploy/local/bootstrap.sh installs the stack's packages)`,
          );
        }
      }
      progress(
        `started ${toStart.map((s) => `${s.name} (pid ${records.get(s.name)?.pid})`).join(', ')}; waiting for health checks`,
      );
    }

    const versions = new Map<string, string>();
    const failures: string[] = [];
    await Promise.all(
      services.map(async (service) => {
        const record = records.get(service.name);
        if (!record) return;
        const t0 = Date.now();
        try {
          const health = await waitFor(`${service.name} health check`, () => service.health(), {
            timeoutMs: service.startTimeoutMs,
            intervalMs: 500,
            alive: () => isOurs(record),
          });
          await service.afterStart?.();
          versions.set(service.name, health.version);
          if (toStart.includes(service)) progress(`${service.name} ready in ${((Date.now() - t0) / 1000).toFixed(1)}s`);
        } catch (error) {
          failures.push(await describeFailure(layout, service, record, error));
        }
      }),
    );
    if (failures.length > 0) {
      throw new StackError(`${failures.join('\n\n')}\n\nservices that came up are still running; \`rheo stack down\` stops them`);
    }
    const status = await collectStatus(layout, brokers, services, versions);
    return { alreadyRunning: toStart.length === 0, started: toStart.map((s) => s.name), tookMs: Date.now() - started, status };
  });
}

async function describeFailure(layout: StackLayout, service: LocalService, record: PidRecord, error: unknown): Promise<string> {
  const alive = isOurs(record);
  if (alive) await stop(record, service.stopGraceMs);
  await removeFile(pidFile(layout, service.name));
  const spec = service.launchSpec();
  const logs = [service.logFile, spec.logFile].filter((f, i, all) => all.indexOf(f) === i);
  const tails = (await Promise.all(logs.map(async (f) => [f, await tail(f, 20)] as const)))
    .filter(([, text]) => text)
    .map(([f, text]) => `--- last lines of ${f}\n${text}`);
  return [`${service.name} did not come up: ${errorText(error)}${alive ? ' (stopped it)' : ''}`, ...tails].join('\n');
}

export interface StackDownResult {
  stopped: Array<{ name: string; pid: number; how: 'stopped' | 'killed' }>;
  purged: boolean;
}

export async function stackDown(
  opts: { purge?: boolean; stackDir?: string; progress?: (line: string) => void } = {},
): Promise<StackDownResult> {
  const layout = stackLayout(opts.stackDir);
  const progress = opts.progress ?? (() => {});
  if (!existsSync(layout.stack)) return { stopped: [], purged: false };
  const result = await withLock(layout, progress, async () => {
    const records = await allPidRecords(layout);
    const stopped: StackDownResult['stopped'] = [];
    const stopOne = async (record: PidRecord, graceMs: number) => {
      const how = await stop(record, graceMs);
      if (how !== 'not-running') {
        stopped.push({ name: record.service, pid: record.pid, how });
        progress(`${record.service} (pid ${record.pid}) ${how}`);
      }
      if (isOurs(record)) throw new StackError(`${record.service} (pid ${record.pid}) did not stop`);
      await removeFile(pidFile(layout, record.service));
    };
    // The registry and the stores first, then the Kafka nodes together (a KRaft quorum shuts down cleanly in parallel).
    const kafka = records.filter((r) => r.service.startsWith('kafka-'));
    const others = records.filter((r) => !r.service.startsWith('kafka-'));
    await Promise.all(others.map((r) => stopOne(r, r.service === 'clickhouse' ? 30_000 : 20_000)));
    await Promise.all(kafka.map((r) => stopOne(r, 30_000)));
    return { stopped, purged: false };
  });
  if (opts.purge) {
    await rm(layout.stack, { recursive: true, force: true });
    progress(`removed ${layout.stack}`);
    result.purged = true;
  }
  return result;
}

export async function stackStatus(opts: { stackDir?: string } = {}): Promise<StackStatus> {
  const layout = stackLayout(opts.stackDir);
  const state = await readState(layout);
  const brokers = (await runningKafkaMode(layout, state)) ?? state?.brokers ?? 1;
  const services = stackServices({ layout, brokers, java: new JavaRuntimes(layout), progress: () => {} });
  return collectStatus(layout, brokers, services);
}

async function collectStatus(
  layout: StackLayout,
  brokers: BrokerCount,
  services: LocalService[],
  known?: Map<string, string>,
): Promise<StackStatus> {
  const statuses = await Promise.all(
    services.map(async (service): Promise<ServiceStatus> => {
      const base = { name: service.name, ports: service.ports, memory: service.memory };
      const record = await readPidRecord(pidFile(layout, service.name));
      if (!record || !isOurs(record)) return { ...base, state: 'down' };
      const rss = residentMiB(record.pid);
      const withPid = { ...base, pid: record.pid, ...(rss !== undefined ? { rssMiB: rss } : {}) };
      const version = known?.get(service.name);
      if (version) return { ...withPid, state: 'up', version };
      try {
        const health = await Promise.race([service.health(), sleep(5000, undefined, { ref: false })]);
        return health
          ? { ...withPid, state: 'up', version: health.version }
          : { ...withPid, state: 'unhealthy', problem: 'health check not passing' };
      } catch (error) {
        return { ...withPid, state: 'unhealthy', problem: errorText(error) };
      }
    }),
  );
  return { stackDir: layout.stack, brokers, running: statuses.every((s) => s.state === 'up'), services: statuses };
}

/** The RHEO_* variables that point clients at this stack (what `rheo stack env` prints). */
export async function stackEnv(opts: { stackDir?: string; brokers?: BrokerCount } = {}): Promise<Record<string, string>> {
  const layout = stackLayout(opts.stackDir);
  const state = await readState(layout);
  const brokers = opts.brokers ?? (await runningKafkaMode(layout, state)) ?? state?.brokers ?? 1;
  return envFor(brokers, opts.stackDir ?? stackDirFrom());
}

export function envFor(brokers: BrokerCount, stackDir = '.stack'): Record<string, string> {
  return {
    RHEO_KAFKA_BROKERS: brokerList(brokers).join(','),
    ...(brokers === 3 ? { RHEO_KAFKA_REPLICATION_FACTOR: '3' } : {}),
    RHEO_SCHEMA_REGISTRY_URL: registryUrl(),
    RHEO_REDIS_URL: `redis://127.0.0.1:${localPortsFrom().redis}/0`,
    RHEO_CLICKHOUSE_URL: clickhouseUrl(),
    RHEO_CLICKHOUSE_DATABASE: CLICKHOUSE_DATABASE,
    RHEO_STACK_DIR: stackDir,
  };
}

async function readState(layout: StackLayout): Promise<StackState | undefined> {
  try {
    const state = JSON.parse(await readFile(layout.state, 'utf8')) as Partial<StackState>;
    return state.brokers === 1 || state.brokers === 3 ? (state as StackState) : undefined;
  } catch {
    return undefined;
  }
}

async function writeState(layout: StackLayout, state: StackState): Promise<void> {
  await writeFile(layout.state, `${JSON.stringify(state, null, 2)}\n`);
}

/** The broker count of the Kafka nodes that are running now, read from their markers (…/brokers-<n>/…). */
async function runningKafkaMode(layout: StackLayout, state: StackState | undefined): Promise<BrokerCount | undefined> {
  for (const record of await allPidRecords(layout)) {
    if (!record.service.startsWith('kafka-') || !isOurs(record)) continue;
    const match = /brokers-(\d)/.exec(record.marker);
    if (match?.[1] === '1' || match?.[1] === '3') return Number(match[1]) as BrokerCount;
    return state?.brokers;
  }
  return undefined;
}

async function allPidRecords(layout: StackLayout): Promise<PidRecord[]> {
  if (!existsSync(layout.pids)) return [];
  const records = await Promise.all(
    readdirSync(layout.pids)
      .filter((f) => f.endsWith('.json'))
      .map((f) => readPidRecord(join(layout.pids, f))),
  );
  return records.filter((r): r is PidRecord => r !== undefined);
}

/** One `up`/`down` at a time per stack directory; a lock left by a dead process is taken over. */
async function withLock<T>(layout: StackLayout, progress: (line: string) => void, body: () => Promise<T>): Promise<T> {
  await mkdir(layout.stack, { recursive: true });
  const deadline = Date.now() + 15 * 60_000;
  let told = false;
  for (;;) {
    try {
      await writeFile(layout.lock, `${process.pid}\n`, { flag: 'wx' });
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const holder = Number((await readFile(layout.lock, 'utf8').catch(() => '')).trim());
      if (!holder || !processExists(holder)) {
        await rm(layout.lock, { force: true });
        continue;
      }
      if (Date.now() > deadline) throw new StackError(`another rheo stack command (pid ${holder}) holds ${layout.lock}`);
      if (!told) progress(`waiting for another rheo stack command (pid ${holder}) to finish`);
      told = true;
      await sleep(500);
    }
  }
  try {
    return await body();
  } finally {
    await rm(layout.lock, { force: true });
  }
}

function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
