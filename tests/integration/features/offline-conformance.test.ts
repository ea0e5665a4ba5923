import { ClickHouseOfflineStore } from '../../../features/offline/clickhouse.ts';
import { createClickHouse } from '../../../kernel/clients.ts';
import { loadConfig } from '../../../kernel/config.ts';
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
