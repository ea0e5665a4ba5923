import { describe, expect, it } from 'vitest';
import { describeConfig, loadConfig, localPorts, localPortsFrom } from '../../../kernel/config.ts';

describe('loadConfig', () => {
  it('defaults to the local stack on loopback', () => {
    const config = loadConfig({});
    expect(config.kafka.brokers).toEqual(['127.0.0.1:19092']);
    expect(config.kafka.ssl).toBe(false);
    expect(config.kafka.sasl).toBeUndefined();
    expect(config.registry.url).toBe('http://127.0.0.1:18081/apis/ccompat/v7');
    expect(config.clickhouse.database).toBe('rheo');
  });

  it('reads brokers lists, TLS and SASL for real clusters', () => {
    const config = loadConfig({
      RHEO_KAFKA_BROKERS: 'a:9093, b:9093 ,c:9093',
      RHEO_KAFKA_SSL: 'true',
      RHEO_KAFKA_SASL_MECHANISM: 'scram-sha-512',
      RHEO_KAFKA_SASL_USERNAME: 'svc',
      RHEO_KAFKA_SASL_PASSWORD: 's3cret',
    });
    expect(config.kafka.brokers).toEqual(['a:9093', 'b:9093', 'c:9093']);
    expect(config.kafka.ssl).toEqual({ rejectUnauthorized: true });
    expect(config.kafka.sasl).toEqual({ mechanism: 'scram-sha-512', username: 'svc', password: 's3cret' });
  });

  it('names every invalid variable at once', () => {
    expect(() =>
      loadConfig({ RHEO_KAFKA_SSL: 'maybe', RHEO_CLICKHOUSE_DATABASE: 'drop table', RHEO_SCHEMA_REGISTRY_URL: 'not a url' }),
    ).toThrowError(
      /RHEO_KAFKA_SSL[\s\S]*RHEO_SCHEMA_REGISTRY_URL[\s\S]*RHEO_CLICKHOUSE_DATABASE|RHEO_KAFKA_SSL[\s\S]*RHEO_CLICKHOUSE_DATABASE/,
    );
    expect(() => loadConfig({ RHEO_KAFKA_SSL: 'maybe' })).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }));
  });

  it('requires credentials when a SASL mechanism is set', () => {
    expect(() => loadConfig({ RHEO_KAFKA_SASL_MECHANISM: 'plain' })).toThrow(/RHEO_KAFKA_SASL_USERNAME/);
  });

  it('shifts every local-stack default by the port offset, read when loading, never at import', () => {
    const config = loadConfig({ RHEO_STACK_PORT_OFFSET: '100' });
    expect(config.kafka.brokers).toEqual(['127.0.0.1:19192']);
    expect(config.registry.url).toBe('http://127.0.0.1:18181/apis/ccompat/v7');
    expect(config.redis.url).toBe('redis://127.0.0.1:16479/0');
    expect(config.clickhouse.url).toBe('http://127.0.0.1:18223');
    expect(localPortsFrom({ RHEO_STACK_PORT_OFFSET: '100' })).toEqual(localPorts(100));
    expect(localPorts(0).kafka).toEqual([19092, 19094, 19096]);
    expect(() => loadConfig({ RHEO_STACK_PORT_OFFSET: '20001' })).toThrow(/RHEO_STACK_PORT_OFFSET/);
  });

  it('takes the log level from RHEO_LOG_LEVEL, else info', () => {
    expect(loadConfig({}).logLevel).toBe('info');
    expect(loadConfig({ RHEO_LOG_LEVEL: 'debug' }).logLevel).toBe('debug');
    expect(() => loadConfig({ RHEO_LOG_LEVEL: 'loud' })).toThrow(/RHEO_LOG_LEVEL/);
  });

  it('treats empty variables as unset', () => {
    expect(loadConfig({ RHEO_KAFKA_BROKERS: '' }).kafka.brokers).toHaveLength(1);
  });

  it('never lets a secret into the loggable view', () => {
    const config = loadConfig({
      RHEO_KAFKA_SASL_MECHANISM: 'plain',
      RHEO_KAFKA_SASL_USERNAME: 'u',
      RHEO_KAFKA_SASL_PASSWORD: 'hunter2',
      RHEO_REDIS_URL: 'redis://user:hunter2@host:6379/0',
      RHEO_CLICKHOUSE_PASSWORD: 'hunter2',
    });
    expect(JSON.stringify(describeConfig(config))).not.toContain('hunter2');
  });
});
