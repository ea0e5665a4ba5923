import { describe, expect, it } from 'vitest';
import { parseProcessorArgs } from '../../../runtime/args.ts';

describe('processor entry-point options', () => {
  it('requires an explicit start position and takes an optional group id', () => {
    expect(parseProcessorArgs(['--from', 'earliest'])).toEqual({ runner: { startFrom: 'earliest' }, project: undefined });
    expect(parseProcessorArgs(['--group-id', 'g1', '--from', 'latest', '--project', 'examples/fraud'])).toEqual({
      runner: { startFrom: 'latest', groupId: 'g1' },
      project: 'examples/fraud',
    });
    expect(() => parseProcessorArgs([])).toThrow(/--from earliest\|latest is required/);
    expect(() => parseProcessorArgs(['--from', 'middle'])).toThrow(/never implied/);
  });
});
