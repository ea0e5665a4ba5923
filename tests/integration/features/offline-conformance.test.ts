import { describe, expect, it } from 'vitest';
import type { FeatureRow } from '../../../features/declaration.ts';
import { ClickHouseOfflineStore } from '../../../features/offline/clickhouse.ts';
import { MemoryOfflineStore } from '../../../features/offline/memory.ts';
import { createClickHouse } from '../../../kernel/clients.ts';
import { loadConfig } from '../../../kernel/config.ts';
import { rng } from '../../../kernel/random.ts';
import { row, testGroup } from '../../support/feature-groups.ts';
import { offlineStoreConformance } from '../../support/offline-conformance.ts';

// ClickHouse on the local stack (18.16): each test's group has a unique name, hence its own table.
offlineStoreConformance('clickhouse', () => {
  const config = loadConfig();
  return new ClickHouseOfflineStore(createClickHouse(config), {
    database: config.clickhouse.database,
    ownsClient: true,
    chunkRows: 1000,
  });
});

describe('ClickHouse point-in-time answers equal the reference on random histories', () => {
  it('agrees with the in-memory store on 3000 events and 3000 queries (late, equal times, TTL, backfills)', async () => {
    const config = loadConfig();
    const store = new ClickHouseOfflineStore(createClickHouse(config), {
      database: config.clickhouse.database,
      ownsClient: true,
    });
    const reference = new MemoryOfflineStore();
    const group = testGroup('diff', { ttlSeconds: 60 });
    const random = rng(20_261_123);
    const pick = (n: number) => Math.floor(random() * n);
    try {
      await store.ensure(group);
      const rows: FeatureRow[] = [];
      for (let i = 0; i < 3_000; i++) {
        const eventTime = pick(60) * 10_000; // coarse, so equal event times are common
        const createdTime = eventTime + (random() < 0.3 ? 0 : pick(12) * 10_000); // some backfills, some at once
        const values = random() < 0.1 ? { amount: null, count: i, label: '', flag: false } : undefined;
        rows.push(row(`e${pick(40)}`, eventTime, { createdTime, ...(values ? { values } : {}) }));
      }
      rows.push(...rows.slice(0, 200)); // redeliveries
      for (const target of [store, reference])
        for (let i = 0; i < rows.length; i += 1_000) await target.writeBatch(group, rows.slice(i, i + 1_000));
      const queries = Array.from({ length: 3_000 }, () => ({
        entityId: `e${pick(45)}`,
        timestamp: pick(80) * 10_000 + pick(3) * 5_000,
      }));
      expect(await store.pointInTime(group, queries)).toEqual(await reference.pointInTime(group, queries));
    } finally {
      await store.teardown(group);
      await store.close();
    }
  });
});
