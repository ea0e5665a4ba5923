/**
 * Does kafkajs (the installed version) work against the running broker? Exercises what Rheo relies on —
 * produce, consume, consumer groups (join, commit, rebalance), admin calls and transactions with
 * sendOffsets — and prints a table. Exit status 0 only when every check passed.
 *
 *   node deploy/local/kafkajs-compat.ts [--brokers 127.0.0.1:19092] [--json]
 *
 * It talks to kafkajs directly on purpose (not through kernel/kafka.ts): the client library is what is tested.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { type Admin, type Consumer, Kafka, logLevel, type Producer } from 'kafkajs';
import { defineArgs, parseOrExplain } from '../../kernel/args.ts';
import { connectionSettings, localPortsFrom } from '../../kernel/config.ts';
import { load } from '../../kernel/settings.ts';

interface CheckResult {
  check: string;
  ok: boolean;
  ms: number;
  detail: string;
}

const TIMEOUT_MS = 90_000;

function kafkajsVersion(): string {
  const require = createRequire(import.meta.url);
  return (JSON.parse(readFileSync(require.resolve('kafkajs/package.json'), 'utf8')) as { version: string }).version;
}

function timeout<T>(promise: Promise<T>, what: string, ms = TIMEOUT_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: timed out after ${ms / 1000}s`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/** Resolves once `predicate` holds, checking every 100 ms. */
async function until(what: string, predicate: () => boolean, ms = TIMEOUT_MS): Promise<void> {
  const deadline = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`${what}: timed out after ${ms / 1000}s`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export async function runCompat(brokers: string[]): Promise<{ kafkajs: string; results: CheckResult[] }> {
  const run = randomUUID().slice(0, 8);
  const kafka = new Kafka({ clientId: `rheo-compat-${run}`, brokers, logLevel: logLevel.NOTHING, retry: { retries: 5 } });
  const admin = kafka.admin();
  const topic = `compat.${run}.events`;
  const txTopic = `compat.${run}.tx-out`;
  const group = `compat-${run}-group`;
  const results: CheckResult[] = [];
  const cleanup: Array<() => Promise<void>> = [];
  const check = async (name: string, body: () => Promise<string>) => {
    const t0 = Date.now();
    try {
      const detail = await timeout(body(), name);
      results.push({ check: name, ok: true, ms: Date.now() - t0, detail });
    } catch (error) {
      results.push({
        check: name,
        ok: false,
        ms: Date.now() - t0,
        detail: error instanceof Error ? error.message : String(error),
      });
    }
  };
  const track = <T extends Producer | Consumer | Admin>(client: T): T => {
    cleanup.push(() => client.disconnect());
    return client;
  };

  let replication = 1;
  await check('admin: connect + describe cluster', async () => {
    await admin.connect();
    cleanup.push(() => admin.disconnect());
    const cluster = await admin.describeCluster();
    replication = cluster.brokers.length >= 3 ? 3 : 1;
    return `${cluster.brokers.length} broker(s), controller ${cluster.controller}`;
  });

  await check('admin: create topics', async () => {
    const created = await admin.createTopics({
      waitForLeaders: true,
      topics: [
        { topic, numPartitions: 2, replicationFactor: replication, configEntries: [{ name: 'retention.ms', value: '3600000' }] },
        { topic: txTopic, numPartitions: 1, replicationFactor: replication },
      ],
    });
    return created ? `${topic}, ${txTopic}` : 'already existed';
  });

  await check('admin: describe topics (metadata)', async () => {
    const meta = await admin.fetchTopicMetadata({ topics: [topic] });
    const partitions = meta.topics[0]?.partitions ?? [];
    if (partitions.length !== 2) throw new Error(`expected 2 partitions, got ${partitions.length}`);
    return `2 partitions, leaders ${partitions.map((p) => p.leader).join(',')}`;
  });

  await check('admin: describeConfigs', async () => {
    const res = await admin.describeConfigs({
      includeSynonyms: false,
      resources: [{ type: 2 /* TOPIC */, name: topic, configNames: ['retention.ms', 'cleanup.policy'] }],
    });
    const entries = res.resources[0]?.configEntries ?? [];
    const retention = entries.find((e) => e.configName === 'retention.ms')?.configValue;
    if (retention !== '3600000') throw new Error(`retention.ms = ${retention}`);
    return entries.map((e) => `${e.configName}=${e.configValue}`).join(' ');
  });

  const producer = track(kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false }));
  await check('produce (idempotent, acks=all, headers, gzip)', async () => {
    await producer.connect();
    const { CompressionTypes } = await import('kafkajs');
    const sent = await producer.send({
      topic,
      acks: -1,
      compression: CompressionTypes.GZIP,
      messages: Array.from({ length: 20 }, (_, i) => ({
        key: `k${i}`,
        value: JSON.stringify({ i }),
        headers: { run, n: String(i) },
      })),
    });
    return `20 records, base offsets ${sent.map((s) => `p${s.partition}@${s.baseOffset}`).join(' ')}`;
  });

  await check('admin: fetch topic offsets (+ by timestamp)', async () => {
    const offsets = await admin.fetchTopicOffsets(topic);
    const total = offsets.reduce((sum, o) => sum + Number(o.high) - Number(o.low), 0);
    if (total !== 20) throw new Error(`expected 20 records, high-low sums to ${total}`);
    const byTime = await admin.fetchTopicOffsetsByTimestamp(topic, Date.now() - 60_000);
    return `high ${offsets.map((o) => `p${o.partition}=${o.high}`).join(' ')}; by timestamp ${byTime.map((o) => `p${o.partition}=${o.offset}`).join(' ')}`;
  });

  // Consumer group: one member joins and consumes everything, commits; then a second member joins and the group rebalances.
  const seen = new Map<string, string>();
  const assignments = new Map<string, number[]>();
  const consumerA = track(
    kafka.consumer({ groupId: group, sessionTimeout: 15_000, heartbeatInterval: 1_000, rebalanceTimeout: 20_000 }),
  );
  const consumerB = track(
    kafka.consumer({ groupId: group, sessionTimeout: 15_000, heartbeatInterval: 1_000, rebalanceTimeout: 20_000 }),
  );
  for (const [name, consumer] of [
    ['a', consumerA],
    ['b', consumerB],
  ] as const) {
    consumer.on(consumer.events.GROUP_JOIN, (e) => {
      assignments.set(name, e.payload.memberAssignment[topic] ?? []);
    });
  }

  await check('consume: group join + read all', async () => {
    await consumerA.connect();
    await consumerA.subscribe({ topic, fromBeginning: true });
    await consumerA.run({
      autoCommit: false,
      eachMessage: async ({ message, partition }) => {
        seen.set(message.key?.toString() ?? '', `${partition}:${message.offset}:${message.headers?.run?.toString()}`);
      },
    });
    await until('20 records', () => seen.size >= 20);
    if ([...seen.values()].some((v) => !v.endsWith(`:${run}`))) throw new Error('headers did not round-trip');
    return `20 records, headers intact, assigned ${JSON.stringify(assignments.get('a'))}`;
  });

  await check('consumer group: commit offsets', async () => {
    const offsets = await admin.fetchTopicOffsets(topic);
    await consumerA.commitOffsets(offsets.map((o) => ({ topic, partition: o.partition, offset: o.high })));
    const committed = await admin.fetchOffsets({ groupId: group, topics: [topic] });
    const parts = committed[0]?.partitions ?? [];
    const ok = parts.every((p) => p.offset === offsets.find((o) => o.partition === p.partition)?.high);
    if (!ok || parts.length !== 2) throw new Error(`committed ${JSON.stringify(parts)}`);
    return `committed ${parts.map((p) => `p${p.partition}=${p.offset}`).join(' ')}`;
  });

  await check('admin: fetch offsets + describe groups', async () => {
    const described = await admin.describeGroups([group]);
    const g = described.groups[0];
    if (g?.state !== 'Stable') throw new Error(`group state ${g?.state}`);
    const listed = await admin.listGroups();
    if (!listed.groups.some((x) => x.groupId === group)) throw new Error('listGroups does not show the group');
    return `state ${g.state}, protocol ${g.protocol}, ${g.members.length} member(s)`;
  });

  await check('consumer group: rebalance on second member', async () => {
    await consumerB.connect();
    await consumerB.subscribe({ topic, fromBeginning: true });
    await consumerB.run({ autoCommit: true, eachMessage: async () => {} });
    await until(
      'both members assigned one partition',
      () => (assignments.get('a')?.length ?? 0) === 1 && (assignments.get('b')?.length ?? 0) === 1,
    );
    const described = await admin.describeGroups([group]);
    return `a=${JSON.stringify(assignments.get('a'))} b=${JSON.stringify(assignments.get('b'))}, ${described.groups[0]?.members.length} members`;
  });

  await check('consumer group: leave (disconnect) + rejoin', async () => {
    await consumerB.disconnect();
    await until('a owns both partitions again', () => (assignments.get('a')?.length ?? 0) === 2);
    return `a=${JSON.stringify(assignments.get('a'))}`;
  });
  await consumerA.disconnect().catch(() => {});

  await check('transactions: send + sendOffsets + commit', async () => {
    const tx = track(
      kafka.producer({
        transactionalId: `compat-${run}-tx`,
        idempotent: true,
        maxInFlightRequests: 1,
        allowAutoTopicCreation: false,
      }),
    );
    await tx.connect();
    const t = await tx.transaction();
    await t.send({ topic: txTopic, messages: [{ key: 'committed', value: 'yes' }] });
    await t.sendOffsets({ consumerGroupId: `${group}-tx`, topics: [{ topic, partitions: [{ partition: 0, offset: '5' }] }] });
    await t.commit();
    const aborted = await tx.transaction();
    await aborted.send({ topic: txTopic, messages: [{ key: 'aborted', value: 'no' }] });
    await aborted.abort();
    const committed = await admin.fetchOffsets({ groupId: `${group}-tx`, topics: [topic] });
    const p0 = committed[0]?.partitions.find((p) => p.partition === 0)?.offset;
    if (p0 !== '5') throw new Error(`sendOffsets committed ${p0}`);
    return 'committed one, aborted one; group offset p0=5 via the transaction';
  });

  await check('transactions: read_committed consumer', async () => {
    const reader = track(kafka.consumer({ groupId: `${group}-reader`, readUncommitted: false }));
    const keys: string[] = [];
    await reader.connect();
    await reader.subscribe({ topic: txTopic, fromBeginning: true });
    await reader.run({ eachMessage: async ({ message }) => void keys.push(message.key?.toString() ?? '') });
    await until('the committed record', () => keys.includes('committed'));
    await new Promise((r) => setTimeout(r, 1500));
    await reader.disconnect();
    if (keys.includes('aborted')) throw new Error(`saw the aborted record: ${keys.join(',')}`);
    return `saw ${keys.join(',')}`;
  });

  await check('admin: delete topics', async () => {
    await admin.deleteTopics({ topics: [topic, txTopic], timeout: 30_000 });
    return 'deleted';
  });

  for (const fn of cleanup.reverse()) await fn().catch(() => {});
  return { kafkajs: kafkajsVersion(), results };
}

