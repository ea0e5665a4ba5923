/** The kafkajs log bridge: transient broker answers kafkajs retries itself are warnings, the rest stay errors. */
import { logLevel } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { isTransientBrokerError, kafkaClientConfig } from '../../../kernel/kafka.ts';
import type { Logger } from '../../../kernel/log.ts';

describe('kafkajs logs', () => {
  it('tells transient broker answers from real errors', () => {
    expect(isTransientBrokerError("The coordinator is loading and hence can't process requests for this group")).toBe(true);
    expect(isTransientBrokerError('The group coordinator is not available')).toBe(true);
    expect(isTransientBrokerError('The group is rebalancing, so a rejoin is needed')).toBe(true);
    expect(isTransientBrokerError('Connection error: connect ECONNREFUSED 127.0.0.1:19092')).toBe(false);
    expect(isTransientBrokerError(undefined)).toBe(false);
  });

  it('logs a transient answer as a warning and anything else at ERROR as an error', () => {
    const lines: Array<[string, string]> = [];
    const logger = {
      error: (_: unknown, msg: string) => lines.push(['error', msg]),
      warn: (_: unknown, msg: string) => lines.push(['warn', msg]),
      debug: (_: unknown, msg: string) => lines.push(['debug', msg]),
    } as unknown as Logger;
    const config = kafkaClientConfig(
      { brokers: ['127.0.0.1:1'], clientId: 'test', connectionTimeoutMs: 1000, requestTimeoutMs: 1000 } as never,
      logger,
    );
    const log = (config.logCreator as NonNullable<typeof config.logCreator>)(logLevel.WARN);
    const entry = (level: logLevel, error: string) =>
      ({
        namespace: 'Connection',
        level,
        label: 'ERROR',
        log: { timestamp: '', message: `Response (${error})`, error },
      }) as never;
    log(entry(logLevel.ERROR, 'The group coordinator is not available'));
    log(entry(logLevel.ERROR, 'Connection error: connect ECONNREFUSED'));
    expect(lines.map(([level]) => level)).toEqual(['warn', 'error']);
  });
});
