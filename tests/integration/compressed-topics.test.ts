/**
 * Topics written by producers Rheo did not write, with the compressions Java clients, Kafka Connect
 * and librdkafka are usually set to: for each of lz4, snappy and zstd, kcat (librdkafka, from
 * Debian) produces Confluent-framed Avro feature events of a test group, keyed by entity id with
 * the Java-compatible partitioner, and the feature materializer lands every one of them online and
 * offline. A plain kafkajs consumer (none of Rheo's codecs) reading the same topic first crashes
 * with "<codec> compression not implemented": the batches on the broker really are compressed, and
 * kernel/kafka.ts's codecs are what reads them.
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FeatureGroupDecl, FeatureRow } from '../../features/declaration.ts';
import { ClickHouseOfflineStore } from '../../features/offline/clickhouse.ts';
import { RedisOnlineStore } from '../../features/online/redis.ts';
import { createClickHouse, createRedis } from '../../kernel/clients.ts';
import { loadConfig } from '../../kernel/config.ts';
import { type Admin, createAdmin, createKafka } from '../../kernel/kafka.ts';
import { createLogger } from '../../kernel/log.ts';
import { createRegistry } from '../../kernel/metrics.ts';
import { createMaterializer } from '../../processors/materializer/index.ts';
import { featureGroupContract, SchemaCodec } from '../../schemas/index.ts';
import { featureTopic } from '../../topics/catalogue.ts';
import { exited, startChild } from '../support/child.ts';
import { row, testGroup } from '../support/feature-groups.ts';
import { applyGroup, eventOf, waitUntilLanded } from '../support/feature-pipeline.ts';

const exec = promisify(execFile);
const PLAIN_READER = new URL('./fixtures/plain-kafkajs-reader.ts', import.meta.url);
const config = loadConfig();
const logger = createLogger('compressed-topics-test', { level: 'warn' });
/** kcat's key and message delimiters (its `\xNN` escapes); the test checks no record contains them. */
const KEY_DELIMITER = '\\xff\\xfe\\xfdKEY\\xfc';
const MESSAGE_DELIMITER = '\\xff\\xfe\\xfdMSG\\xfc';
const bytesOf = (s: string) =>
  Buffer.from(
    s.replace(/\\x([0-9a-f]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16))),
    'latin1',
  );

const kcatMissing = await exec('kcat', ['-V']).then(
  () => undefined,
  () => 'kcat is not installed (deploy/local/bootstrap.sh installs it: apt-get install kcat)',
);
if (kcatMissing) console.warn(`compressed-topics tests skipped: ${kcatMissing}`);

let admin: Admin;
let online: RedisOnlineStore;
let offline: ClickHouseOfflineStore;
let dir: string;
const groups: FeatureGroupDecl[] = [];
const stops: Array<() => Promise<void>> = [];

beforeAll(async () => {
  admin = createAdmin(createKafka(config.kafka, undefined, 'compressed-topics-test'));
  await admin.connect();
  online = new RedisOnlineStore(createRedis(config), { ownsClient: true });
  offline = new ClickHouseOfflineStore(createClickHouse(config), { database: config.clickhouse.database, ownsClient: true });
  dir = mkdtempSync(join(tmpdir(), 'rheo-compressed-'));
});

afterAll(async () => {
  for (const stop of stops) await stop().catch(() => undefined);
  for (const group of groups) {
    await online.teardown(group).catch(() => undefined);
    await offline.teardown(group).catch(() => undefined);
    const topic = featureTopic(group.name);
    await admin.deleteTopics({ topics: [topic.name, topic.dlq as string] }).catch(() => undefined);
  }
  await admin?.disconnect();
  await online?.close();
  await offline?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** 40 entities, 3 versions each; labels long and alike, so every batch compresses smaller (librdkafka sends a batch that does not uncompressed). */
function history(): FeatureRow[] {
  const base = Date.now() - 3_600_000;
  const rows: FeatureRow[] = [];
  for (let v = 0; v < 3; v++)
    for (let e = 0; e < 40; e++)
      rows.push(
        row(`card-${e}`, base + v * 60_000 + e, {
          values: {
            amount: e + v / 10,
            count: v,
            label: `merchant-category-${e % 4}-${'groceries'.repeat(4)}`,
            flag: v % 2 === 0,
          },
        }),
      );
  return rows;
}

describe.skipIf(Boolean(kcatMissing))('topics compressed by another producer (kcat)', () => {
  it.each(['lz4', 'snappy', 'zstd'] as const)('%s: every record kcat produced is materialized', async (compression) => {
    const group = testGroup(`kcat_${compression}`, { ttlSeconds: 86_400 });
    groups.push(group);
    await applyGroup(config, group, { admin, online, offline });
    const topic = featureTopic(group.name).name;

    // Confluent-framed Avro by the repository's codec, then kcat: key, key delimiter, value, message delimiter.
    const codec = await SchemaCodec.fromConfig(config.registry).forTopic(topic, featureGroupContract(group));
    const rows = history();
    const keyDelimiter = bytesOf(KEY_DELIMITER);
    const messageDelimiter = bytesOf(MESSAGE_DELIMITER);
    const parts: Buffer[] = [];
    for (const r of rows) {
      const value = codec.encode(eventOf(r) as never);
      expect(value.includes(keyDelimiter) || value.includes(messageDelimiter)).toBe(false);
      parts.push(Buffer.from(r.entityId), keyDelimiter, value, messageDelimiter);
    }
    const file = join(dir, `${compression}.records`);
    writeFileSync(file, Buffer.concat(parts));
    await exec(
      'kcat',
      [
        '-P',
        '-b',
        config.kafka.brokers.join(','),
        '-t',
        topic,
        '-z',
        compression,
        '-X',
        'partitioner=murmur2_random',
        '-X',
        'linger.ms=100',
        '-K',
        KEY_DELIMITER,
        '-D',
        MESSAGE_DELIMITER,
        '-l',
        file,
      ],
      { timeout: 60_000 },
    );

    // kafkajs alone cannot read it: the batches on the broker are compressed with this codec.
    const plain = startChild(PLAIN_READER, { BROKERS: config.kafka.brokers.join(','), TOPIC: topic });
    await exited(plain);
    expect(JSON.parse(plain.output().trim().split('\n').at(-1) ?? '{}')).toEqual({
      read: 0,
      error: `${{ lz4: 'LZ4', snappy: 'Snappy', zstd: 'ZSTD' }[compression]} compression not implemented`,
    });

    // Rheo's materializer (kafkajs with kernel/kafka.ts's codecs) lands every event.
    const runner = await createMaterializer(
      config,
      { logger, metrics: createRegistry('compressed-topics-test', { defaultMetrics: false }), online, offline },
      {
        startFrom: 'earliest',
        groups: [group],
        groupId: `test.compressed.${randomUUID().slice(0, 8)}`,
        sessionTimeoutMs: 10_000,
      },
    );
    stops.push(() => runner.stop());
    await runner.start();
    await waitUntilLanded(group, online, offline, rows, 60_000);
    await runner.stop();
    expect(await offline.count(group)).toBe(rows.length);
  });
});
