import { describe, expect, it } from 'vitest';
import type { FeatureGroupDecl } from '../../../../features/declaration.ts';
import { MemoryOfflineStore } from '../../../../features/offline/memory.ts';
import { MemoryOnlineStore } from '../../../../features/online/memory.ts';
import { RheoError } from '../../../../kernel/errors.ts';
import { materializerSpec } from '../../../../processors/materializer/index.ts';
import { featureStoresSink } from '../../../../processors/materializer/sink.ts';
import { ProcessorTestDriver } from '../../../../runtime/driver.ts';
import { featureGroupContract, InMemorySchemaRegistry, SchemaCodec } from '../../../../schemas/index.ts';
import { featureTopic } from '../../../../topics/catalogue.ts';
import { row, testGroup } from '../../../support/feature-groups.ts';
import { eventOf } from '../../../support/feature-pipeline.ts';

async function setup(group: FeatureGroupDecl) {
  const codec = new SchemaCodec(new InMemorySchemaRegistry());
  const topicCodec = await codec.forTopic(featureTopic(group.name).name, featureGroupContract(group));
  const online = new MemoryOnlineStore();
  const offline = new MemoryOfflineStore();
  const driver = new ProcessorTestDriver(materializerSpec([group], { codec, online, offline }));
  const record = (event: Record<string, unknown>, key = String(event.entity_id)) =>
    driver.record(featureTopic(group.name).name, topicCodec.encode(event as never), { key });
  return { driver, online, offline, record };
}

describe('materializer (broker-free, through the test driver)', () => {
  it('writes every event offline and the newest per entity online, out-of-order and corrections included', async () => {
    const group = testGroup('mat');
    const { driver, online, offline, record } = await setup(group);
    const now = Date.now();
    const newest = row('c1', now - 1_000);
    const correction = row('c1', now - 1_000, { createdTime: now, values: { amount: 9, count: 9, label: 'fixed', flag: true } });
    await driver.pipe([
      record(eventOf(newest)),
      record(eventOf(row('c1', now - 5_000))),
      record(eventOf(row('c2', now - 2_000))),
    ]);
    await driver.pipe([record(eventOf(correction)), record(eventOf(row('c1', now - 3_000)))]);
    expect(driver.deadLetters).toEqual([]);
    expect(await offline.count(group)).toBe(5);
    const [rows] = await online.read([{ group, entityIds: ['c1', 'c2'] }]);
    expect(rows?.[0]).toEqual(correction);
    expect(rows?.[1]?.eventTime).toBe(now - 2_000);
  });

  it('dead-letters what is not a valid event of the group, with the reason, and lets the rest through', async () => {
    const group = testGroup('mat');
    const { driver, offline, record } = await setup(group);
    const now = Date.now();
    await driver.pipe([
      record(eventOf(row('ok', now))),
      driver.record(featureTopic(group.name).name, Buffer.from('not avro'), { key: 'x' }),
      record(eventOf(row('c9', now)), 'other-key'),
      record(eventOf(row('', now)), ''),
      record(eventOf(row('n', now, { values: { amount: Number.POSITIVE_INFINITY, count: 1, label: 'x', flag: true } }))),
      driver.record(featureTopic(group.name).name, null, { key: 'tombstone' }),
    ]);
    expect(await offline.count(group)).toBe(1);
    expect(driver.deadLetters.map((d) => [d.code, d.reason.replace(/^invalid \S+ event: /, '')])).toEqual([
      ['SCHEMA_DECODE_FAILED', expect.stringMatching(/^UNKNOWN_MAGIC_BYTE/)],
      ['SCHEMA_DECODE_FAILED', expect.stringMatching(/^TRUNCATED/)],
      ['PROCESSING_FAILED', 'record key "other-key" but entity_id is "c9"; the key must be the entity id'],
      ['PROCESSING_FAILED', 'missing entity: entity_id is empty'],
      ['PROCESSING_FAILED', 'feature "amount" must be a finite double, got Infinity'],
    ]);
    expect(driver.deadLetters.every((d) => d.dlqTopic === `features.${group.name}.dlq`)).toBe(true);
  });

  it('acknowledges only when both stores did, after both finished', async () => {
    const group = testGroup('mat');
    const online = new MemoryOnlineStore();
    const offline = new MemoryOfflineStore();
    let offlineDone = false;
    const slowOffline = Object.assign(offline, {
      writeBatch: async (...args: Parameters<MemoryOfflineStore['writeBatch']>) => {
        await new Promise((resolve) => setTimeout(resolve, 30));
        await MemoryOfflineStore.prototype.writeBatch.apply(offline, args);
        offlineDone = true;
      },
    });
    const failingOnline = Object.assign(new MemoryOnlineStore(), {
      writeBatch: async () => {
        throw new RheoError('SINK_UNAVAILABLE', 'redis down');
      },
    });
    const sink = featureStoresSink(new Map([[group.name, group]]), failingOnline, slowOffline);
    const writes = [{ group: group.name, row: row('c', Date.now()) }];
    await expect(sink.write(writes, new AbortController().signal)).rejects.toMatchObject({ code: 'SINK_UNAVAILABLE' });
    expect(offlineDone).toBe(true); // the retry never races a write still running
    await featureStoresSink(new Map([[group.name, group]]), online, offline).write(writes, new AbortController().signal);
    expect((await online.read([{ group, entityIds: ['c'] }]))[0]?.[0]).not.toBeNull();
  });
});
