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
import { defineActions, type ParsedActions } from '../../kernel/args.ts';
import { CliError, type CliIO, defineCommand } from '../command.ts';
import { table } from '../format.ts';

const json = { type: 'boolean', description: 'print JSON instead of a table' } as const;

const STACK_ARGS = defineActions({
  program: 'rheo stack',
  actions: {
    up: {
      flags: {
        brokers: { type: 'enum', values: ['1', '3'], description: 'Kafka brokers to start (3: replication factor 3)' },
        json,
      },
    },
    down: { flags: { purge: { type: 'boolean', description: 'also delete the stack data' } } },
    status: { flags: { json }, notes: ['status exits 0 when every service is up, 3 otherwise.'] },
    env: { flags: { json: { type: 'boolean', description: 'print JSON instead of export lines' } } },
  },
  notes: ['status exits 0 when every service is up, 3 otherwise.'],
});

export const stackCommand = defineCommand({
  name: 'stack',
  summary: 'start, stop and inspect the local stack: Kafka (KRaft), Apicurio Registry, Redis, ClickHouse',
  args: STACK_ARGS,
  async run(args, io) {
    try {
      switch (args.action) {
        case 'up':
          return await up(args, io);
        case 'down': {
          const result = await stackDown({ purge: args.flags.purge, progress: (line) => io.err(line) });
          io.out(result.stopped.length ? `stopped ${result.stopped.map((s) => s.name).join(', ')}` : 'nothing was running');
          if (result.purged) io.out('stack data removed');
          return 0;
        }
        case 'status': {
          const status = await stackStatus();
          io.out(args.flags.json ? JSON.stringify(status, null, 2) : statusTable(status));
          return status.running ? 0 : 3;
        }
        case 'env': {
          const env = await stackEnv();
          io.out(args.flags.json ? JSON.stringify(env, null, 2) : exportLines(env));
          return 0;
        }
      }
    } catch (error) {
      if (error instanceof StackError) throw new CliError(error.message);
      throw error;
    }
  },
});

async function up(args: Extract<ParsedActions<typeof STACK_ARGS>, { action: 'up' }>, io: CliIO): Promise<number> {
  const brokers = args.flags.brokers === undefined ? undefined : (Number(args.flags.brokers) as BrokerCount);
  const result = await stackUp({ ...(brokers ? { brokers } : {}), progress: (line) => io.err(line) });
  if (args.flags.json) {
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
