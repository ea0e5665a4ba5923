import { randomUUID } from 'node:crypto';
import { RedisOnlineStore } from '../../../features/online/redis.ts';
import { createRedis } from '../../../kernel/clients.ts';
import { loadConfig } from '../../../kernel/config.ts';
import { onlineStoreConformance } from '../../support/online-conformance.ts';

// Redis on the local stack, under a prefix of its own so concurrent runs never meet.
onlineStoreConformance(
  'redis',
  () =>
    new RedisOnlineStore(createRedis(loadConfig()), { prefix: `test:features:${randomUUID().slice(0, 8)}`, ownsClient: true }),
);
