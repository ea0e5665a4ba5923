/**
 * The archiver on the real stack: every contract's fixtures produced through the registry land in
 * their ClickHouse tables; a full replay (a new consumer group from the earliest offset) leaves the
 * same rows, because tables deduplicate by event id.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ClickHouseClient, createClickHouse } from '../../kernel/clients.ts';
import { loadConfig } from '../../kernel/config.ts';
import { type Admin, createAdmin, createKafka, createProducer, type Producer } from '../../kernel/kafka.ts';
import { createLogger } from '../../kernel/log.ts';
import { createRegistry } from '../../kernel/metrics.ts';
import { ident, list, sql } from '../../kernel/sql.ts';
import { createArchiver } from '../../processors/archiver/index.ts';
import { FIXTURES } from '../../schemas/fixtures.ts';
import { type ContractName, contractNamed, SchemaCodec } from '../../schemas/index.ts';
import { ARCHIVED_TABLES } from '../../tables/history.ts';
import { ensureTopics } from '../../topics/admin.ts';
import { catalogue } from '../../topics/catalogue.ts';
import { uniqueName } from '../support/topics.ts';
import { waitFor } from '../support/wait.ts';

const config = loadConfig();
const logger = createLogger('archiver-test', { level: 'error' });
let admin: Admin;
let producer: Producer;
let clickhouse: ClickHouseClient;

beforeAll(async () => {
  const kafka = createKafka(config.kafka, logger, 'archiver-test');
  admin = createAdmin(kafka);
  producer = createProducer(kafka);
  clickhouse = createClickHouse(config);
  await Promise.all([admin.connect(), producer.connect()]);
  await ensureTopics(admin, catalogue());
});

afterAll(async () => {
  await Promise.allSettled([admin.disconnect(), producer.disconnect(), clickhouse.close()]);
});

async function countByEventIds(table: string, ids: string[]): Promise<number> {
  const result = await clickhouse.query({
    query: sql`SELECT count() AS n FROM ${ident(`rheo.${table}`)} FINAL WHERE event_id IN ${list(ids)}`.text,
    format: 'JSONEachRow',
  });
  return Number(((await result.json()) as Array<{ n: string }>)[0]?.n ?? 0);
}

describe('archiver', () => {
  it('lands every event type in its table once, and a replay adds no duplicate', async () => {
    const codec = SchemaCodec.fromConfig(config.registry);
    const idsByTable = new Map<string, string[]>();
    for (const table of ARCHIVED_TABLES) {
      const name = table.topic.valueSchema as ContractName;
      const topicCodec = await codec.forTopic(table.topic.name, contractNamed(name)!);
      const ids: string[] = [];
      const messages = FIXTURES[name].map((fixture) => {
        const event_id = randomUUID();
        ids.push(event_id);
        return { key: 'k', value: topicCodec.encode({ ...(fixture as object), event_id } as never) };
      });
      await producer.send({ topic: table.topic.name, acks: -1, messages });
      idsByTable.set(table.name, ids);
    }
    const runArchiver = async (groupId: string) => {
      const archiver = await createArchiver(
        config,
        { logger, metrics: createRegistry('archiver-test', { defaultMetrics: false }) },
        { groupId },
      );
      await archiver.start();
      try {
        for (const [table, ids] of idsByTable) {
          await waitFor(`${ids.length} rows in ${table}`, async () => (await countByEventIds(table, ids)) >= ids.length, {
            timeoutMs: 90_000,
          });
        }
      } finally {
        await archiver.stop();
      }
    };
    await runArchiver(uniqueName('archiver'));
    // Replay everything from the beginning under a fresh group: same rows, no duplicates.
    await runArchiver(uniqueName('archiver-replay'));
    for (const [table, ids] of idsByTable) expect(await countByEventIds(table, ids), table).toBe(ids.length);
  });
});
