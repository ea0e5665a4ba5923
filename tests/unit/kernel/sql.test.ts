import { describe, expect, it } from 'vitest';
import { ident, join, list, literal, quoteString, SqlInjectionError, sql } from '../../../kernel/sql.ts';

describe('sql escaping', () => {
  it('quotes strings with ClickHouse escapes', () => {
    expect(quoteString("it's")).toBe("'it\\'s'");
    expect(quoteString('back\\slash')).toBe("'back\\\\slash'");
    expect(quoteString('a\nb\tc\0')).toBe("'a\\nb\\tc\\0'");
  });

  it('neutralises classic injection attempts', () => {
    const attacks = ["' OR 1=1 --", "\\' OR 1=1 --", "x'; DROP TABLE t; --", "\\\\'", "'\u0000"];
    for (const attack of attacks) {
      const rendered = sql`SELECT 1 WHERE id = ${attack}`.text;
      const body = rendered.slice('SELECT 1 WHERE id = '.length);
      // The literal must be one closed string: after unescaping it equals the input.
      expect(body.startsWith("'") && body.endsWith("'")).toBe(true);
      const inner = body.slice(1, -1);
      expect(
        inner.replace(/\\(.)/g, (_, c: string) => ({ n: '\n', t: '\t', r: '\r', '0': '\0', b: '\b', f: '\f' })[c] ?? c),
      ).toBe(attack);
      // No unescaped quote inside.
      expect(/(^|[^\\])(\\\\)*'/.test(inner)).toBe(false);
    }
  });

  it('renders numbers, booleans, null, dates and arrays', () => {
    expect(literal(1.5)).toBe('1.5');
    expect(literal(12345678901234567890n)).toBe('12345678901234567890');
    expect(literal(true)).toBe('1');
    expect(literal(null)).toBe('NULL');
    expect(literal(new Date(1_700_000_000_123))).toBe('toDateTime(1700000000)');
    expect(literal(['a', 1])).toBe("['a', 1]");
    expect(() => literal(Number.NaN)).toThrow(SqlInjectionError);
    expect(() => literal(new Date('nope'))).toThrow(SqlInjectionError);
  });

  it('accepts only plain identifiers', () => {
    expect(ident('rheo.features_card').text).toBe('`rheo`.`features_card`');
    for (const bad of ['a b', 'a`b', 'a;b', '1abc', 'a.b.c', '', 'x--']) expect(() => ident(bad)).toThrow(SqlInjectionError);
  });

  it('composes fragments without re-escaping', () => {
    const where = join([sql`a = ${'x'}`, sql`b IN ${list([1, 2])}`], ' AND ');
    expect(sql`SELECT * FROM ${ident('t')} WHERE ${where}`.text).toBe("SELECT * FROM `t` WHERE a = 'x' AND b IN (1, 2)");
    expect(list([]).text).toBe('(NULL)');
  });
});
