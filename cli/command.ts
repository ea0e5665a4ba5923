/** The shape every `rheo` sub-command has: parse its own argv, write through `io`, return the exit status. */
export interface CliIO {
  /** Results: what a script would pipe (tables, JSON, `export` lines). */
  out(text: string): void;
  /** Progress, warnings and failure reasons. */
  err(text: string): void;
}

export interface CliCommand {
  name: string;
  summary: string;
  usage: string;
  run(argv: string[], io: CliIO): Promise<number>;
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
