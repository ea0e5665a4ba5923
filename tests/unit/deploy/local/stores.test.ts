import { describe, expect, it } from 'vitest';
import { exportLines } from '../../../../cli/commands/stack.ts';
import { renderClickhouseConfig, renderClickhouseUsers } from '../../../../deploy/local/clickhouse.ts';
import { parseJavaVersion } from '../../../../deploy/local/java.ts';
import { renderRedisConf } from '../../../../deploy/local/redis.ts';
import { registryProperties } from '../../../../deploy/local/registry.ts';
import { envFor } from '../../../../deploy/local/stack.ts';

describe('redis.conf', () => {
  it('binds loopback on our port with AOF every second, 1 GB and no eviction, in the foreground', () => {
    const conf = renderRedisConf({ port: 16379, dataDir: '/s/redis', logFile: '/s/logs/redis.log' });
    for (const line of [
      'bind 127.0.0.1',
      'port 16379',
      'daemonize no',
      'set-proc-title no',
      'dir /s/redis',
      'logfile /s/logs/redis.log',
      'appendonly yes',
      'appendfsync everysec',
      'maxmemory 1gb',
      'maxmemory-policy noeviction',
    ]) {
      expect(conf.split('\n')).toContain(line);
    }
  });
});

describe('ClickHouse config', () => {
  it('listens on loopback with our ports and keeps every path under the stack directory', () => {
    const xml = renderClickhouseConfig({
      dataDir: '/s/clickhouse',
      logsDir: '/s/logs',
      usersFile: '/s/clickhouse/etc/users.xml',
    });
    expect(xml).toContain('<listen_host>127.0.0.1</listen_host>');
    expect(xml).toContain('<http_port>18123</http_port>');
    expect(xml).toContain('<tcp_port>19000</tcp_port>');
    expect(xml).toContain('<interserver_http_port>19009</interserver_http_port>');
    expect(xml).toContain('<log>/s/logs/clickhouse.log</log>');
    for (const match of xml.matchAll(/<(path|tmp_path|user_files_path|format_schema_path)>([^<]+)</g))
      expect(match[2]).toMatch(/^\/s\/clickhouse\//);
  });

  it('caps memory per query in the default profile', () => {
    expect(renderClickhouseUsers()).toContain('<max_memory_usage>2000000000</max_memory_usage>');
  });
});

describe('Apicurio settings', () => {
  it('serves on loopback and stores in an H2 file under the stack directory', () => {
    const props = registryProperties('/s/registry');
    expect(props).toMatchObject({
      'quarkus.http.host': '127.0.0.1',
      'quarkus.http.port': '18081',
      'quarkus.management.port': '18082',
      'apicurio.storage.kind': 'sql',
      'apicurio.storage.sql.kind': 'h2',
      'apicurio.datasource.url': 'jdbc:h2:file:/s/registry/registry',
    });
  });
});

describe('java version', () => {
  it('reads -XshowSettings and plain -version output', () => {
    expect(parseJavaVersion('    java.specification.version = 21\n')).toBe(21);
    expect(parseJavaVersion('openjdk version "17.0.15" 2025-04-15')).toBe(17);
    expect(parseJavaVersion('java version "1.8.0_392"')).toBe(8);
    expect(parseJavaVersion('nothing')).toBeUndefined();
  });
});

describe('stack env', () => {
  it('points clients at one broker by default and at three with RF 3 in 3-broker mode', () => {
    expect(envFor(1)).toEqual({
      RHEO_KAFKA_BROKERS: '127.0.0.1:19092',
      RHEO_SCHEMA_REGISTRY_URL: 'http://127.0.0.1:18081/apis/ccompat/v7',
      RHEO_REDIS_URL: 'redis://127.0.0.1:16379/0',
      RHEO_CLICKHOUSE_URL: 'http://127.0.0.1:18123',
      RHEO_CLICKHOUSE_DATABASE: 'rheo',
      RHEO_STACK_DIR: '.stack',
    });
    expect(envFor(3)).toMatchObject({
      RHEO_KAFKA_BROKERS: '127.0.0.1:19092,127.0.0.1:19094,127.0.0.1:19096',
      RHEO_KAFKA_REPLICATION_FACTOR: '3',
    });
  });

  it('prints export lines, quoting only what needs it', () => {
    expect(exportLines({ A: 'redis://127.0.0.1:1/0', B: "it's here" })).toBe(
      "export A=redis://127.0.0.1:1/0\nexport B='it'\\''s here'",
    );
  });
});
