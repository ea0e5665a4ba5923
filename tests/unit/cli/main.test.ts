import { describe, expect, it } from 'vitest';
import { COMMANDS } from '../../../cli/main.ts';
import { rheo } from '../../support/cli.ts';

describe('rheo: strict arguments for every command', () => {
  it('refuses a misspelt flag of train with exit 2, naming it and printing the usage, before training anything', async () => {
    const result = await rheo('train', '--model', 'M', '--trails', '5');
    expect(result.code).toBe(2);
    expect(result.err).toMatch(/^rheo train: unknown flag --trails\n\nusage: rheo train \[run\] --model <name> \[--trials N\]/);
    expect(result.err).toContain('  --trials N');
    expect(result.out).toBe('');
  });

  it('refuses an unknown flag in every action of every command with exit 2 and the usage of that action', async () => {
    const checked: string[] = [];
    for (const [name, entry] of Object.entries(COMMANDS)) {
      const command = await entry.load();
      const decl = command.args;
      const lines =
        'actions' in decl
          ? Object.keys(decl.actions).map((action) => ({
              argv: [name, action],
              usage: `usage: ${decl.program} ${action === decl.defaultAction ? `[${action}]` : action}`,
            }))
          : [{ argv: [name], usage: `usage: ${decl.program}` }];
      if ('actions' in decl && decl.defaultAction)
        lines.push({ argv: [name], usage: `usage: ${decl.program} [${decl.defaultAction}]` });
      for (const { argv, usage } of lines) {
        const result = await rheo(...argv, '--no-such-flag');
        const line = argv.join(' ');
        expect(result.code, line).toBe(2);
        expect(result.err, line).toContain(`rheo ${name}: unknown flag --no-such-flag\n\n${usage}`);
        checked.push(line);
      }
    }
    expect(checked).toContain('models alias');
    expect(checked).toContain('stack up');
    expect(checked.length).toBeGreaterThanOrEqual(Object.keys(COMMANDS).length);
  });

  it('refuses an unknown action and a missing required flag with exit 2', async () => {
    const unknown = await rheo('stack', 'sideways');
    expect(unknown.code).toBe(2);
    expect(unknown.err).toContain('rheo stack: unknown action "sideways"\n\nusage: rheo stack up [--brokers 1|3] [--json]\n');
    const missing = await rheo('drift', 'report');
    expect(missing.code).toBe(2);
    expect(missing.err).toContain('rheo drift: --model is required\n\nusage: rheo drift report --model <name>');
    const badNumber = await rheo('score', '--model', 'm', '--query', 'SELECT 1', '--batch-size', 'lots');
    expect(badNumber.code).toBe(2);
    expect(badNumber.err).toContain('--batch-size takes a number, not "lots"');
  });

  it('answers --help for a command and for one of its actions on stdout with exit 0', async () => {
    const command = await COMMANDS.models?.load();
    const help = await rheo('models', '--help');
    expect(help.code).toBe(0);
    expect(help.out).toBe(`${command?.summary}\n\n${command?.usage}\n`);
    const action = await rheo('models', 'register', '-h');
    expect(action.code).toBe(0);
    expect(action.out).toMatch(/usage: rheo models register <model> --version V --artifact FILE\.onnx/);
    expect(action.out).toContain('--metric k=v');
    expect(action.err).toBe('');
  });
});
