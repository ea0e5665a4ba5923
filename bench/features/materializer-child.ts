/**
 * The materializer as its own process for `bench/features.ts` (as it runs in production), reporting
 * from its listed metrics only: every 20 ms a JSON line {t, recordsIn, writes, rssMiB} on stdout
 * (t: ms on this process's clock), and {peakRssMiB} after SIGTERM stopped it.
 * Env: GROUP_DECL (JSON declaration), GROUP_ID, PARTITIONS_CONCURRENTLY, CHUNK, LIVE_AFTER (epoch ms).
 *
 * Visibility: the online store is wrapped (composition, nothing measured is changed) and, for every
 * event created after LIVE_AFTER (the live load, not the backlog), the time from its created_time
 * (set by the producer at send) to Redis acknowledging the write is recorded; the percentiles come
 * with the final line.
 */
import { readFileSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { FeatureGroupDecl, FeatureRow } from '../../features/declaration.ts';
import { ClickHouseOfflineStore } from '../../features/offline/clickhouse.ts';
import { RedisOnlineStore } from '../../features/online/redis.ts';
import { createClickHouse, createRedis } from '../../kernel/clients.ts';
import { loadConfig } from '../../kernel/config.ts';
import { createLogger } from '../../kernel/log.ts';
import { createRegistry, type Registry } from '../../kernel/metrics.ts';
import { createMaterializer } from '../../processors/materializer/index.ts';

const env = process.env;
const config = loadConfig();
const logger = createLogger('bench-materializer', { defaultLevel: 'warn' });
const metrics = createRegistry('bench-materializer', { defaultMetrics: false });
const liveAfter = Number(env.LIVE_AFTER ?? Number.POSITIVE_INFINITY);
const visibility: number[] = [];
const redisMs: number[] = [];
const clickhouseMs: number[] = [];
const loopDelay = monitorEventLoopDelay({ resolution: 5 });
loopDelay.enable();

class MeasuredRedisStore extends RedisOnlineStore {
  override async writeBatch(group: FeatureGroupDecl, rows: readonly FeatureRow[]) {
    const started = performance.now();
    const result = await super.writeBatch(group, rows);
    if (Date.now() >= liveAfter + 0 && rows.some((r) => r.createdTime >= liveAfter)) redisMs.push(performance.now() - started);
    const now = Date.now();
    for (const row of rows) if (row.createdTime >= liveAfter) visibility.push(now - row.createdTime);
    return result;
  }
}
const online = new MeasuredRedisStore(createRedis(config), { ownsClient: true });
class MeasuredClickHouseStore extends ClickHouseOfflineStore {
  override async writeBatch(group: FeatureGroupDecl, rows: readonly FeatureRow[]) {
    const started = performance.now();
    await super.writeBatch(group, rows);
    if (rows.some((r) => r.createdTime >= liveAfter)) clickhouseMs.push(performance.now() - started);
  }
}
const offline = new MeasuredClickHouseStore(createClickHouse(config), { database: config.clickhouse.database, ownsClient: true });
const runner = await createMaterializer(
  config,
  { logger, metrics, online, offline },
  {
    startFrom: 'earliest',
    groups: [JSON.parse(env.GROUP_DECL as string) as FeatureGroupDecl],
    groupId: env.GROUP_ID as string,
    ...(env.PARTITIONS_CONCURRENTLY ? { partitionsConsumedConcurrently: Number(env.PARTITIONS_CONCURRENTLY) } : {}),
    ...(env.CHUNK ? { maxChunkRecords: Number(env.CHUNK) } : {}),
  },
);

async function total(registry: Registry, name: string): Promise<number> {
  const metric = await registry.getSingleMetric(name)?.get();
  return (metric?.values ?? []).reduce((sum, v) => sum + v.value, 0);
}

const rss = () => Math.round((process.memoryUsage.rss() / 1024 / 1024) * 10) / 10;
const timer = setInterval(async () => {
  const line = {
    t: performance.now(),
    recordsIn: await total(metrics, 'rheo_processor_records_in_total'),
    writes: await total(metrics, 'rheo_processor_writes_total'),
    rssMiB: rss(),
  };
  process.stdout.write(`${JSON.stringify(line)}\n`);
}, 20);

process.once('SIGTERM', async () => {
  clearInterval(timer);
  await runner.stop('SIGTERM');
  const hwm = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
  const quantiles = (samples: number[]) => {
    const sorted = [...samples].sort((a, b) => a - b);
    const at = (p: number) => {
      const value = sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
      return value === undefined ? null : Math.round(value * 10) / 10;
    };
    return { n: sorted.length, p50: at(50), p99: at(99), max: at(100) };
  };
  const sorted = visibility.sort((a, b) => a - b);
  const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? null;
  const diagnostics = {
    redisWriteMs: quantiles(redisMs),
    clickhouseWriteMs: quantiles(clickhouseMs),
    eventLoopDelayMs: { p50: loopDelay.percentile(50) / 1e6, p99: loopDelay.percentile(99) / 1e6, max: loopDelay.max / 1e6 },
  };
  process.stderr.write(`${JSON.stringify(diagnostics)}\n`);
  process.stdout.write(
    `${JSON.stringify({ peakRssMiB: hwm ? Math.round((Number(hwm) / 1024) * 10) / 10 : rss(), visibility: { n: sorted.length, p50: at(50), p99: at(99), max: at(100) } })}\n`,
  );
  process.exit(0);
});
await runner.start();
