/**
 * Command-line options every processor's entry point takes: `--from earliest|latest` (required —
 * where a new consumer group starts is never implied) and an optional `--group-id <id>`.
 */
export interface ProcessorArgs {
  startFrom: 'earliest' | 'latest';
  groupId?: string;
}

export function parseProcessorArgs(argv: readonly string[]): ProcessorArgs {
  const value = (flag: string) => {
    const i = argv.indexOf(flag);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const from = value('--from');
  if (from !== 'earliest' && from !== 'latest')
    throw new Error('--from earliest|latest is required: where a new consumer group starts is never implied');
  const groupId = value('--group-id');
  return { startFrom: from, ...(groupId ? { groupId } : {}) };
}
