import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ERROR_CATALOGUE, isRetriable, RETIRED_CODES, RheoError, rheoError } from '../../../kernel/errors.ts';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
// Where errors are raised: every source folder, not tests, benches or the catalogue itself.
const NOT_SOURCE = new Set(['node_modules', 'tests', 'bench', '.git', '.stack', '.cache']);

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    if (entry.name.startsWith('.') || NOT_SOURCE.has(entry.name)) return [];
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') ? [path] : [];
  });
}

describe('error catalogue', () => {
  it('documents every code in the README table with its status and retriability', () => {
    const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');
    const rows = new Map(
      [...readme.matchAll(/^\| `([A-Z_]+)` \| (\d{3}) \| (yes|no) \| (.+) \|$/gm)].map((m) => [
        m[1] as string,
        { status: Number(m[2]), retriable: m[3] === 'yes', description: m[4] },
      ]),
    );
    for (const [code, spec] of Object.entries(ERROR_CATALOGUE)) {
      expect(rows.get(code), `README documents ${code}`).toEqual({
        status: spec.status,
        retriable: spec.retriable,
        description: spec.description,
      });
    }
    expect([...rows.keys()].filter((code) => !(code in ERROR_CATALOGUE))).toEqual([]);
  });

  it('carries status and retriability on each error', () => {
    const error = new RheoError('SINK_UNAVAILABLE', 'redis down', { details: { sink: 'redis' } });
    expect(error).toMatchObject({ code: 'SINK_UNAVAILABLE', status: 503, retriable: true });
    expect(error.toJSON()).toEqual({
      code: 'SINK_UNAVAILABLE',
      message: 'redis down',
      retriable: true,
      details: { sink: 'redis' },
    });
  });

  it('reads retriability from our errors, kafkajs-style flags and network codes', () => {
    expect(isRetriable(new RheoError('SCHEMA_INCOMPATIBLE', 'x'))).toBe(false);
    expect(isRetriable(Object.assign(new Error('x'), { retriable: true }))).toBe(true);
    expect(isRetriable(Object.assign(new Error('x'), { code: 'ECONNREFUSED' }))).toBe(true);
    expect(isRetriable(new Error('plain'))).toBe(false);
    expect(isRetriable('string')).toBe(false);
  });

  it('holds a pinned number of codes, so adding or removing one is a deliberate change', () => {
    // Changing this number? Add the README row, and move a removed code to RETIRED_CODES.
    expect(Object.keys(ERROR_CATALOGUE)).toHaveLength(32);
  });

  it('never reuses a retired code', () => {
    expect(RETIRED_CODES.filter((code) => code in ERROR_CATALOGUE)).toEqual([]);
    expect(new Set(RETIRED_CODES).size).toBe(RETIRED_CODES.length);
  });

  it('has every code raised somewhere in the source', () => {
    const catalogue = join(ROOT, 'kernel', 'errors.ts');
    const source = sourceFiles(ROOT)
      .filter((path) => path !== catalogue)
      .map((path) => readFileSync(path, 'utf8'))
      .join('\n');
    const neverRaised = Object.keys(ERROR_CATALOGUE).filter((code) => !source.includes(`'${code}'`));
    expect(neverRaised, `codes no source file names (${relative(ROOT, catalogue)} excepted)`).toEqual([]);
  });

  it('fills message templates from typed params', () => {
    const error = rheoError('TOPIC_NOT_IN_CATALOGUE', { topic: 'x.dlq', reason: 'x declares none' });
    expect(error).toBeInstanceOf(RheoError);
    expect(error.message).toBe('topic x.dlq is not in the catalogue: x declares none');
    expect(error.details).toBeUndefined();
    const missing = rheoError('KAFKA_TOPIC_MISSING', { topic: 'predictions' }, { details: { partitions: 0 } });
    expect(missing.message).toBe('topic predictions has no partitions (run `rheo topics ensure`)');
    expect(missing.details).toEqual({ partitions: 0 });
    expect(rheoError('MODEL_NOT_FOUND', { subject: 'model m' }).message).toBe('model m is not registered');
    for (const [code, spec] of Object.entries(ERROR_CATALOGUE)) {
      if (!('template' in spec)) continue;
      expect(spec.template, `${code} has at least one placeholder`).toMatch(/\{\w+\}/);
    }
  });
});
