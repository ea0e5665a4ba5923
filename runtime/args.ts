/**
 * Command-line options every processor's entry point takes: `--from earliest|latest` (required —
 * where a new consumer group starts is never implied) and an optional `--group-id <id>`. Declared on
 * the one argument parser (kernel/args.ts), so a misspelt or unknown flag is refused, not ignored.
 * `--project DIR` names the Rheo project the service reads (its groups, models); see projects/context.ts.
 */
import { defineArgs, parseArgs } from '../kernel/args.ts';

export interface ProcessorArgs {
  startFrom: 'earliest' | 'latest';
  groupId?: string;
}

/** The parsed options: the runner's (`runner`) and the project folder flag, kept apart. */
export interface ParsedProcessorArgs {
  runner: ProcessorArgs;
  project: string | undefined;
}

export const PROCESSOR_ARGS = defineArgs({
  program: 'node processors/<name>/index.ts',
  flags: {
    from: {
      type: 'enum',
      values: ['earliest', 'latest'],
      required: true,
      why: 'where a new consumer group starts is never implied',
      description: 'where the consumer group starts when it has no committed offsets',
    },
    'group-id': { type: 'string', value: '<id>', description: "the consumer group (default: the processor's own)" },
    project: {
      type: 'string',
      value: 'DIR',
      description: 'the Rheo project (default: RHEO_PROJECT, else the current folder)',
    },
  },
});

/** Throws `ArgumentError` (refused; exit status 2 with its usage) or `HelpRequest` (`--help`; exit status 0). */
export function parseProcessorArgs(argv: readonly string[]): ParsedProcessorArgs {
  const { flags } = parseArgs(PROCESSOR_ARGS, argv);
  return {
    runner: { startFrom: flags.from, ...(flags['group-id'] ? { groupId: flags['group-id'] } : {}) },
    project: flags.project,
  };
}
