/**
 * The supervisor `rheo up` leaves running: one detached process that runs every member of a plan
 * (plan.ts) as its own child process and keeps them running. It promises:
 *
 * - each member's stdout and stderr are appended to `<stack>/logs/services/<member>.log`;
 * - a member that exits without being asked to is started again after the backoff of backoff.ts,
 *   counted in `restarts` and logged; crashlooping members keep being retried, and are shown as such;
 * - `/readyz` of every live member is probed every `probeIntervalMs`, and the state file (state.ts)
 *   is rewritten on every change;
 * - its control port (loopback HTTP): `GET /members` (the state), `POST /members/<name>/restart`
 *   (SIGTERM, wait, start; not a crash), `POST /shutdown`;
 * - on `POST /shutdown`, SIGTERM or SIGINT it stops every member (SIGTERM, SIGKILL after
 *   `stopGraceMs`), writes the final state and exits; it never leaves a member it started behind.
 *
 * No dependency order, no configuration language: a list of members, restarts with backoff, a state
 * file and a control port.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync, writeSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { errorMessage } from '../../../kernel/errors.ts';
import type { Logger } from '../../../kernel/log.ts';
import { afterCrash, type BackoffPolicy, type CrashRecord, DEFAULT_BACKOFF, isCrashlooping, NO_CRASHES } from './backoff.ts';
import type { MemberPlan, ServicesPlan } from './plan.ts';
import { health } from './probe.ts';
import {
  type MemberExit,
  type MemberState,
  type MemberStateName,
  memberLog,
  type ServicesLayout,
  type ServicesState,
  writeServicesState,
} from './state.ts';

/** What `up` hands the supervisor (written to the plan file, whose path is the supervisor's marker). */
export interface SupervisorSpec {
  plan: ServicesPlan;
  /** The Node binary and its flags for every member. */
  node: string;
  nodeArgs: string[];
  /** The CLI entry the members run: cli/main.ts in a checkout, dist/cli/main.js when installed. */
  entry: string;
  cwd: string;
  layout: ServicesLayout;
}

export interface SupervisorOptions {
  spec: SupervisorSpec;
  /** The supervisor's own marker (the plan file's path), recorded in the state. */
  marker: string;
  logger: Logger;
  policy?: BackoffPolicy;
  probeIntervalMs?: number;
  stopGraceMs?: number;
  env?: NodeJS.ProcessEnv;
}

interface Member {
  plan: MemberPlan;
  marker: string;
  log: string;
  child: ChildProcess | undefined;
  pid: number | null;
  startedAtMs: number | null;
  ready: boolean;
  everReady: boolean;
  restarts: number;
  crashes: CrashRecord;
  lastExit: MemberExit | null;
  /** What an exit means: a crash (`run`), or one we asked for. */
  intent: 'run' | 'restart' | 'stop';
  stopped: boolean;
  timer: NodeJS.Timeout | undefined;
  nextStartAtMs: number | null;
  exited: Promise<void>;
  /** A restart in progress, so two requests do not race. */
  busy: Promise<number | null> | undefined;
}

export class Supervisor {
  private readonly spec: SupervisorSpec;
  private readonly log: Logger;
  private readonly policy: BackoffPolicy;
  private readonly probeIntervalMs: number;
  private readonly stopGraceMs: number;
  private readonly env: NodeJS.ProcessEnv;
  private readonly marker: string;
  private readonly members: Member[];
  private readonly startedAt = new Date().toISOString();
  private server: Server | undefined;
  private controlPort: number | null = null;
  private probeTimer: NodeJS.Timeout | undefined;
  private stopping: Promise<void> | undefined;
  private readonly stopped: Promise<void>;
  private markStopped: () => void = () => {};
  private writing: Promise<void> | undefined;
  private dirty = false;

