/** `rheo stack up|down|status|env`: the local stack on loopback (deploy/local). */
import {
  type BrokerCount,
  StackError,
  type StackStatus,
  stackDown,
  stackEnv,
  stackStatus,
  stackUp,
} from '../../deploy/local/stack.ts';
import { type CliCommand, CliError, type CliIO } from '../command.ts';
import { hasFlag, table } from '../format.ts';

const USAGE = 'rheo stack up [--brokers 1|3] [--json] | down [--purge] | status [--json] | env [--json]';

export const stackCommand: CliCommand = {
  name: 'stack',
  summary: 'start, stop and inspect the local stack: Kafka (KRaft), Apicurio Registry, Redis, ClickHouse',
  usage: `${USAGE}\n\nstatus exits 0 when every service is up, 3 otherwise.`,
  async run(argv, io) {
    const [action, ...rest] = argv;
    const json = hasFlag(rest, '--json');
    try {
      switch (action) {
        case 'up':
          return await up(rest, json, io);
        case 'down': {
          unknownFlags(rest, ['--purge']);
          const result = await stackDown({ purge: hasFlag(rest, '--purge'), progress: (line) => io.err(line) });
          io.out(result.stopped.length ? `stopped ${result.stopped.map((s) => s.name).join(', ')}` : 'nothing was running');
          if (result.purged) io.out('stack data removed');
          return 0;
        }
        case 'status': {
          unknownFlags(rest, ['--json']);
          const status = await stackStatus();
          io.out(json ? JSON.stringify(status, null, 2) : statusTable(status));
          return status.running ? 0 : 3;
        }
        case 'env': {
          unknownFlags(rest, ['--json']);
          const env = await stackEnv();
          io.out(json ? JSON.stringify(env, null, 2) : exportLines(env));
          return 0;
        }
        default:
          throw new CliError(`${action ? `unknown action "${action}"` : 'an action is required'}; usage: ${USAGE}`, 2);
      }
    } catch (error) {
      if (error instanceof StackError) throw new CliError(error.message);
      throw error;
    }
  },
};

async function up(rest: string[], json: boolean, io: CliIO): Promise<number> {
  unknownFlags(rest, ['--brokers', '--json'], ['--brokers']);
  const brokers = brokersFlag(rest);
  const result = await stackUp({ ...(brokers ? { brokers } : {}), progress: (line) => io.err(line) });
  if (json) {
    io.out(JSON.stringify(result, null, 2));
    return 0;
  }
  io.out(statusTable(result.status));
  io.out(
    result.alreadyRunning
      ? 'already running; nothing to do'
      : `up in ${(result.tookMs / 1000).toFixed(1)}s (started ${result.started.join(', ')}); \`eval "$(npx rheo stack env)"\` exports the client settings`,
  );
  return 0;
}

function brokersFlag(argv: string[]): BrokerCount | undefined {
  const index = argv.indexOf('--brokers');
  const inline = argv.find((a) => a.startsWith('--brokers='));
  const value = inline ? inline.slice('--brokers='.length) : index >= 0 ? argv[index + 1] : undefined;
  if (value === undefined && index < 0 && !inline) return undefined;
  if (value === '1' || value === '3') return Number(value) as BrokerCount;
  throw new CliError(`--brokers takes 1 or 3, not ${value ?? 'nothing'}`, 2);
}

function unknownFlags(argv: string[], allowed: string[], withValue: string[] = []): void {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    const name = arg.split('=')[0] as string;
    if (!allowed.includes(name)) throw new CliError(`unknown argument "${arg}"; usage: ${USAGE}`, 2);
    if (withValue.includes(name) && !arg.includes('=')) i++;
  }
}

export function statusTable(status: StackStatus): string {
  const rows = status.services.map((s) => ({
    service: s.name,
    state: s.state,
    version: s.version ?? '',
    port: s.ports.map((p) => (s.ports.length > 1 ? `${p.port} ${p.role}` : String(p.port))).join(', '),
    pid: s.pid ?? '',
    memory: s.memory,
    rss: s.rssMiB !== undefined ? `${s.rssMiB} MiB` : '',
    problem: s.problem ?? '',
  }));
  const columns = ['service', 'state', 'version', 'port', 'pid', 'memory', 'rss'];
  if (rows.some((r) => r.problem)) columns.push('problem');
  return `${table(rows, columns)}\n(${status.brokers} Kafka broker${status.brokers > 1 ? 's' : ''}; data in ${status.stackDir})`;
}

export function exportLines(env: Record<string, string>): string {
  return Object.entries(env)
    .map(([name, value]) => `export ${name}=${/^[\w.,:/@%+=-]*$/.test(value) ? value : `'${value.replaceAll("'", "'\\''")}'`}`)
    .join('\n');
}
