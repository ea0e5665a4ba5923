/**
 * `npm run bench -- features [--events 200000] [--cards 20000] [--rate <events/s>] [--seconds 15] [--reads 20000]
 *    [--partitions-concurrently n] [--chunk n] [--node-flags '<flags for the materializer process>']`
 *
 * One run, one topic, one broker:
 *   1. produce N card-activity feature events (Avro, from the demo generator) to a fresh `features.<bench group>`;
 *   2. raw kafkajs: a consumer group reads and Avro-decodes them all, nothing else (the ceiling);
 *   3. the materializer (shared runner, Redis CAS + ClickHouse insert, commits after both) does the same;
 *   4. with the materializer running, fresh events are produced at a steady rate (default a quarter of
 *      the throughput just measured) and every one's send → Redis-ack time is recorded by the
 *      materializer's harness (a wrapped store), with probe events read back by a poller as a cross-check;
 *   5. getOnlineFeatures for 10 entities, many times (p50/p99, first and last quarter to show it stays flat);
 *   peak RSS of this process (which hosts the materializer) throughout.
 * Rates count from the first record fetched to the last one processed (the materializer's from its
 * listed metrics `rheo_processor_records_in_total` and `rheo_processor_writes_total`), so group joins
 * are excluded from both alike. Everything the run creates is removed at the end.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { featureEvents } from '../examples/fraud/feature-events.ts';
import { take, transactions } from '../examples/fraud/generator.ts';
import { cardActivity } from '../examples/fraud/index.ts';
import { applyFeatureGroups } from '../features/apply.ts';
import { defineFeatureGroup, type FeatureGroupDecl } from '../features/declaration.ts';
import { ClickHouseOfflineStore } from '../features/offline/clickhouse.ts';
import { getOnlineFeatures } from '../features/online/read.ts';
import { RedisOnlineStore } from '../features/online/redis.ts';
import { FeatureRegistry } from '../features/registry.ts';
import { defineArgs, type Parsed, parseArgs } from '../kernel/args.ts';
import { createClickHouse, createRedis } from '../kernel/clients.ts';
import { loadConfig } from '../kernel/config.ts';
import { createAdmin, createKafka, createProducer, type ProducerMessage } from '../kernel/kafka.ts';
import { createLogger } from '../kernel/log.ts';
import { sleep } from '../kernel/retry.ts';
import { featureGroupContract, SchemaCodec } from '../schemas/index.ts';
import { featureTopic } from '../topics/catalogue.ts';
import { percentile, report, round, rssSampler, summarize } from './lib.ts';

export const BENCH_ARGS = defineArgs({
  program: 'npm run bench -- features',
  flags: {
    events: {
      type: 'number',
      integer: true,
      min: 1,
      default: 200_000,
      description: 'events in the backlog the materializer drains',
    },
    cards: { type: 'number', integer: true, min: 1, default: 20_000, description: 'distinct card ids' },
    seconds: { type: 'number', min: 1, default: 15, description: 'length of the visibility-latency probe' },
    reads: { type: 'number', integer: true, min: 1, default: 20_000, description: 'online reads timed' },
    rate: {
      type: 'number',
      integer: true,
      min: 1,
      description:
        'live load during the latency probe, events/s; default a quarter of the measured throughput, within 1000..20000',
    },
    'partitions-concurrently': {
      type: 'number',
      integer: true,
      min: 1,
      description: "the materializer's partitionsConsumedConcurrently",
    },
    chunk: { type: 'number', integer: true, min: 1, description: "the materializer's most records per chunk" },
    'node-flags': {
      type: 'string',
      value: '"<flags>"',
      dashValue: true,
      description: 'Node flags for the materializer child, space-separated',
    },
  },
});

type BenchFlags = Parsed<typeof BENCH_ARGS>['flags'];

interface ChildLine {
  t: number;
  recordsIn: number;
  writes: number;
  rssMiB: number;
}

/** The materializer child (bench/features/materializer-child.ts), its latest progress line, and its peak RSS on stop. */
function startMaterializer(group: FeatureGroupDecl, groupId: string, options: BenchFlags) {
  const env: Record<string, string> = { GROUP_DECL: JSON.stringify(group), GROUP_ID: groupId, LIVE_AFTER: String(Date.now()) };
  if (options['partitions-concurrently'] !== undefined) env.PARTITIONS_CONCURRENTLY = String(options['partitions-concurrently']);
  if (options.chunk !== undefined) env.CHUNK = String(options.chunk);
  const flags = (options['node-flags'] ?? '').split(' ').filter(Boolean);
  const child = spawn(process.execPath, [...flags, fileURLToPath(new URL('./features/materializer-child.ts', import.meta.url))], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let latest: ChildLine | undefined;
  let final:
    | { peakRssMiB: number; visibility: { n: number; p50: number | null; p99: number | null; max: number | null } }
    | undefined;
  let stderr = '';
  let exited = false;
  child.on('exit', () => {
    exited = true;
  });
  child.stderr.on('data', (data: Buffer) => {
    stderr = (stderr + data.toString()).slice(-4_000);
  });
  createInterface({ input: child.stdout }).on('line', (text) => {
    const line = JSON.parse(text) as ChildLine & Partial<NonNullable<typeof final>>;
    if (line.peakRssMiB !== undefined) final = line as NonNullable<typeof final>;
    else latest = line;
  });
  return {
    latest: () => latest,
    exited: () => exited,
    stderr: () => stderr,
    async stop() {
      if (process.env.BENCH_DIAGNOSTICS) child.stderr.on('data', (data: Buffer) => process.stderr.write(data));
      if (!exited) {
        child.kill('SIGTERM');
        await new Promise((resolve) => child.once('exit', resolve));
      }
      return final;
    },
  };
}

export async function run(args: string[]): Promise<void> {
  const options = parseArgs(BENCH_ARGS, args).flags;
  process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1';
  const { events, cards, seconds, reads } = options;
  const config = loadConfig();
  const logger = createLogger('bench-features', { defaultLevel: 'warn' });
  const rss = rssSampler();
  const log = (text: string) => process.stderr.write(`${text}\n`);

  const group: FeatureGroupDecl = defineFeatureGroup({
    ...cardActivity,
    name: `bench_${randomUUID().replaceAll('-', '').slice(0, 10)}`,
    features: [...cardActivity.features],
  });
  const topic = featureTopic(group.name);
  const kafka = createKafka(config.kafka, logger, 'bench-features');
  const admin = createAdmin(kafka);
  await admin.connect();
  const online = new RedisOnlineStore(createRedis(config), { ownsClient: true });
  const offline = new ClickHouseOfflineStore(createClickHouse(config), {
    database: config.clickhouse.database,
    ownsClient: true,
  });
  const codec = SchemaCodec.fromConfig(config.registry);
  const producer = createProducer(kafka);
  let child: ReturnType<typeof startMaterializer> | undefined;
  try {
    await applyFeatureGroups([group], { codec, admin, offline, online });
    const topicCodec = await codec.forTopic(topic.name, featureGroupContract(group));

    // 1. Produce N events: the demo's card activity, event times over the last hour (inside the TTL).
    log(`producing ${events} events to ${topic.name} ...`);
    const start = Date.now() - 3_600_000;
    const messages: ProducerMessage[] = [];
    for (const { group: g, event } of featureEvents(
      take(transactions({ seed: 7, cards, startTime: start, meanGapMs: 3_600_000 / events }), events),
    ))
      if (g === 'card_activity') messages.push({ key: event.entity_id, value: topicCodec.encode(event as never) });
    await producer.connect();
    const produceStarted = performance.now();
    for (let i = 0; i < messages.length; i += 10_000) {
      const slice = messages.slice(i, i + 10_000);
      await Promise.all(
        [0, 1, 2, 3].map((k) =>
          producer.send({ topic: topic.name, acks: -1, messages: slice.slice(k * 2_500, (k + 1) * 2_500) }),
        ),
      );
    }
    const produceRate = messages.length / ((performance.now() - produceStarted) / 1000);
    const total = messages.length;
    const bytes = messages.reduce((sum, m) => sum + (m.value as Buffer).length, 0);

    // 2. Raw kafkajs: consume and decode only.
    log('raw kafkajs consume + Avro decode ...');
    const raw = kafka.consumer({
      groupId: `bench.raw.${randomUUID().slice(0, 8)}`,
      maxBytesPerPartition: 1024 * 1024,
      maxBytes: 8 * 1024 * 1024,
    });
    let consumed = 0;
    let firstAt = 0;
    let lastAt = 0;
    await raw.connect();
    await raw.subscribe({ topics: [topic.name], fromBeginning: true });
    await raw.run({
      partitionsConsumedConcurrently: 3,
      eachBatch: async ({ batch }) => {
        if (!firstAt) firstAt = performance.now();
        for (const message of batch.messages) await topicCodec.decode(message.value as Buffer);
        consumed += batch.messages.length;
        if (consumed >= total) lastAt = performance.now();
      },
    });
    while (consumed < total) await sleep(20);
    await raw.disconnect();
    const rawRate = total / ((lastAt - firstAt) / 1000);

    // 3. The materializer, as its own process (as deployed): both sinks, commits after both.
    log('materializer (Redis CAS + ClickHouse) in its own process ...');
    child = startMaterializer(group, `bench.materializer.${randomUUID().slice(0, 8)}`, options);
    let mFirst = 0;
    let mLast = 0;
    for (;;) {
      const line = child.latest();
      if (line) {
        if (!mFirst && line.recordsIn > 0) mFirst = line.t;
        if (line.writes >= total) {
          mLast = line.t;
          break;
        }
      }
      if (child.exited()) throw new Error(`the materializer exited: ${child.stderr()}`);
      await sleep(10);
    }
    const materializerRate = total / ((mLast - mFirst) / 1000);
    const offlineRows = await offline.count(group);
    log(`  produce ${Math.round(produceRate)}/s, raw ${Math.round(rawRate)}/s, materializer ${Math.round(materializerRate)}/s`);
    messages.length = 0; // the backlog is consumed; keep this process light for the latency probes

    // 4. Event → Redis visibility under steady load, the materializer still running.
    // Default live load: a quarter of the throughput just measured (steady state, not a backlog), at most 20k/s.
    const rate = options.rate ?? Math.max(1_000, Math.min(20_000, Math.round(materializerRate / 4 / 1_000) * 1_000));
    log(`visibility latency at ${rate} events/s for ${seconds} s ...`);
    const probeProducer = createProducer(kafka);
    await probeProducer.connect();
    const poll = createRedis(config);
    const latencies: number[] = [];
    let stopLoad = false;
    let loadSent = 0;
    // Fresh events (new ids, event time = now) for random cards, sent every 20 ms to hold the rate.
    const loadDone = (async () => {
      const tickMs = 20;
      const t0 = performance.now();
      while (!stopLoad) {
        const due = Math.round(((performance.now() - t0) / 1000) * rate);
        if (due > loadSent) {
          const now = Date.now();
          const batch = Array.from({ length: due - loadSent }, (_, i) => {
            const card = `card-${(loadSent + i) % cards}`;
            const value = topicCodec.encode({
              entity_id: card,
              txn_count_1h: 1,
              txn_count_24h: 1,
              amount_avg_7d: 10,
              event_time: now,
              created_time: now,
              event_id: randomUUID(),
            } as never);
            return { key: card, value };
          });
          loadSent = due;
          await producer.send({ topic: topic.name, acks: -1, messages: batch });
        }
        await sleep(tickMs);
      }
    })();
    // Probes: one at a time; produce, then watch Redis for it.
    try {
      const probeUntil = performance.now() + seconds * 1000;
      let probe = 0;
      while (performance.now() < probeUntil) {
        const entity = `probe-${probe++ % 50}`;
        const now = Date.now();
        const eventId = randomUUID();
        const value = topicCodec.encode({
          entity_id: entity,
          txn_count_1h: probe,
          txn_count_24h: probe,
          amount_avg_7d: 1,
          event_time: now,
          created_time: now,
          event_id: eventId,
        } as never);
        const sentAt = performance.now();
        await probeProducer.send({ topic: topic.name, acks: -1, messages: [{ key: entity, value }] });
        const key = online.key(group.name, entity);
        for (;;) {
          if ((await poll.get(key))?.includes(eventId)) break;
          if (performance.now() - sentAt > 10_000)
            throw new Error(
              `a probe event did not reach Redis within 10 s (load sent so far: ${loadSent}, probes: ${latencies.length})`,
            );
          await sleep(1);
        }
        latencies.push(performance.now() - sentAt);
        await sleep(30);
      }
    } finally {
      stopLoad = true;
      await loadDone.catch((error: unknown) => log(`load producer failed: ${String(error)}`));
      await probeProducer.disconnect();
      poll.disconnect();
    }
    const visibility = summarize(latencies);
    const final = await child.stop();
    const materializerPeak = final?.peakRssMiB ?? Number.NaN;
    const acked = final?.visibility ?? { n: 0, p50: null, p99: null, max: null };

    // 5. getOnlineFeatures: 10 entities, one Redis round trip per call.
    log(`getOnlineFeatures x ${reads} ...`);
    const registry = new FeatureRegistry([group]);
    const refs = group.features.map((f) => `${group.name}:${f.name}`);
    const entityPool = Array.from({ length: 1_000 }, (_, i) => `card-${(i * 7919) % cards}`);
    const readTimes: number[] = [];
    for (let i = 0; i < reads + 1_000; i++) {
      const ids = Array.from({ length: 10 }, (_, k) => entityPool[(i * 10 + k) % entityPool.length] as string);
      const t = performance.now();
      await getOnlineFeatures(online, registry, ids, refs);
      if (i >= 1_000) readTimes.push(performance.now() - t);
    }
    const readSummary = summarize(readTimes);
    const quarter = Math.floor(readTimes.length / 4);
    const p99Of = (xs: number[]) =>
      round(
        percentile(
          [...xs].sort((a, b) => a - b),
          99,
        ),
      );
    const firstQuarterP99 = p99Of(readTimes.slice(0, quarter));
    const lastQuarterP99 = p99Of(readTimes.slice(-quarter));
    const peak = rss.stop();

    const ratio = materializerRate / rawRate;
    report(
      `features benchmark — ${total} events (${round(bytes / total, 0)} B avg), ${cards} cards, 6 partitions, 1 broker`,
      [
        ['produce (kafkajs, acks=all)', `${Math.round(produceRate)} events/s`],
        ['raw kafkajs consume + Avro decode', `${Math.round(rawRate)} events/s`],
        ['materializer (Redis CAS + ClickHouse, commit after both)', `${Math.round(materializerRate)} events/s`],
        ['ratio materializer / raw', `${round(ratio, 2)} (target ≥ 0.5)`],
        ['rows in ClickHouse (FINAL)', `${offlineRows}`],
        [
          `event → Redis at ${rate} events/s (${Math.round((rate / materializerRate) * 100)}% of capacity): every live event, send → Redis ack`,
          `p50 ${acked.p50} ms, p99 ${acked.p99} ms, max ${acked.max} ms (n=${acked.n}; target p99 < 100 ms)`,
        ],
        [
          '  probes: send → seen by a reader polling Redis every ms',
          `p50 ${visibility.p50_ms} ms, p99 ${visibility.p99_ms} ms, max ${visibility.max_ms} ms (n=${visibility.n})`,
        ],
        [
          'getOnlineFeatures, 10 entities',
          `p50 ${readSummary.p50_ms} ms, p99 ${readSummary.p99_ms} ms (target < 2 ms; n=${readSummary.n})`,
        ],
        ['  p99 first / last quarter of the run', `${firstQuarterP99} ms / ${lastQuarterP99} ms`],
        ['peak RSS of the materializer process', `${materializerPeak} MiB`],
        ['peak RSS of the bench process (generator, producers, probes)', `${peak} MiB`],
      ],
      {
        events: total,
        event_bytes_avg: round(bytes / total, 0),
        produce_events_per_s: Math.round(produceRate),
        raw_consume_events_per_s: Math.round(rawRate),
        materializer_events_per_s: Math.round(materializerRate),
        materializer_raw_ratio: round(ratio, 3),
        offline_rows: offlineRows,
        visibility_load_events_per_s: rate,
        visibility_p50_ms: acked.p50 ?? Number.NaN,
        visibility_p99_ms: acked.p99 ?? Number.NaN,
        visibility_max_ms: acked.max ?? Number.NaN,
        visibility_events: acked.n,
        probe_visibility_p50_ms: visibility.p50_ms,
        probe_visibility_p99_ms: visibility.p99_ms,
        probe_visibility_max_ms: visibility.max_ms,
        probe_visibility_n: visibility.n,
        online_read_10_p50_ms: readSummary.p50_ms,
        online_read_10_p99_ms: readSummary.p99_ms,
        online_read_10_p99_first_quarter_ms: firstQuarterP99,
        online_read_10_p99_last_quarter_ms: lastQuarterP99,
        materializer_peak_rss_mib: materializerPeak,
        bench_peak_rss_mib: peak,
      },
    );
  } finally {
    await child?.stop();
    await producer.disconnect().catch(() => undefined);
    await online.teardown(group).catch(() => undefined);
    await offline.teardown(group).catch(() => undefined);
    await admin.deleteTopics({ topics: [topic.name, topic.dlq as string] }).catch(() => undefined);
    await admin.disconnect();
    await Promise.allSettled([online.close(), offline.close()]);
  }
}
