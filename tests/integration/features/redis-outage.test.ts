/**
 * Redis stopped for a while, then restarted: the materializer pauses (nothing committed past what
 * Redis acknowledged), then lands everything. Uses a throwaway redis-server of its own (AOF on, in a
 * temp dir) so the shared stack's Redis is never touched.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FeatureRow } from '../../../features/declaration.ts';
import { ClickHouseOfflineStore } from '../../../features/offline/clickhouse.ts';
import { RedisOnlineStore } from '../../../features/online/redis.ts';
import { reconcile } from '../../../features/reconcile.ts';
import { createClickHouse, createRedis } from '../../../kernel/clients.ts';
import { loadConfig } from '../../../kernel/config.ts';
import { type Admin, createAdmin, createKafka, type Kafka } from '../../../kernel/kafka.ts';
import { createLogger } from '../../../kernel/log.ts';
import { createRegistry } from '../../../kernel/metrics.ts';
import { sleep } from '../../../kernel/retry.ts';
import { createMaterializer } from '../../../processors/materializer/index.ts';
import { featureTopic } from '../../../topics/catalogue.ts';
import { exited } from '../../support/child.ts';
import { row, testGroup } from '../../support/feature-groups.ts';
import { applyGroup, duplicateEvents, newestByEntity, produceRows, waitUntilLanded } from '../../support/feature-pipeline.ts';
import { waitFor } from '../../support/wait.ts';

const config = loadConfig();
let kafka: Kafka;
let admin: Admin;
let dir: string;
let port: number;
let redisProcess: ChildProcess | undefined;

function freePort(from: number): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(freePort(from + 1)));
    server.listen(from, '127.0.0.1', () => server.close(() => resolve(from)));
  });
}

async function startRedis(): Promise<void> {
  redisProcess = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'yes', '--dir', dir, '--daemonize', 'no'],
    { stdio: 'ignore' },
  );
  const probe = createRedis({ ...config, redis: { url: `redis://127.0.0.1:${port}/0` } }, { lazyConnect: true });
  probe.on('error', () => undefined);
  await waitFor('throwaway redis up', async () => (await probe.ping().catch(() => '')) === 'PONG', { timeoutMs: 15_000 });
  probe.disconnect();
}

async function stopRedis(): Promise<void> {
  if (!redisProcess) return;
  redisProcess.kill('SIGTERM'); // a clean shutdown flushes the AOF
  await exited(redisProcess);
  redisProcess = undefined;
}

beforeAll(async () => {
  kafka = createKafka(config.kafka, undefined, 'redis-outage-test');
  admin = createAdmin(kafka);
  await admin.connect();
  dir = mkdtempSync(join(tmpdir(), 'rheo-redis-outage-'));
  port = await freePort(16479);
  await startRedis();
});

afterAll(async () => {
  await stopRedis();
  rmSync(dir, { recursive: true, force: true });
  await admin.disconnect();
});

describe('materializer through a Redis outage', () => {
  it('pauses while Redis is down and lands everything once it is back', async () => {
    const own = { ...config, redis: { url: `redis://127.0.0.1:${port}/0` } };
    const online = new RedisOnlineStore(createRedis(own), { ownsClient: true });
    const offline = new ClickHouseOfflineStore(createClickHouse(config), {
      database: config.clickhouse.database,
      ownsClient: true,
    });
    const group = testGroup('outage', { ttlSeconds: 86_400 });
    const runner = await (async () => {
      await applyGroup(config, group, { admin, online, offline });
      return createMaterializer(
        own,
        {
          logger: createLogger('redis-outage-test', { level: 'error' }),
          metrics: createRegistry('outage', { defaultMetrics: false }),
          online,
          offline,
        },
        {
          startFrom: 'earliest',
          groups: [group],
          groupId: `test.materializer.${randomUUID().slice(0, 8)}`,
          sinkRetry: { initialDelayMs: 200, maxDelayMs: 1_000 },
        },
      );
    })();
    try {
      const base = Date.now() - 3_600_000;
      const first: FeatureRow[] = Array.from({ length: 3_000 }, (_, i) => row(`card-${i % 100}`, base + i * 100));
      await produceRows(config, kafka, group, first);
      await runner.start();
      await waitUntilLanded(group, online, offline, first);

      await stopRedis();
      const second: FeatureRow[] = Array.from({ length: 3_000 }, (_, i) => row(`card-${i % 150}`, base + 1_000_000 + i * 100));
      await produceRows(config, kafka, group, second);
      await waitFor('the runner to pause on the failing sink', () => runner.state().paused, { timeoutMs: 30_000 });
      await sleep(3_000);
      expect(runner.state().paused).toBe(true);

      await startRedis();
      const all = [...first, ...second];
      await waitUntilLanded(group, online, offline, all);
      await waitFor('the runner to resume', () => !runner.state().paused, { timeoutMs: 30_000 });

      const newest = newestByEntity(all);
      const [stored = []] = await online.read([{ group, entityIds: [...newest.keys()] }]);
      expect(stored).toEqual([...newest.values()]);
      expect(await offline.count(group)).toBe(all.length);
      expect(await duplicateEvents(offline, group)).toBe(0);
      expect((await reconcile(group, online, offline)).differences).toBe(0);
    } finally {
      await runner.stop();
      await online.teardown(group).catch(() => undefined);
      await offline.teardown(group);
      await online.close();
      await offline.close();
      const topic = featureTopic(group.name);
      await admin.deleteTopics({ topics: [topic.name, topic.dlq as string] }).catch(() => undefined);
    }
  });
});