  constructor(options: SupervisorOptions) {
    this.spec = options.spec;
    this.log = options.logger;
    this.policy = options.policy ?? DEFAULT_BACKOFF;
    this.probeIntervalMs = options.probeIntervalMs ?? 2_000;
    this.stopGraceMs = options.stopGraceMs ?? 30_000;
    this.env = options.env ?? process.env;
    this.marker = options.marker;
    this.stopped = new Promise((resolve) => {
      this.markStopped = resolve;
    });
    this.members = this.spec.plan.members.map((plan) => ({
      plan,
      marker: [this.spec.entry, ...plan.args].join(' '),
      log: memberLog(this.spec.layout, plan.name),
      child: undefined,
      pid: null,
      startedAtMs: null,
      ready: false,
      everReady: false,
      restarts: 0,
      crashes: NO_CRASHES,
      lastExit: null,
      intent: 'run',
      stopped: false,
      timer: undefined,
      nextStartAtMs: null,
      exited: Promise.resolve(),
      busy: undefined,
    }));
  }

  /** Listens on the control port, starts every member, and keeps probing them. */
  async start(): Promise<void> {
    await mkdir(this.spec.layout.logs, { recursive: true });
    this.server = createServer((request, response) => {
      this.handle(request, response).catch((error: unknown) => reply(response, 500, { error: errorMessage(error) }));
    });
    await new Promise<void>((resolve, reject) => {
      this.server?.once('error', reject);
      this.server?.listen({ host: '127.0.0.1', port: 0 }, () => resolve());
    });
    this.controlPort = (this.server.address() as AddressInfo).port;
    if (this.stopping) return; // a SIGTERM while it was getting ready: start nothing
    this.log.info(
      { control_port: this.controlPort, project: this.spec.plan.project, members: this.members.map((m) => m.plan.name) },
      'supervisor started',
    );
    for (const member of this.members) this.spawnMember(member);
    this.persist();
    this.probeTimer = setInterval(() => void this.probeAll(), this.probeIntervalMs);
  }

  /** Stops every member (SIGTERM, SIGKILL after the grace period) and the control port; idempotent. */
  shutdown(reason: string): Promise<void> {
    this.stopping ??= this.stopAll(reason);
    return this.stopping;
  }

  /** Settles once a shutdown (asked for by anyone) has stopped every member. */
  whenStopped(): Promise<void> {
    return this.stopped;
  }

  /** The state file's content, as it is now. */
  snapshot(): ServicesState {
    const now = Date.now();
    return {
      version: 1,
      updated_at: new Date(now).toISOString(),
      supervisor: {
        pid: process.pid,
        marker: this.marker,
        control_port: this.controlPort,
        started_at: this.startedAt,
        project: this.spec.plan.project,
        stopping: this.stopping !== undefined,
      },
      members: this.members.map((m): MemberState => {
        const crashlooping = isCrashlooping(m.crashes, now, this.policy);
        return {
          name: m.plan.name,
          service: m.plan.service,
          pid: m.child ? m.pid : null,
          marker: m.marker,
          port: m.plan.port,
          state: stateOf(m, crashlooping),
          started_at: m.startedAtMs === null ? null : new Date(m.startedAtMs).toISOString(),
          restarts: m.restarts,
          crashlooping,
          last_exit: m.lastExit,
          next_start_at: m.timer && m.nextStartAtMs !== null ? new Date(m.nextStartAtMs).toISOString() : null,
          log: m.log,
        };
      }),
    };
  }

  /** Restarts a member on request (not a crash): SIGTERM, wait, start. Resolves its new pid. */
  restart(name: string): Promise<number | null> {
    const member = this.members.find((m) => m.plan.name === name);
    if (!member) throw new Error(`no member "${name}"`);
    member.busy ??= this.restartMember(member).finally(() => {
      member.busy = undefined;
    });
    return member.busy;
  }

  private async restartMember(member: Member): Promise<number | null> {
    if (this.stopping) throw new Error('the supervisor is shutting down');
    this.log.info({ member: member.plan.name, pid: member.pid }, 'restart requested');
    if (member.timer) {
      clearTimeout(member.timer);
      member.timer = undefined;
    }
    if (member.child) {
      member.intent = 'restart';
      await this.terminate(member);
    }
    if (this.stopping) return null;
    member.intent = 'run';
    member.crashes = NO_CRASHES;
    this.spawnMember(member, 'restart requested');
    this.persist();
    return member.pid;
  }

