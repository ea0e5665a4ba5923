/**
 * `rheo up | ps | logs | restart | down`: Rheo's own services (the gateway and every `rheo run`
 * service) under one local supervisor (deploy/local/services). `up` starts the local stack when the
 * endpoints are its own, checks the project loads, starts the supervisor and waits until every member
 * is ready; `down` stops them all (then the stack). The supervisor restarts a member that crashes,
 * with backoff, and `ps` shows what it did.
 */

import { stackLayout } from '../../deploy/local/layout.ts';
import { isPortFree, portConflictMessage, portOwner } from '../../deploy/local/process.ts';
import {
  currentState,
  logTail,
  restartMember,
  ServicesError,
  type ServicesStatus,
  servicesStatus,
  startSupervisor,
  stopServices,
  waitUntilReady,
} from '../../deploy/local/services/client.ts';
import { follow, type LogFile, lastLines, logFiles, logsOf } from '../../deploy/local/services/logs.ts';
import {
  localStackCheck,
  memberNames,
  membersNamed,
  PlanError,
  parseScale,
  planServices,
  servicesPortBase,
} from '../../deploy/local/services/plan.ts';
import { memberLog, type ServicesLayout, type ServicesState, servicesLayout } from '../../deploy/local/services/state.ts';
import { StackError, stackDown, stackUp } from '../../deploy/local/stack.ts';
import { SERVING_SETTINGS } from '../../gateway/settings.ts';
import { defineArgs } from '../../kernel/args.ts';
import { loadConfig, localPortsFrom, type RheoConfig } from '../../kernel/config.ts';
import { RheoError } from '../../kernel/errors.ts';
import { load } from '../../kernel/settings.ts';
import { CliError, type CliIO, defineCommand } from '../command.ts';
import { table } from '../format.ts';
import { openCliProject, PROJECT_FLAG } from '../project.ts';
import { SERVICES } from './run.ts';

const json = { type: 'boolean', description: 'print JSON instead of a table' } as const;

const UP_ARGS = defineArgs({
  program: 'rheo up',
  flags: {
    project: PROJECT_FLAG,
    scale: {
      type: 'list',
      value: 'name=N',
      description: 'run N members of a service (one consumer group, distinct ops ports), e.g. materializer=2',
    },
    'no-stack': { type: 'boolean', description: 'do not start the local stack first' },
    from: {
      type: 'enum',
      values: ['earliest', 'latest'],
      default: 'earliest',
      description: 'where a service starts when its consumer group has no committed offsets',
    },
    timeout: {
      type: 'number',
      integer: true,
      min: 1,
      default: 180,
      value: 'S',
      description: 'seconds to wait for every /readyz',
    },
    json,
  },
  notes: [
    'Runs the gateway (on RHEO_GATEWAY_PORT) and every service of rheo run, each as its own process:',
    `  ${Object.keys(SERVICES).join(', ')}`,
    'with ops ports from RHEO_SERVICES_PORT_BASE and logs in <stack>/logs/services/.',
    "The local stack is started first, unless --no-stack or the RHEO_* endpoints are not the local stack's.",
    'A second up while running prints ps. Exit 1 when a member is not ready in time.',
  ],
});

const PS_ARGS = defineArgs({
  program: 'rheo ps',
  flags: { json },
  notes: ['Exit 0 when every member is ready, 3 otherwise, 1 when nothing runs.'],
});

const LOGS_ARGS = defineArgs({
  program: 'rheo logs',
  positionals: [
    { name: 'member', description: 'a member (materializer-1), a service (each of its members) or supervisor', required: true },
  ],
  flags: {
    lines: { type: 'number', integer: true, min: 0, default: 100, description: 'how many of the last lines to print' },
    follow: { type: 'boolean', description: 'keep printing lines as they are written, until SIGINT/SIGTERM' },
    f: { type: 'boolean', description: 'same as --follow (-f)' },
  },
});

const RESTART_ARGS = defineArgs({
  program: 'rheo restart',
  positionals: [{ name: 'member', description: 'a member (materializer-1) or a service (each of its members)', required: true }],
  flags: { json },
  notes: ['SIGTERM, wait (SIGKILL after 30 s), start again; not counted as a crash.'],
});

const DOWN_ARGS = defineArgs({
  program: 'rheo down',
  flags: { 'keep-stack': { type: 'boolean', description: 'leave the local stack running' } },
  notes: ['Stops every member (SIGTERM, SIGKILL after 30 s) and the supervisor, then the local stack (unless --keep-stack).'],
});

function layouts(): ServicesLayout {
  return servicesLayout(stackLayout());
}

