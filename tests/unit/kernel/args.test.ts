import { describe, expect, expectTypeOf, it } from 'vitest';
import {
  ArgumentError,
  defineActions,
  defineArgs,
  explainArgumentFailure,
  HelpRequest,
  parseActions,
  parseArgs,
  usageOf,
} from '../../../kernel/args.ts';

const TRAIN = defineArgs({
  program: 'rheo train',
  positionals: [
    { name: 'model', description: 'the model', required: true },
    { name: 'extra', description: 'anything else' },
  ],
  flags: {
    trials: { type: 'number', integer: true, min: 1, max: 200, description: 'trials to run' },
    limit: { type: 'number', default: 50, description: 'rows to show' },
    gate: { type: 'enum', values: ['register', 'promote'], description: 'what a passing run does' },
    from: { type: 'enum', values: ['earliest', 'latest'], required: true, description: 'where to start' },
    reason: { type: 'string', value: 'R', description: 'why' },
    metric: { type: 'list', value: 'k=v', description: 'a metric' },
    json: { type: 'boolean', description: 'print JSON' },
  },
  notes: ['Times are epoch ms or ISO 8601.'],
});

function refusal(run: () => unknown): ArgumentError {
  try {
    run();
  } catch (error) {
    if (error instanceof ArgumentError) return error;
    throw error;
  }
  throw new Error('not refused');
}