  private spawnMember(member: Member, why = 'start'): void {
    const { plan } = member;
    member.timer = undefined;
    member.nextStartAtMs = null;
    member.ready = false;
    member.everReady = false;
    member.stopped = false;
    member.startedAtMs = Date.now();
    const fd = openSync(member.log, 'a');
    let child: ChildProcess;
    try {
      writeSync(fd, `--- ${new Date().toISOString()} rheo supervisor: starting ${plan.name} (${why})\n`);
      child = spawn(this.spec.node, [...this.spec.nodeArgs, this.spec.entry, ...plan.args], {
        cwd: this.spec.cwd,
        env: { ...this.env, ...plan.env },
        stdio: ['ignore', fd, fd],
      });
    } finally {
      closeSync(fd);
    }
    member.child = child;
    member.pid = child.pid ?? null;
    let settle: () => void = () => {};
    member.exited = new Promise<void>((resolve) => {
      settle = resolve;
    });
    let done = false;
    const onEnd = (code: number | null, signal: NodeJS.Signals | null, error?: Error) => {
      if (done) return;
      done = true;
      this.onExit(member, child, code, signal, error);
      settle();
    };
    child.once('error', (error) => onEnd(null, null, error));
    child.once('exit', (code, signal) => onEnd(code, signal));
    this.log.info({ member: plan.name, pid: member.pid, port: plan.port, restarts: member.restarts }, 'member started');
  }

  private onExit(member: Member, child: ChildProcess, code: number | null, signal: NodeJS.Signals | null, error?: Error): void {
    if (member.child !== child) return;
    const exitedAtMs = Date.now();
    member.child = undefined;
    member.ready = false;
    member.lastExit = { code, signal, at: new Date(exitedAtMs).toISOString() };
    const fields = { member: member.plan.name, pid: member.pid, code, signal, ...(error ? { error: error.message } : {}) };
    if (member.intent !== 'run' || this.stopping) {
      if (member.intent === 'stop' || this.stopping) member.stopped = true;
      this.log.info(fields, 'member stopped');
      this.persist();
      return;
    }
    const decision = afterCrash(member.crashes, { startedAtMs: member.startedAtMs ?? exitedAtMs, exitedAtMs }, this.policy);
    member.crashes = decision.record;
    member.nextStartAtMs = exitedAtMs + decision.delayMs;
    const log = decision.crashlooping ? this.log.error.bind(this.log) : this.log.warn.bind(this.log);
    log(
      { ...fields, restarts: member.restarts, delay_ms: decision.delayMs, crashlooping: decision.crashlooping },
      decision.crashlooping
        ? 'member crashlooping; restarting after the longest backoff'
        : 'member exited; restarting after backoff',
    );
    member.timer = setTimeout(() => {
      if (this.stopping) return;
      member.restarts++;
      this.spawnMember(member, `restart ${member.restarts} after a crash`);
      this.persist();
    }, decision.delayMs);
    this.persist();
  }

  /** SIGTERM, then SIGKILL after the grace period; resolves once the child exited. */
  private async terminate(member: Member): Promise<void> {
    const child = member.child;
    if (!child) return;
    const exited = member.exited;
    child.kill('SIGTERM');
    const killer = setTimeout(() => {
      this.log.warn({ member: member.plan.name, pid: member.pid, grace_ms: this.stopGraceMs }, 'member ignored SIGTERM; SIGKILL');
      child.kill('SIGKILL');
    }, this.stopGraceMs);
    try {
      await exited;
    } finally {
      clearTimeout(killer);
    }
  }