export const upCommand = defineCommand({
  name: 'up',
  summary: "start Rheo's services (gateway and every stream service) under a local supervisor, and the local stack",
  args: UP_ARGS,
  async run({ flags }, io) {
    const started = Date.now();
    const services = Object.keys(SERVICES);
    let scale: Record<string, number>;
    try {
      scale = parseScale(flags.scale, services);
    } catch (error) {
      if (error instanceof PlanError) throw new CliError(`${error.message}\n\n${upCommand.usage}`, 2);
      throw error;
    }
    const layout = layouts();
    const progress = (line: string) => io.err(line);
    return guard(async () => {
      const { state, alive } = await currentState(layout);
      if (state && alive) {
        const wanted = memberNames(services, scale);
        const running = state.members.map((m) => m.name);
        if (flags.scale.length > 0 && wanted.join(' ') !== running.join(' '))
          throw new CliError(`already running with ${running.join(', ')}; \`rheo down\` first to change the scale`);
        io.err(`already running (supervisor pid ${state.supervisor.pid}, project ${state.supervisor.project}); nothing to do`);
        return printStatus(io, await servicesStatus(state), flags.json);
      }
      if (state) {
        progress(`the supervisor rheo up last started (pid ${state.supervisor.pid}) is gone; cleaning up after it`);
        await stopServices(layout, { progress });
      }
      const config = loadConfigOrFail();
      if (!flags['no-stack']) {
        const check = localStackCheck(config, localPortsFrom());
        if (check.local) await stackUp({ progress });
        else progress(`not starting the local stack: ${elsewhere(check.elsewhere)}`);
      }
      const project = await openCliProject(flags.project);
      const plan = planServices({
        services,
        scale,
        project: project.dir,
        from: flags.from,
        gatewayPort: gatewayPort(),
        portBase: servicesPortBase(),
      });
      for (const member of plan.members) {
        if (!(await isPortFree(member.port)))
          throw new CliError(
            `${portConflictMessage(member.name, member.port, portOwner(member.port))}${member.service === 'gateway' ? ' (or set RHEO_GATEWAY_PORT)' : ' (or set RHEO_SERVICES_PORT_BASE)'}`,
          );
      }
      const pid = await startSupervisor(layout, plan);
      progress(
        `supervisor started (pid ${pid}): ${plan.members.map((m) => `${m.name} :${m.port}`).join(', ')}; waiting for every /readyz`,
      );
      const { notReady } = await waitUntilReady(layout, plan, pid, { timeoutMs: flags.timeout * 1000, progress });
      const now = await currentState(layout);
      const status = now.state ? await servicesStatus(now.state) : undefined;
      if (status) printStatus(io, status, flags.json);
      if (notReady.length > 0) {
        const tails = await Promise.all(notReady.map((name) => logTail(memberLog(layout, name), 8)));
        throw new CliError(
          `not ready after ${flags.timeout}s: ${notReady.join(', ')}\n${tails.join('\n')}\n\nthe supervisor keeps them running and restarting; \`rheo ps\` shows them, \`rheo logs <member>\` tells why, \`rheo down\` stops everything`,
        );
      }
      progress(`up in ${((Date.now() - started) / 1000).toFixed(1)}s; \`rheo ps\` shows them, \`rheo down\` stops them`);
      return 0;
    });
  },
});

export const psCommand = defineCommand({
  name: 'ps',
  summary: "Rheo's services under the supervisor: pid, state, uptime, restarts, lag, health",
  args: PS_ARGS,
  async run({ flags }, io) {
    return guard(async () => {
      const state = await runningState(layouts(), io, flags.json);
      return printStatus(io, await servicesStatus(state), flags.json);
    });
  },
});

