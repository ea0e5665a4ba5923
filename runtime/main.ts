/**
 * The one entry point shape of every processor and service (`rheo run <name>` or `node
 * processors/<name>/index.ts --from earliest|latest [--group-id <id>] [--project DIR]`): parse the options strictly, load the configuration,
 * make the logger and metrics registry, start the ops endpoints (`ops.ts`: `/healthz`, `/readyz`,
 * `/metrics` on `RHEO_OPS_HOST`:`RHEO_OPS_PORT`), build the service, start it, and stop it
 * gracefully on SIGTERM or SIGINT; the ops endpoints close last. `/readyz` is 503 until `start`
 * resolved and again from the moment the service stops; in between it is what the service's
 * `readiness` says. An error before the service runs is printed as one line with its code and the
 * process exits non-zero.
 */
import { explainArgumentFailure } from '../kernel/args.ts';
import { loadConfig, type RheoConfig } from '../kernel/config.ts';
import { errorMessage } from '../kernel/errors.ts';
import { createLogger, type Logger } from '../kernel/log.ts';
import { createRegistry, type Registry } from '../kernel/metrics.ts';
import { openProject, type ProjectContext } from '../projects/context.ts';
import { type ProcessorArgs, parseProcessorArgs } from './args.ts';
import { loadOpsSettings, type OpsServer, type Readiness, startOpsServer } from './ops.ts';

export interface ServiceEnvironment {
  config: RheoConfig;
  logger: Logger;
  metrics: Registry;
  args: ProcessorArgs;
  /** The project named by `--project`, `RHEO_PROJECT` or the current folder; loaded when asked for. */
  project(): Promise<ProjectContext>;
}

/** What main runs: the runner itself, or a service around one (the scorer folds the registry first). */
export interface RunnableService {
  start(): Promise<void>;
  stop(reason?: string): Promise<void>;
  /** Settles when the service stopped: resolves after `stop`, rejects on a crash. */
  finished(): Promise<void>;
  /** Whether the started service can do its work, with each check; asked by `/readyz` (absent: ready once started). */
  readiness?(): Readiness;
}

/** Where a service is in its life, as `/readyz` reports it before and after the service's own checks. */
export type ServicePhase = 'starting' | 'running' | 'stopping';

/** The service's readiness inside its phase: only a running service answers for itself. */
export function readinessInPhase(phase: ServicePhase, service: RunnableService | undefined): Readiness {
  if (phase !== 'running' || !service) return { ready: false, checks: { lifecycle: { ok: false, detail: phase } } };
  const own = service.readiness?.() ?? { ready: true, checks: {} };
  return { ready: own.ready, checks: { lifecycle: { ok: true, detail: phase }, ...own.checks } };
}

export async function runMain(
  name: string,
  build: (environment: ServiceEnvironment) => Promise<RunnableService>,
  argv: readonly string[] = process.argv.slice(2),
): Promise<void> {
  const startedAtMs = Date.now();
  let logger: Logger | undefined;
  let ops: OpsServer | undefined;
  try {
    const { runner: args, project: projectFlag } = parseProcessorArgs(argv);
    const config = loadConfig();
    const opsSettings = loadOpsSettings();
    logger = createLogger(name, { level: config.logLevel });
    const metrics = createRegistry(name);
    let phase: ServicePhase = 'starting';
    let service: RunnableService | undefined;
    try {
      ops = await startOpsServer({
        name,
        ...opsSettings,
        registry: metrics,
        readiness: () => readinessInPhase(phase, service),
        logger,
        startedAtMs,
      });
    } catch (error) {
      // A port in use is a setting to change, not a crash: one line, no stack.
      process.stderr.write(`${failureLine(name, error)}\n`);
      process.exitCode = 1;
      return;
    }
    const project = () => openProject({ flag: projectFlag });
    const built = await build({ config, logger, metrics, args, project });
    service = built;
    const log = logger;
    const onSignal = (signal: NodeJS.Signals) => {
      log.info({ signal }, 'signal received');
      phase = 'stopping';
      void built.stop(signal);
    };
    process.once('SIGTERM', onSignal);
    process.once('SIGINT', onSignal);
    try {
      await built.start();
      if (phase === 'starting') phase = 'running';
      await built.finished();
    } finally {
      phase = 'stopping';
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
    }
  } catch (error) {
    const refused = explainArgumentFailure(error, name);
    if (refused !== undefined) {
      process.exitCode = refused;
      return;
    }
    if (logger) logger.error({ err: error }, 'service failed');
    process.stderr.write(`${failureLine(name, error)}\n`);
    process.exitCode = 1;
  } finally {
    await ops?.close();
  }
}

/** `<name>: <CODE>: <message>`, the one line a failed service leaves on stderr. */
function failureLine(name: string, error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  return `${name}: ${typeof code === 'string' ? `${code}: ` : ''}${errorMessage(error)}`;
}
