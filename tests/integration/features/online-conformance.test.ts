import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { RedisOnlineStore } from '../../../features/online/redis.ts';
import { createRedis } from '../../../kernel/clients.ts';
import { loadConfig } from '../../../kernel/config.ts';
import { row, testGroup } from '../../support/feature-groups.ts';
import { onlineStoreConformance } from '../../support/online-conformance.ts';

// Redis on the local stack, under a prefix of its own so concurrent runs never meet.
onlineStoreConformance(
  'redis',
  () =>
    new RedisOnlineStore(createRedis(loadConfig()), { prefix: `test:features:${randomUUID().slice(0, 8)}`, ownsClient: true }),
);

describe('Redis layout changes', () => {
  it('replaces a key left in another type by an older layout instead of failing on it', async () => {
    const store = new RedisOnlineStore(createRedis(loadConfig()), {
      prefix: `test:features:${randomUUID().slice(0, 8)}`,
      ownsClient: true,
    });
    const group = testGroup('layout');
    try {
      await store.redis.hset(store.key(group.name, 'old'), '_et', '1');
      const fresh = row('old', Date.now() - 1_000);
      expect(await store.writeBatch(group, [fresh])).toMatchObject({ accepted: 1 });
      expect((await store.read([{ group, entityIds: ['old'] }]))[0]?.[0]).toEqual(fresh);
    } finally {
      await store.teardown(group);
      await store.close();
    }
  });
});