export const logsCommand = defineCommand({
  name: 'logs',
  summary: "print (or follow) the log of one of Rheo's services",
  args: LOGS_ARGS,
  async run({ flags, positionals }, io) {
    const layout = layouts();
    // While services run, a name means their members (an older log of another scale is not one of them).
    const { state, alive } = await currentState(layout);
    const running = state && alive ? membersNamed(state.members, positionals.member) : [];
    const files: LogFile[] =
      running.length > 0 ? running.map((m) => ({ member: m.name, path: m.log })) : logsOf(layout.logs, positionals.member);
    if (files.length === 0) {
      const known = logFiles(layout.logs).map((f) => f.member);
      throw new CliError(
        `no log for "${positionals.member}" in ${layout.logs}${known.length ? `; there are: ${known.join(', ')}` : ' (rheo up writes them)'}`,
      );
    }
    const width = Math.max(...files.map((f) => f.member.length));
    const print = (file: LogFile, lines: string[]) => {
      if (lines.length === 0) return;
      io.out(files.length > 1 ? lines.map((l) => `${file.member.padEnd(width)} | ${l}`).join('\n') : lines.join('\n'));
    };
    for (const file of files) print(file, await lastLines(file.path, flags.lines));
    if (!flags.follow && !flags.f) return 0;
    const stop = new AbortController();
    const onSignal = () => stop.abort();
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    try {
      await follow(files, print, stop.signal);
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
    return 0;
  },
});

export const restartCommand = defineCommand({
  name: 'restart',
  summary: "restart one of Rheo's services under the supervisor (not counted as a crash)",
  args: RESTART_ARGS,
  async run({ flags, positionals }, io) {
    return guard(async () => {
      const state = await runningState(layouts(), io, false);
      const targets = membersNamed(state.members, positionals.member);
      if (targets.length === 0)
        throw new CliError(
          `no member or service "${positionals.member}"; members: ${state.members.map((m) => m.name).join(', ')}`,
        );
      const results: Array<{ name: string; old_pid: number | null; pid: number | null }> = [];
      for (const member of targets) {
        const pid = await restartMember(state, member.name);
        results.push({ name: member.name, old_pid: member.pid, pid });
        if (!flags.json) io.out(`${member.name} restarted: pid ${member.pid ?? '-'} → ${pid ?? '-'}`);
      }
      if (flags.json) io.out(JSON.stringify(results, null, 2));
      return 0;
    });
  },
});

export const downCommand = defineCommand({
  name: 'down',
  summary: "stop Rheo's services and their supervisor, then the local stack",
  args: DOWN_ARGS,
  async run({ flags }, io) {
    const progress = (line: string) => io.err(line);
    return guard(async () => {
      const result = await stopServices(layouts(), { progress });
      if (result.nothing) io.out('no Rheo services were running');
      else
        io.out(
          `stopped ${result.stopped.map((m) => `${m.name} (pid ${m.pid})`).join(', ') || 'no member'}${result.stale ? ` (the supervisor, pid ${result.supervisorPid}, had already exited)` : `, and the supervisor (pid ${result.supervisorPid})`}`,
        );
      if (flags['keep-stack']) return 0;
      const check = localStackCheck(loadConfigOrFail(), localPortsFrom());
      if (!check.local) {
        progress(`not stopping the local stack: ${elsewhere(check.elsewhere)}`);
        return 0;
      }
      const stack = await stackDown({ progress });
      io.out(
        stack.stopped.length ? `stack: stopped ${stack.stopped.map((s) => s.name).join(', ')}` : 'stack: nothing was running',
      );
      return 0;
    });
  },
});

/** The state of a running supervisor, or a CliError (exit 1) saying that nothing runs. */
async function runningState(layout: ServicesLayout, io: CliIO, asJson: boolean): Promise<ServicesState> {
  const { state, alive } = await currentState(layout);
  if (state && alive) return state;
  if (asJson) io.out(JSON.stringify({ running: false, stale: state !== undefined, members: [] }, null, 2));
  throw new CliError(
    state
      ? `no Rheo services are running: the supervisor rheo up started (pid ${state.supervisor.pid}) is gone; \`rheo down\` cleans up after it, \`rheo up\` starts them again`
      : 'no Rheo services are running (`rheo up` starts them)',
  );
}

function printStatus(io: CliIO, status: ServicesStatus, asJson: boolean): number {
  if (asJson) io.out(JSON.stringify(status, null, 2));
  else {
    const rows = status.members.map((m) => ({
      member: m.name,
      service: m.service,
      pid: m.pid ?? '-',
      state: m.crashlooping && m.state !== 'crashlooping' ? `${m.state}, crashlooping` : m.state,
      uptime: m.uptime_s === null ? '-' : duration(m.uptime_s),
      restarts: m.restarts,
      lag: m.lag ?? '-',
      health: m.health,
      metrics: m.metrics_url,
      'last exit': m.last_exit ? `${m.last_exit.signal ?? `code ${m.last_exit.code}`} at ${m.last_exit.at.slice(11, 19)}` : '',
    }));
    const columns = ['member', 'service', 'pid', 'state', 'uptime', 'restarts', 'lag', 'health', 'metrics'];
    if (rows.some((r) => r['last exit'])) columns.push('last exit');
    io.out(`${table(rows, columns)}\n(supervisor pid ${status.supervisor.pid}; project ${status.supervisor.project})`);
  }
  return status.ready ? 0 : 3;
}

function duration(seconds: number): string {
  if (seconds < 60) return `${seconds}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m${String(seconds % 60).padStart(2, '0')}s`;
  return `${Math.floor(seconds / 3600)}h${String(Math.floor((seconds % 3600) / 60)).padStart(2, '0')}m`;
}

function elsewhere(endpoints: readonly string[]): string {
  return `${endpoints.join(', ')} ${endpoints.length === 1 ? 'points' : 'point'} elsewhere`;
}

function gatewayPort(): number {
  return load({ RHEO_GATEWAY_PORT: SERVING_SETTINGS.RHEO_GATEWAY_PORT }).RHEO_GATEWAY_PORT;
}

function loadConfigOrFail(): RheoConfig {
  try {
    return loadConfig();
  } catch (error) {
    if (error instanceof RheoError) throw new CliError(`${error.code}: ${error.message}`);
    throw error;
  }
}

/** The failures the user can act on, as CLI errors (exit 1 with the reason). */
async function guard(body: () => Promise<number>): Promise<number> {
  try {
    return await body();
  } catch (error) {
    if (error instanceof ServicesError || error instanceof StackError || error instanceof PlanError)
      throw new CliError(error.message);
    if (error instanceof RheoError) throw new CliError(`${error.code}: ${error.message}`);
    throw error;
  }
}
