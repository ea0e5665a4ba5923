import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ERROR_CATALOGUE, isRetriable, RheoError } from '../../../kernel/errors.ts';

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
});
