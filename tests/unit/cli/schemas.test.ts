/**
 * `rheo schemas export`: every contract and every feature group's derived schema lands as an `.avsc`
 * file that avsc parses back to the very schema Rheo registers, and `--json` lists what was written.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import avro from 'avsc';
import { afterEach, describe, expect, it } from 'vitest';
import { bindings, type ExportedSchema, exportSchemas, schemasCommand } from '../../../cli/commands/schemas.ts';
import { fraud } from '../../../examples/fraud/index.ts';
import { featureGroupSchema } from '../../../schemas/feature-group.ts';

const dirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'rheo-schemas-export-'));
  dirs.push(dir);
  return dir;
}
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function parsed(file: string): avro.Type {
  return avro.Type.forSchema(JSON.parse(readFileSync(file, 'utf8')) as avro.Schema);
}

describe('rheo schemas export', () => {
  it('writes each contract and feature-group schema as an .avsc file equal to it', () => {
    const dir = tempDir();
    const groups = fraud.features;
    const written = exportSchemas(join(dir, 'nested', 'avro'), groups);
    const contracts = bindings();
    expect(written).toHaveLength(contracts.length + groups.list().length);
    expect(readdirSync(join(dir, 'nested', 'avro')).sort()).toEqual(written.map((w) => `${w.schema}.avsc`).sort());

    for (const b of contracts) {
      const entry = written.find((w) => w.kind === 'contract' && w.subject === b.subject) as ExportedSchema;
      expect(entry.schema).toBe(b.contract.fullName);
      expect(JSON.parse(readFileSync(entry.file, 'utf8'))).toEqual(b.contract.schema);
      expect(parsed(entry.file).equals(avro.Type.forSchema(b.contract.schema as avro.Schema))).toBe(true);
    }
    for (const group of groups.list()) {
      const entry = written.find((w) => w.kind === 'feature-group' && w.topic === `features.${group.name}`) as ExportedSchema;
      expect(entry.subject).toBe(`features.${group.name}-value`);
      const schema = featureGroupSchema(group);
      expect(JSON.parse(readFileSync(entry.file, 'utf8'))).toEqual(schema);
      expect(parsed(entry.file).equals(avro.Type.forSchema(schema as avro.Schema))).toBe(true);
    }
  });

  it('takes --dir and --json through the argument parser and lists what it wrote', async () => {
    const dir = tempDir();
    const out: string[] = [];
    const code = await schemasCommand.run(['export', '--dir', dir, '--json', '--project', 'examples/fraud'], {
      out: (line) => out.push(line),
      err: () => undefined,
    });
    expect(code).toBe(0);
    const listing = JSON.parse(out.join('\n')) as ExportedSchema[];
    expect(listing.map((w) => w.schema)).toContain('io.rheo.Prediction');
    for (const w of listing) expect(w.file.startsWith(dir)).toBe(true);
    expect(readdirSync(dir)).toHaveLength(listing.length);
    await expect(
      schemasCommand.run(['export', '--directory', dir], { out: () => undefined, err: () => undefined }),
    ).rejects.toThrow(/--directory/);
  });
});
