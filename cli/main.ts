/**
 * `rheo` — the command line of the platform. Each sub-command lives in `cli/commands/<name>.ts`
 * and is imported only when called, so `rheo stack env` stays fast. Each declares its arguments
 * (kernel/args.ts) and refuses bad ones with exit status 2 and its usage before it connects to anything.
 */
import { type CliCommand, CliError, type CliIO, processIO } from './command.ts';

export const COMMANDS: Record<string, { summary: string; load: () => Promise<CliCommand> }> = {
  init: {
    summary: 'create a Rheo project (rheo.project.ts, README.md, package.json) in a folder',
    load: async () => (await import('./commands/init.ts')).initCommand,
  },
  stack: {
    summary: 'start, stop and inspect the local stack (up|down|status|env)',
    load: async () => (await import('./commands/stack.ts')).stackCommand,
  },
  up: {
    summary: "start Rheo's services (gateway and every stream service) under a local supervisor, after the local stack",
    load: async () => (await import('./commands/services.ts')).upCommand,
  },
  ps: {
    summary: "Rheo's services under the supervisor: pid, state, uptime, restarts, lag, health",
    load: async () => (await import('./commands/services.ts')).psCommand,
  },
  logs: {
    summary: "print or follow (-f) the log of one of Rheo's services",
    load: async () => (await import('./commands/services.ts')).logsCommand,
  },
  restart: {
    summary: "restart one of Rheo's services under the supervisor",
    load: async () => (await import('./commands/services.ts')).restartCommand,
  },
  down: {
    summary: "stop Rheo's services and their supervisor, then the local stack",
    load: async () => (await import('./commands/services.ts')).downCommand,
  },
  topics: {
    summary: 'list the topic catalogue, ensure it exists on the cluster, export it as Strimzi KafkaTopics (list|ensure|export)',
    load: async () => (await import('./commands/topics.ts')).topicsCommand,
  },
  schemas: {
    summary: 'list the Avro contracts and register them with compatibility set (list|register)',
    load: async () => (await import('./commands/schemas.ts')).schemasCommand,
  },
  features: {
    summary: 'feature groups (list|describe|apply|reconcile)',
    load: async () => (await import('./commands/features.ts')).featuresCommand,
  },
  produce: {
    summary: 'produce feature events from a JSONL or CSV file',
    load: async () => (await import('./commands/produce.ts')).produceCommand,
  },
  label: {
    summary: 'produce ground-truth labels (feedback) from a CSV or JSONL file',
    load: async () => (await import('./commands/label.ts')).labelCommand,
  },
  models: {
    summary: 'the model registry (list|describe|register|request|approve|…)',
    load: async () => (await import('./commands/models.ts')).modelsCommand,
  },
  run: {
    summary:
      'run one stream service (materializer|archiver|scorer|feedback-joiner|drift|trainer|rollout-controller) until SIGTERM',
    load: async () => (await import('./commands/run.ts')).runCommand,
  },
  gateway: {
    summary: 'run the prediction gateway until SIGTERM',
    load: async () => (await import('./commands/gateway.ts')).gatewayCommand,
  },
  score: {
    summary: 'batch-score a ClickHouse query or a topic range',
    load: async () => (await import('./commands/score.ts')).scoreCommand,
  },
  train: {
    summary: 'train a model in the foreground, enqueue a retraining request, run the trainer service (serve), list trials',
    load: async () => (await import('./commands/train.ts')).trainCommand,
  },
  drift: {
    summary: "a model's drift reports per feature with PSI over time, and its retraining requests (report)",
    load: async () => (await import('./commands/drift.ts')).driftCommand,
  },
  test: {
    summary: 'run the whole test suite, starting the local stack when it is not up',
    load: async () => (await import('./commands/test.ts')).testCommand,
  },
  plan: {
    summary: 'show what applying the project would change (topics, subjects, tables, Redis), refusing incompatible changes',
    load: async () => (await import('./commands/plan.ts')).planCommand,
  },
  apply: {
    summary: 'make the cluster, registry, ClickHouse and Redis match the project, idempotently',
    load: async () => (await import('./commands/plan.ts')).applyCommand,
  },
};

export async function main(argv: string[], io: CliIO = processIO): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    io.out(usage());
    return name ? 0 : 1;
  }
  const entry = COMMANDS[name];
  if (!entry) {
    io.err(`rheo: unknown command "${name}"\n\n${usage()}`);
    return 2;
  }
  try {
    const command = await entry.load();
    return await command.run(rest, io);
  } catch (error) {
    if (error instanceof CliError) {
      io.err(`rheo ${name}: ${error.message}`);
      return error.exitCode;
    }
    io.err(`rheo ${name}: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    return 1;
  }
}

function usage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((n) => n.length));
  const lines = Object.entries(COMMANDS).map(([n, c]) => `  ${n.padEnd(width)}  ${c.summary}`);
  return `usage: rheo <command> [options]\n\ncommands:\n${lines.join('\n')}\n\nEvery command that lists or describes takes --json; "rheo <command> --help" describes a command.`;
}

if (import.meta.main) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(`rheo: ${String(error)}\n`);
      process.exitCode = 1;
    },
  );
}