  private async stopAll(reason: string): Promise<void> {
    this.log.info({ reason }, 'supervisor stopping every member');
    if (this.probeTimer) clearInterval(this.probeTimer);
    for (const member of this.members) {
      if (member.timer) clearTimeout(member.timer);
      member.timer = undefined;
      member.intent = 'stop';
      if (!member.child) member.stopped = true;
    }
    this.persist();
    await Promise.all(this.members.map((m) => this.terminate(m)));
    await this.flush();
    await new Promise<void>((resolve) => {
      if (!this.server) return resolve();
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
    this.log.info('supervisor stopped');
    this.markStopped();
  }

  private async probeAll(): Promise<void> {
    let changed = false;
    await Promise.all(
      this.members.map(async (member) => {
        if (!member.child) return;
        const child = member.child;
        const ready = (await health(member.plan.port, Math.min(1_500, this.probeIntervalMs))) === 'ready';
        if (member.child !== child || ready === member.ready) return;
        member.ready = ready;
        if (ready) member.everReady = true;
        changed = true;
        this.log.info({ member: member.plan.name, pid: member.pid }, ready ? 'member ready' : 'member no longer ready');
      }),
    );
    if (changed) this.persist();
  }

  /** Writes the state now, or once more after the write in progress. */
  private persist(): void {
    if (this.writing) {
      this.dirty = true;
      return;
    }
    this.writing = (async () => {
      do {
        this.dirty = false;
        try {
          await writeServicesState(this.spec.layout.state, this.snapshot());
        } catch (error) {
          this.log.error({ err: error }, 'cannot write the state file');
        }
      } while (this.dirty);
      this.writing = undefined;
    })();
  }

  private async flush(): Promise<void> {
    this.persist();
    while (this.writing) await this.writing;
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const path = (request.url ?? '/').split('?')[0] ?? '/';
    const restart = /^\/members\/([^/]+)\/restart$/.exec(path);
    if (path === '/members') {
      if (request.method !== 'GET') return reply(response, 405, { error: 'GET /members' });
      return reply(response, 200, this.snapshot());
    }
    if (restart?.[1]) {
      if (request.method !== 'POST') return reply(response, 405, { error: 'POST /members/<name>/restart' });
      const name = decodeURIComponent(restart[1]);
      if (!this.members.some((m) => m.plan.name === name)) return reply(response, 404, { error: `no member "${name}"` });
      if (this.stopping) return reply(response, 409, { error: 'the supervisor is shutting down' });
      const pid = await this.restart(name);
      return reply(response, 200, { name, pid });
    }
    if (path === '/shutdown') {
      if (request.method !== 'POST') return reply(response, 405, { error: 'POST /shutdown' });
      reply(response, 202, { stopping: this.members.filter((m) => m.child).map((m) => m.plan.name) });
      setImmediate(() => void this.shutdown('POST /shutdown'));
      return;
    }
    reply(response, 404, { error: `no route ${request.method} ${path}` });
  }
}

function stateOf(m: Member, crashlooping: boolean): MemberStateName {
  if (m.child) {
    if (m.ready) return 'ready';
    if (m.everReady) return 'running';
    return crashlooping ? 'crashlooping' : 'starting';
  }
  if (m.timer) return crashlooping ? 'crashlooping' : 'backoff';
  if (m.intent === 'restart') return 'starting';
  return m.stopped ? 'stopped' : 'backoff';
}

function reply(response: ServerResponse, status: number, body: unknown): void {
  if (response.headersSent) return;
  response.writeHead(status, { 'content-type': 'application/json' });
  response.end(`${JSON.stringify(body)}\n`);
}

/** The daemon's body (`daemon.ts`): reads the plan file, runs until SIGTERM, SIGINT or `POST /shutdown`. */
export async function runSupervisor(planFile: string, logger: Logger): Promise<void> {
  const spec = JSON.parse(await readFile(planFile, 'utf8')) as SupervisorSpec;
  const supervisor = new Supervisor({ spec, marker: planFile, logger });
  const stop = (signal: NodeJS.Signals) => {
    logger.info({ signal }, 'signal received');
    void supervisor.shutdown(signal);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  process.on('SIGHUP', () => logger.info('SIGHUP ignored'));
  process.on('uncaughtException', (error) => {
    logger.fatal({ err: error }, 'supervisor failed; stopping every member');
    process.exitCode = 1;
    void supervisor.shutdown('uncaught exception').then(() => process.exit(1));
  });
  await supervisor.start();
  await supervisor.whenStopped();
  // Nothing of ours is left (members exited, control port closed); leftover sockets must not keep it up.
  process.exit(process.exitCode ?? 0);
}