const COMPAT_ARGS = defineArgs({
  program: 'node deploy/local/kafkajs-compat.ts',
  flags: {
    brokers: {
      type: 'string',
      value: 'host:port,…',
      description: "the brokers to check (default RHEO_KAFKA_BROKERS, or the local stack's first broker)",
    },
    json: { type: 'boolean', description: 'print JSON instead of a table' },
  },
});

function brokersOf(given: string | undefined): string[] {
  // Only the brokers variable: this check must run even when unrelated settings are wrong.
  const { RHEO_KAFKA_BROKERS } = connectionSettings(localPortsFrom());
  return given === undefined
    ? load({ RHEO_KAFKA_BROKERS }).RHEO_KAFKA_BROKERS
    : given
        .split(',')
        .map((b) => b.trim())
        .filter(Boolean);
}

const args = import.meta.main ? parseOrExplain(COMPAT_ARGS, process.argv.slice(2), 'kafkajs-compat') : undefined;
if (args) {
  const brokers = brokersOf(args.flags.brokers);
  const { kafkajs, results } = await runCompat(brokers);
  if (args.flags.json) {
    process.stdout.write(`${JSON.stringify({ kafkajs, brokers, results }, null, 2)}\n`);
  } else {
    const width = Math.max(...results.map((r) => r.check.length));
    process.stdout.write(`kafkajs ${kafkajs} against ${brokers.join(',')}\n`);
    for (const r of results)
      process.stdout.write(`${r.ok ? 'PASS' : 'FAIL'}  ${r.check.padEnd(width)}  ${String(r.ms).padStart(6)} ms  ${r.detail}\n`);
    const failed = results.filter((r) => !r.ok).length;
    process.stdout.write(`${results.length - failed} passed, ${failed} failed\n`);
  }
  process.exitCode = results.every((r) => r.ok) ? 0 : 1;
}