describe('the argument parser', () => {
  it('returns typed flags and positionals, with defaults and both value forms', () => {
    const parsed = parseArgs(TRAIN, [
      'm',
      '--trials=5',
      '--from',
      'latest',
      '--metric',
      'auc=0.9',
      '--metric=loss=0.3',
      '--json',
    ]);
    expect(parsed).toEqual({
      flags: {
        trials: 5,
        limit: 50,
        gate: undefined,
        from: 'latest',
        reason: undefined,
        metric: ['auc=0.9', 'loss=0.3'],
        json: true,
      },
      positionals: { model: 'm', extra: undefined },
    });
    expectTypeOf(parsed.flags.trials).toEqualTypeOf<number | undefined>();
    expectTypeOf(parsed.flags.limit).toEqualTypeOf<number>();
    expectTypeOf(parsed.flags.from).toEqualTypeOf<'earliest' | 'latest'>();
    expectTypeOf(parsed.flags.gate).toEqualTypeOf<'register' | 'promote' | undefined>();
    expectTypeOf(parsed.flags.metric).toEqualTypeOf<string[]>();
    expectTypeOf(parsed.positionals.model).toEqualTypeOf<string>();
    expectTypeOf(parsed.positionals.extra).toEqualTypeOf<string | undefined>();
    const bare = parseArgs(TRAIN, ['--from', 'earliest', 'm', 'x']);
    expect(bare.flags.json).toBe(false);
    expect(bare.flags.metric).toEqual([]);
    expect(bare.positionals.extra).toBe('x');
  });

  it('takes a value starting with a dash only as --flag=value, and negative numbers either way', () => {
    expect(parseArgs(TRAIN, ['m', '--from', 'latest', '--reason=-x']).flags.reason).toBe('-x');
    expect(refusal(() => parseArgs(TRAIN, ['m', '--from', 'latest', '--reason', '--json'])).message).toBe(
      '--reason needs a value',
    );
    const signed = defineArgs({ program: 'p', flags: { at: { type: 'number', description: 'a time' } } });
    expect(parseArgs(signed, ['--at', '-5']).flags.at).toBe(-5);
    const child = defineArgs({
      program: 'p',
      flags: { 'node-flags': { type: 'string', dashValue: true, description: 'Node flags' } },
    });
    expect(parseArgs(child, ['--node-flags', '--max-old-space-size=512']).flags['node-flags']).toBe('--max-old-space-size=512');
  });

  it('refuses each kind of bad input with one error type and the usage', () => {
    const cases: Array<[string[], string]> = [
      [['m', '--from', 'latest', '--trails', '5'], 'unknown flag --trails'],
      [['m', '--from', 'latest', '-x'], 'unknown flag -x'],
      [['m', '--from', 'latest', '--reason'], '--reason needs a value'],
      [['m', '--from', 'latest', '--reason='], '--reason needs a value'],
      [['m', '--from', 'latest', '--trials', 'five'], '--trials takes a number, not "five"'],
      [['m', '--from', 'latest', '--trials', '2.5'], '--trials takes an integer, not "2.5"'],
      [['m', '--from', 'latest', '--trials', '0'], '--trials must be 1..200, not 0'],
      [['m', '--from', 'middle'], '--from takes earliest or latest, not "middle"'],
      [['m'], '--from earliest|latest is required'],
      [['--from', 'latest'], '<model> is required'],
      [['m', 'x', 'y', '--from', 'latest'], 'unexpected argument "y" (rheo train takes <model> [<extra>])'],
      [['m', '--from', 'latest', '--json=false'], '--json takes no value'],
      [['m', '--from', 'latest', '--json', '--json'], '--json is given more than once'],
    ];
    for (const [argv, message] of cases) {
      const error = refusal(() => parseArgs(TRAIN, argv));
      expect(error.message, argv.join(' ')).toBe(message);
      expect(error.usage).toBe(usageOf(TRAIN));
    }
  });

  it("appends a flag's reason to the refusals of its value", () => {
    const entry = defineArgs({
      program: 'node processors/x/index.ts',
      flags: {
        from: { type: 'enum', values: ['earliest', 'latest'], required: true, why: 'never implied', description: 'start' },
      },
    });
    expect(refusal(() => parseArgs(entry, [])).message).toBe('--from earliest|latest is required: never implied');
    expect(refusal(() => parseArgs(entry, ['--from', 'x'])).message).toBe(
      '--from takes earliest or latest, not "x": never implied',
    );
    expect(refusal(() => parseArgs(entry, ['--from'])).message).toBe('--from needs a value: never implied');
    expect(refusal(() => parseArgs(entry, ['--to', 'x'])).message).toBe('unknown flag --to');
    const three = defineArgs({
      program: 'p',
      flags: { backend: { type: 'enum', values: ['wasm', 'cpu', 'tensorflow'], description: 'b' } },
    });
    expect(refusal(() => parseArgs(three, ['--backend', 'gpu'])).message).toBe(
      '--backend takes one of wasm, cpu, tensorflow, not "gpu"',
    );
  });

  it('treats everything after -- as positionals', () => {
    const rest = defineArgs({
      program: 'rheo test',
      positionals: [{ name: 'filters', description: 'passed on', rest: true }],
      flags: { unit: { type: 'boolean', description: 'unit only' } },
    });
    expect(parseArgs(rest, ['--unit', 'a', '--', '-t', '--unit'])).toEqual({
      flags: { unit: true },
      positionals: { filters: ['a', '-t', '--unit'] },
    });
  });

  it('answers --help and -h with the usage, whatever else is on the line', () => {
    for (const argv of [['--help'], ['-h'], ['--trails', '5', '-h']]) {
      expect(() => parseArgs(TRAIN, argv)).toThrow(HelpRequest);
    }
  });

  it('generates the usage from the declaration', () => {
    expect(usageOf(TRAIN)).toBe(
      [
        'usage: rheo train <model> [<extra>] [--trials N] [--limit N] [--gate register|promote] --from earliest|latest [--reason R] [--metric k=v]… [--json]',
        '',
        '  <model>                  the model',
        '  [<extra>]                anything else',
        '  --trials N               trials to run (an integer, 1..200)',
        '  --limit N                rows to show (default 50)',
        '  --gate register|promote  what a passing run does',
        '  --from earliest|latest   where to start (required)',
        '  --reason R               why',
        '  --metric k=v             a metric (repeatable)',
        '  --json                   print JSON',
        '  -h, --help               show this help',
        '',
        'Times are epoch ms or ISO 8601.',
      ].join('\n'),
    );
  });

  it('refuses declarations that cannot be parsed unambiguously', () => {
    expect(() =>
      defineArgs({
        program: 'p',
        positionals: [
          { name: 'a', description: 'a', rest: true },
          { name: 'b', description: 'b' },
        ],
      }),
    ).toThrow(/only the last/);
    expect(() =>
      defineArgs({
        program: 'p',
        positionals: [
          { name: 'a', description: 'a' },
          { name: 'b', description: 'b', required: true },
        ],
      }),
    ).toThrow(/follows an optional/);
    expect(() => defineArgs({ program: 'p', flags: { help: { type: 'boolean', description: 'mine' } } })).toThrow(/--help/);
    expect(() => defineActions({ program: 'p', actions: { a: {} }, defaultAction: 'b' })).toThrow(/not declared/);
  });
});

