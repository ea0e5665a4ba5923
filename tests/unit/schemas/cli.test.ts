import { describe, expect, it } from 'vitest';
import { CliError } from '../../../cli/command.ts';
import { bindings, schemasCommand } from '../../../cli/commands/schemas.ts';
import { allContracts } from '../../../schemas/contracts.ts';

async function run(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await schemasCommand.run(argv, { out: (t) => out.push(t), err: (t) => err.push(t) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

describe('rheo schemas', () => {
  it('binds every catalogue topic with a contract to its <topic>-value subject', () => {
    const all = bindings();
    expect(all.map((b) => b.contract.name).sort()).toEqual(
      allContracts()
        .map((c) => c.name)
        .sort(),
    );
    expect(all.find((b) => b.contract.name === 'Prediction')?.subject).toBe('predictions-value');
  });

  it('lists the contracts without a registry, as a table or JSON', async () => {
    const table = await run(['list']);
    expect(table.code).toBe(0);
    expect(table.out).toMatch(/^contract\s+version\s+topic\s+subject\s+file\s+fields/);
    expect(table.out).toContain('models.lifecycle-value');
    const json = await run(['list', '--json']);
    const rows = JSON.parse(json.out) as Array<Record<string, unknown>>;
    expect(rows.find((r) => r.contract === 'DriftReport')).toMatchObject({
      topic: 'monitoring.drift',
      subject: 'monitoring.drift-value',
      file: 'schemas/contracts/drift-report.avsc',
      version: 2,
    });
  });

  it('refuses an unknown action with usage', async () => {
    await expect(run(['frobnicate'])).rejects.toThrow(CliError);
  });
});
