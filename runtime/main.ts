/**
 * The one entry point shape of every processor and service (`rheo run <name>` or `node
 * processors/<name>/index.ts --from earliest|latest [--group-id <id>] [--project DIR]`): parse the options strictly, load the configuration,
 * make the logger and metrics registry, build the service, start it, and stop it gracefully on
 * SIGTERM or SIGINT. An error before the service runs is printed as one line with its code and the
 * process exits non-zero.
 */
import { explainArgumentFailure } from '../kernel/args.ts';
import { loadConfig, type RheoConfig } from '../kernel/config.ts';
import { errorMessage } from '../kernel/errors.ts';
import { createLogger, type Logger } from '../kernel/log.ts';
import { createRegistry, type Registry } from '../kernel/metrics.ts';
import { openProject, type ProjectContext } from '../projects/context.ts';
import { type ProcessorArgs, parseProcessorArgs } from './args.ts';

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
}

export async function runMain(
  name: string,
  build: (environment: ServiceEnvironment) => Promise<RunnableService>,
  argv: readonly string[] = process.argv.slice(2),
): Promise<void> {
  let logger: Logger | undefined;
  try {
    const { runner: args, project: projectFlag } = parseProcessorArgs(argv);
    const config = loadConfig();
    logger = createLogger(name, { level: config.logLevel });
    const project = () => openProject({ flag: projectFlag });
    const service = await build({ config, logger, metrics: createRegistry(name), args, project });
    const log = logger;
    const onSignal = (signal: NodeJS.Signals) => {
      log.info({ signal }, 'signal received');
      void service.stop(signal);
    };
    process.once('SIGTERM', onSignal);
    process.once('SIGINT', onSignal);
    try {
      await service.start();
      await service.finished();
    } finally {
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
    }
  } catch (error) {
    const refused = explainArgumentFailure(error, name);
    if (refused !== undefined) {
      process.exitCode = refused;
      return;
    }
    const code = (error as { code?: unknown } | null)?.code;
    const line = `${name}: ${typeof code === 'string' ? `${code}: ` : ''}${errorMessage(error)}`;
    if (logger) logger.error({ err: error }, 'service failed');
    process.stderr.write(`${line}\n`);
    process.exitCode = 1;
  }
}