describe('programs with actions', () => {
  const STACK = defineActions({
    program: 'rheo stack',
    actions: {
      up: {
        flags: {
          brokers: { type: 'enum', values: ['1', '3'], description: 'brokers' },
          json: { type: 'boolean', description: 'JSON' },
        },
      },
      down: { flags: { purge: { type: 'boolean', description: 'delete data' } } },
    },
  });
  const TOPICS = defineActions({
    program: 'rheo topics',
    defaultAction: 'list',
    actions: { list: { flags: { json: { type: 'boolean', description: 'JSON' } } }, ensure: {} },
  });

  it('parses the action and its own flags, narrowing the result by action', () => {
    const parsed = parseActions(STACK, ['up', '--brokers', '3']);
    expect(parsed).toEqual({ action: 'up', flags: { brokers: '3', json: false }, positionals: {} });
    if (parsed.action === 'up') expect(parsed.flags.brokers).toBe('3');
    expect(parseActions(TOPICS, ['--json'])).toEqual({ action: 'list', flags: { json: true }, positionals: {} });
    expect(parseActions(TOPICS, [])).toMatchObject({ action: 'list' });
  });

  it("refuses an unknown or missing action, and another action's flag", () => {
    expect(refusal(() => parseActions(STACK, ['sideways'])).message).toBe('unknown action "sideways"');
    expect(refusal(() => parseActions(STACK, ['constructor'])).message).toBe('unknown action "constructor"');
    expect(refusal(() => parseActions(STACK, [])).message).toBe('an action is required (up|down)');
    const error = refusal(() => parseActions(STACK, ['down', '--brokers', '3']));
    expect(error.message).toBe('unknown flag --brokers');
    expect(error.usage).toMatch(/^usage: rheo stack down \[--purge\]\n/);
  });

  it('lists one synopsis per action, the default one with its name optional', () => {
    expect(usageOf(TOPICS)).toBe(
      [
        'usage: rheo topics [list] [--json]',
        '       rheo topics ensure',
        '',
        '"rheo topics <action> --help" describes an action\'s flags.',
      ].join('\n'),
    );
    const help = (() => {
      try {
        parseActions(STACK, ['up', '--help']);
      } catch (error) {
        if (error instanceof HelpRequest) return error.usage;
      }
      return '';
    })();
    expect(help).toMatch(/^usage: rheo stack up \[--brokers 1\|3\] \[--json\]\n\n {2}--brokers 1\|3 {2}brokers/);
  });

  it('lets an entry point print help (exit 0) or the refusal with the usage (exit 2)', () => {
    const out: string[] = [];
    const err: string[] = [];
    const write = { out: (t: string) => out.push(t), err: (t: string) => err.push(t) };
    expect(explainArgumentFailure(new HelpRequest('usage: x'), 'x', write)).toBe(0);
    expect(explainArgumentFailure(new ArgumentError('unknown flag --y', 'usage: x'), 'x', write)).toBe(2);
    expect(out).toEqual(['usage: x']);
    expect(err).toEqual(['x: unknown flag --y\n\nusage: x']);
    expect(explainArgumentFailure(new Error('other'), 'x', write)).toBeUndefined();
    expect(out).toHaveLength(1);
    expect(err).toHaveLength(1);
  });
});
