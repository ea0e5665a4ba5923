import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { RheoError } from '../../../kernel/errors.ts';
import {
  bool,
  configInvalid,
  duration,
  int,
  json,
  list,
  load,
  oneOf,
  optional,
  positive,
  text,
  url,
  variable,
} from '../../../kernel/settings.ts';
import { DECLARED_SETTINGS } from '../../support/settings.ts';

/** Every schema a component declares; a new component's schema belongs here too. */
const DECLARED = DECLARED_SETTINGS;

function refusal(fn: () => unknown): RheoError {
  try {
    fn();
  } catch (error) {
    if (error instanceof RheoError) return error;
    throw error;
  }
  throw new Error('expected a refusal');
}

describe('load', () => {
  const schema = {
    RHEO_T_FLAG: variable(bool, { default: false, description: 'a flag' }),
    RHEO_T_COUNT: variable(int(1, 10), { default: 3, description: 'a count' }),
    RHEO_T_WAIT_MS: variable(duration(0, 1000), { default: 100, description: 'a wait' }),
    RHEO_T_HOSTS: variable(list, { default: ['a'], description: 'hosts' }),
    RHEO_T_MODE: variable(oneOf(['fast', 'slow']), { default: 'fast', description: 'a mode' }),
    RHEO_T_URL: optional(url, { description: 'a url' }),
    RHEO_T_NAME: optional(text({ max: 4 }), { description: 'a name' }),
    RHEO_T_SHARE: optional(positive(1), { description: 'a share' }),
    RHEO_T_MAP: optional(json(z.record(z.string(), z.number())), { description: 'a map' }),
  } as const;

  it('gives defaults for unset and empty variables, and undefined for optional ones', () => {
    expect(load(schema, { RHEO_T_COUNT: '' })).toEqual({
      RHEO_T_FLAG: false,
      RHEO_T_COUNT: 3,
      RHEO_T_WAIT_MS: 100,
      RHEO_T_HOSTS: ['a'],
      RHEO_T_MODE: 'fast',
      RHEO_T_URL: undefined,
      RHEO_T_NAME: undefined,
      RHEO_T_SHARE: undefined,
      RHEO_T_MAP: undefined,
    });
  });

  it('parses each kind of value', () => {
    const settings = load(schema, {
      RHEO_T_FLAG: 'yes',
      RHEO_T_COUNT: '7',
      RHEO_T_WAIT_MS: '0',
      RHEO_T_HOSTS: ' a:1, b:2 ,,',
      RHEO_T_MODE: 'slow',
      RHEO_T_URL: 'http://x:1/y',
      RHEO_T_NAME: 'abcd',
      RHEO_T_SHARE: '0.5',
      RHEO_T_MAP: '{"m": 2}',
    });
    expect(settings).toEqual({
      RHEO_T_FLAG: true,
      RHEO_T_COUNT: 7,
      RHEO_T_WAIT_MS: 0,
      RHEO_T_HOSTS: ['a:1', 'b:2'],
      RHEO_T_MODE: 'slow',
      RHEO_T_URL: 'http://x:1/y',
      RHEO_T_NAME: 'abcd',
      RHEO_T_SHARE: 0.5,
      RHEO_T_MAP: { m: 2 },
    });
  });

  it('reads the same booleans for every component', () => {
    const flag = { RHEO_T_FLAG: schema.RHEO_T_FLAG };
    for (const yes of ['true', '1', 'yes']) expect(load(flag, { RHEO_T_FLAG: yes }).RHEO_T_FLAG).toBe(true);
    for (const no of ['false', '0', 'no']) expect(load(flag, { RHEO_T_FLAG: no }).RHEO_T_FLAG).toBe(false);
    expect(() => load(flag, { RHEO_T_FLAG: 'maybe' })).toThrow(/RHEO_T_FLAG/);
  });

  it('throws one CONFIG_INVALID naming every bad variable and why', () => {
    const error = refusal(() =>
      load(schema, {
        RHEO_T_FLAG: 'maybe',
        RHEO_T_COUNT: '11',
        RHEO_T_MODE: 'medium',
        RHEO_T_NAME: 'toolong',
        RHEO_T_MAP: '{"m": "two"}',
        RHEO_T_HOSTS: ',',
      }),
    );
    expect(error.code).toBe('CONFIG_INVALID');
    const lines = error.message.split('\n');
    expect(lines[0]).toBe('invalid configuration:');
    const named = lines.slice(1).map((line) => line.trim().split(':')[0]);
    expect(named).toEqual(['RHEO_T_FLAG', 'RHEO_T_COUNT', 'RHEO_T_HOSTS', 'RHEO_T_MODE', 'RHEO_T_NAME', 'RHEO_T_MAP.m']);
    expect(error.details?.problems).toHaveLength(6);
  });

  it('reads only declared variables', () => {
    expect(load({ RHEO_T_COUNT: schema.RHEO_T_COUNT }, { RHEO_T_COUNT: '2', RHEO_T_FLAG: 'maybe' })).toEqual({
      RHEO_T_COUNT: 2,
    });
  });

  it('builds cross-variable refusals in the same shape', () => {
    const error = configInvalid(['RHEO_A is set, so RHEO_B is required']);
    expect(error.code).toBe('CONFIG_INVALID');
    expect(error.message).toBe('invalid configuration:\n  RHEO_A is set, so RHEO_B is required');
  });
});

describe('declared settings', () => {
  const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');
  const tableRows = readme.split('\n').filter((line) => line.startsWith('|'));
  const declared = Object.values(DECLARED).flatMap((schema) => Object.entries(schema));

  it('are each documented in a README table row, with a description', () => {
    const undocumented = declared.filter(([name]) => !tableRows.some((row) => row.includes(`\`${name}\``)));
    expect(undocumented.map(([name]) => name)).toEqual([]);
    for (const [name, spec] of declared) expect(spec.description.length, `${name} has a description`).toBeGreaterThan(0);
  });

  it('document their own default in the row that leads with them', () => {
    for (const [name, spec] of declared) {
      const row = tableRows.find((line) => line.startsWith(`| \`${name}\` |`));
      if (!row) continue; // documented inside another row (a group of related variables)
      const shown = row.split(' | ')[1]?.replaceAll('`', '');
      expect(shown, `README default of ${name}`).toBe(spec.documentedDefault);
    }
  });

  it('cover every RHEO_ variable the README names, and no name is declared twice', () => {
    const names = declared.map(([name]) => name);
    expect(new Set(names).size).toBe(names.length);
    const documented = new Set([...readme.matchAll(/RHEO_[A-Z0-9_]*[A-Z0-9]/g)].map((m) => m[0]));
    expect([...documented].filter((name) => !names.includes(name)).sort()).toEqual([]);
  });
});
