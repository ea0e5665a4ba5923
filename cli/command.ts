/**
 * The shape every `rheo` sub-command has: it declares its arguments (kernel/args.ts), gets them parsed
 * strictly before it runs, writes through `io` and returns the exit status.
 */
import {
  type ActionsDecl,
  ArgumentError,
  HelpRequest,
  type ParsedCommandLine,
  type ProgramDecl,
  parseCommandLine,
  usageOf,
} from '../kernel/args.ts';

export interface CliIO {
  /** Results: what a script would pipe (tables, JSON, `export` lines). */
  out(text: string): void;
  /** Progress, warnings and failure reasons. */
  err(text: string): void;
}

export interface CliCommand {
  name: string;
  summary: string;
  /** What the command accepts: `usage` and the parse inside `run` both follow from it. */
  args: ProgramDecl | ActionsDecl;
  /** Generated from `args`. */
  usage: string;
  /** Parses `argv` (refusing bad arguments with exit status 2 and the usage, before any connection), then runs. */
  run(argv: string[], io: CliIO): Promise<number>;
}

/** A command from its declaration and a handler that receives the typed, already checked arguments. */
export function defineCommand<const D extends ProgramDecl | ActionsDecl>(definition: {
  name: string;
  summary: string;
  args: D;
  run(args: ParsedCommandLine<D>, io: CliIO): Promise<number>;
}): CliCommand {
  const { name, summary, args } = definition;
  return {
    name,
    summary,
    args,
    usage: usageOf(args),
    async run(argv, io) {
      let parsed: ParsedCommandLine<D>;
      try {
        parsed = parseCommandLine(args, argv);
      } catch (error) {
        if (error instanceof HelpRequest) {
          io.out(`${summary}\n\n${error.usage}`);
          return 0;
        }
        if (error instanceof ArgumentError) throw new CliError(`${error.message}\n\n${error.usage}`, 2);
        throw error;
      }
      return definition.run(parsed, io);
    },
  };
}

/** A failure the user can act on: printed as `rheo: <message>` on stderr with exit status `exitCode`. */
export class CliError extends Error {
  override name = 'CliError';
  readonly exitCode: number;
  constructor(message: string, exitCode = 1) {
    super(message);
    this.exitCode = exitCode;
  }
}

export const processIO: CliIO = {
  out: (text) => process.stdout.write(text.endsWith('\n') ? text : `${text}\n`),
  err: (text) => process.stderr.write(text.endsWith('\n') ? text : `${text}\n`),
};
