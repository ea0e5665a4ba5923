import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, logLevel } from '../../../kernel/log.ts';

describe('log level', () => {
  it('is RHEO_LOG_LEVEL when set, else the caller’s fallback, else info', () => {
    expect(logLevel(undefined, {})).toBe('info');
    expect(logLevel('warn', {})).toBe('warn');
    expect(logLevel('warn', { RHEO_LOG_LEVEL: '' })).toBe('warn');
    expect(logLevel('warn', { RHEO_LOG_LEVEL: 'debug' })).toBe('debug');
    expect(() => logLevel('warn', { RHEO_LOG_LEVEL: 'loud' })).toThrow(/RHEO_LOG_LEVEL/);
  });

  it('lets an explicit level win and redacts secrets', () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    const logger = createLogger('t', { level: 'debug', destination: sink });
    expect(logger.level).toBe('debug');
    logger.debug({ password: 'hunter2' }, 'hello');
    expect(lines.join('')).toContain('[redacted]');
    expect(lines.join('')).not.toContain('hunter2');
  });
});
