/**
 * `npm run bench -- serving [--duration 10] [--connections 8,16,32,64] [--events 100000]`
 *
 * 1. Gateway: the real gateway (`gateway/main.ts`) as a child process serving a small tabular model
 *    (the demo's fraud logistic regression), loaded by autocannon from this process at several
 *    connection counts; next to a bare Fastify route (child process too) under the same load.
 *    Reported: predictions/s and p50/p99 latency per level, the best rate with p99 ≤ 10 ms, and the
 *    gateway/bare ratio.
 * 2. Streaming scorer: N PredictionRequests pre-produced to `predictions.requests`; the scorer (the
 *    shared runner, micro-batched ONNX, idempotent acks=all producer) consumes them from a fresh
 *    group: events/s end to end (offsets committed after predictions are acknowledged), next to the
 *    topic reader reading the same range raw (no decoding).
 * 3. Hot swap: time from a registry event (promotion / rollback) being acknowledged by Kafka to the
 *    gateway child answering with the new version.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { trainFraudModel } from '../examples/fraud/fraud-model.ts';
import { FRAUD_PROJECT_DIR } from '../examples/fraud/index.ts';
import { loadServingSettings, openArtifactStore } from '../gateway/settings.ts';
import { defineArgs, parseArgs } from '../kernel/args.ts';
import { loadConfig } from '../kernel/config.ts';
import { createAdmin, createKafka, createProducer } from '../kernel/kafka.ts';
import { createLogger } from '../kernel/log.ts';
import { createRegistry } from '../kernel/metrics.ts';
import { rng } from '../kernel/random.ts';
import { readTopic } from '../kernel/topic-reader.ts';
import { createScorer } from '../processors/scorer/index.ts';
import { RegistryClient } from '../registry/client.ts';
import { CONTRACTS, type PredictionRequestInput, SchemaCodec } from '../schemas/index.ts';
import { ensureTopics } from '../topics/admin.ts';
import { catalogue, TOPICS } from '../topics/catalogue.ts';
import { report, round, summarize } from './lib.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const KEY = 'rheo-local-predict-key';

interface Level {
  connections: number;
  rps: number;
  p50: number;
  p99: number;
  errors: number;
}

function child(script: string, env: Record<string, string>): ChildProcess & { ready: Promise<string> } {
  const proc = spawn(process.execPath, [script], {
    // The gateway serves a project's features: the fraud example's, as the demo does.
    env: { ...process.env, KAFKAJS_NO_PARTITIONER_WARNING: '1', RHEO_LOG_LEVEL: 'warn', RHEO_PROJECT: FRAUD_PROJECT_DIR, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  // Never leave a child behind, whatever happens to this process.
  const kill = () => proc.kill('SIGTERM');
  process.once('exit', kill);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130));
  const ready = new Promise<string>((resolve, reject) => {
    proc.stdout?.on('data', (chunk: Buffer) => {
      const match = /(?:listening(?: on)?) (http:\/\/\S+)/.exec(chunk.toString());
      if (match) resolve(match[1] as string);
    });
    proc.once('exit', (code) => reject(new Error(`${script} exited with ${code}`)));
  });
  return Object.assign(proc, { ready });
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function load(url: string, body: string, connections: number, seconds: number): Promise<Level> {
  const result = await autocannon({
    url: `${url}/v1/predict`,
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': KEY },
    body,
    connections,
    pipelining: 1,
    duration: seconds,
  });
  return {
    connections,
    rps: Math.round(result.requests.average),
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors + result.timeouts + result.non2xx,
  };
}

export const BENCH_ARGS = defineArgs({
  program: 'npm run bench -- serving',
  flags: {
    duration: { type: 'number', min: 1, default: 10, description: 'seconds per HTTP load level' },
    connections: { type: 'string', value: 'N,N,…', default: '4,8,16,32,64', description: 'the HTTP load levels, in connections' },
    events: {
      type: 'number',
      integer: true,
      min: 1,
      default: 100_000,
      description: 'prediction requests for the streaming scorer',
    },
  },
});

export async function run(args: string[]): Promise<void> {
  const { duration: seconds, connections, events } = parseArgs(BENCH_ARGS, args).flags;
  const levels = connections.split(',').map(Number);
  const config = loadConfig();
  const settings = loadServingSettings(config);
  const logger = createLogger('bench', { level: 'warn' });
  const kafka = createKafka(config.kafka, logger, 'bench');
  const admin = createAdmin(kafka);
  await admin.connect();
  await ensureTopics(admin, catalogue());

  // A small tabular model, trained and registered like any other.
  const model = `bench_serving_${randomUUID().slice(0, 8)}`;
  const client = await RegistryClient.connect(config, logger);
  const store = openArtifactStore(settings);
  const v1 = trainFraudModel({ variant: 'raw', rows: 5_000 });
  const v2 = trainFraudModel({ variant: 'engineered', rows: 5_000 });
  await client.register(store, v1.bytes, { ...v1.registration, model, version: '1.0.0', actor: 'service:bench' });
  await client.register(store, v2.bytes, { ...v2.registration, model, version: '2.0.0', actor: 'service:bench' });
  await client.execute({ kind: 'request', model, version: '1.0.0', to: 'PRODUCTION', actor: 'service:bench' });
  await client.execute({ kind: 'approve', model, version: '1.0.0', actor: 'user:bench-approver' });

  const body = JSON.stringify({
    model,
    entity_id: 'card-42',
    inputs: { amount: 120.5, hour_of_day: 3, distance_from_home_km: 40, merchant_risk: 0.3 },
  });
  process.stderr.write(
    `bench: model ${model}; gateway and bare Fastify as child processes; autocannon here, ${seconds}s per level\n`,
  );

  // --- 1. gateway vs bare Fastify --------------------------------------------------------------
  const gateway = child(`${ROOT}gateway/main.ts`, { RHEO_GATEWAY_PORT: '0', RHEO_SERVE_MODELS: model });
  const bare = child(`${ROOT}bench/fixtures/bare-fastify.ts`, {});
  const [gatewayUrl, bareUrl] = await Promise.all([gateway.ready, bare.ready]);
  await until('gateway ready', async () => (await fetch(`${gatewayUrl}/readyz`)).status === 200);
  await load(gatewayUrl, body, 16, 2); // warm-up (JIT, sessions, connections)
  await load(bareUrl, body, 16, 2);
  const gatewayLevels: Level[] = [];
  const bareLevels: Level[] = [];
  for (const c of levels) {
    gatewayLevels.push(await load(gatewayUrl, body, c, seconds));
    bareLevels.push(await load(bareUrl, body, c, seconds));
    process.stderr.write(
      `  ${c} connections: gateway ${gatewayLevels.at(-1)?.rps}/s p99 ${gatewayLevels.at(-1)?.p99} ms; bare ${bareLevels.at(-1)?.rps}/s p99 ${bareLevels.at(-1)?.p99} ms\n`,
    );
  }
  const best = (ls: Level[]) => ls.filter((l) => l.p99 <= 10 && l.errors === 0).sort((a, b) => b.rps - a.rps)[0];
  const bestGateway = best(gatewayLevels);
  const bestBare = best(bareLevels);
  const peakGateway = [...gatewayLevels].sort((a, b) => b.rps - a.rps)[0] as Level;
  const peakBare = [...bareLevels].sort((a, b) => b.rps - a.rps)[0] as Level;

  // --- 3. hot swap, measured on the running gateway child -----------------------------------------
  const swaps: number[] = [];
  const versionNow = async () => {
    const r = await fetch(`${gatewayUrl}/v1/predict`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': KEY },
      body,
    });
    return ((await r.json()) as { predictions: Array<{ version: string }> }).predictions[0]?.version;
  };
  for (let i = 0; i < 6; i++) {
    const target = i % 2 === 0 ? '2.0.0' : '1.0.0';
    if (i === 0) await client.execute({ kind: 'request', model, version: '2.0.0', to: 'PRODUCTION', actor: 'service:bench' });
    // From just before the command (decide, produce with acks=all), so the figure is an upper bound.
    const issued = performance.now();
    if (i === 0) await client.execute({ kind: 'approve', model, version: '2.0.0', actor: 'user:bench-approver' });
    else await client.execute({ kind: 'rollback', model, actor: 'user:bench-oncall', to: target });
    while ((await versionNow()) !== target) await new Promise((resolve) => setTimeout(resolve, 2));
    swaps.push(performance.now() - issued);
  }
  gateway.kill('SIGTERM');
  bare.kill('SIGTERM');

  // --- 2. streaming scorer vs raw consume ----------------------------------------------------------
  const codec = await SchemaCodec.fromConfig(config.registry).forTopic(
    TOPICS.predictionRequests.name,
    CONTRACTS.PredictionRequest,
  );
  const topic = TOPICS.predictionRequests.name;
  const before = await admin.fetchTopicOffsets(topic);
  const producer = createProducer(kafka);
  await producer.connect();
  const random = rng(3);
  const produceStarted = performance.now();
  for (let sent = 0; sent < events; sent += 5_000) {
    const messages = Array.from({ length: Math.min(5_000, events - sent) }, (_, i) => {
      const request: PredictionRequestInput = {
        event_id: randomUUID(),
        event_time: Date.now(),
        entity_id: `card-${Math.floor(random() * 10_000)}`,
        model_name: model,
        inputs: {
          amount: random() * 500,
          hour_of_day: Math.floor(random() * 24),
          distance_from_home_km: random() * 80,
          merchant_risk: random(),
        },
        source: `bench-${sent + i}`,
      };
      return { key: request.entity_id, value: codec.encode(request) };
    });
    await producer.send({ topic, acks: -1, messages });
  }
  const produceSeconds = (performance.now() - produceStarted) / 1000;
  await producer.disconnect();
  const after = await admin.fetchTopicOffsets(topic);
  const target = new Map(after.map((a) => [a.partition, BigInt(a.high)]));
  const startAt = (groupId: string) =>
    admin.setOffsets({ groupId, topic, partitions: before.map((b) => ({ partition: b.partition, offset: b.high })) });

  // Raw consume rate: the topic reader over the same range, no decoding.
  let rawCount = 0;
  // Both rates are measured from the start of consumption to the last record, group join included, over the same records.
  const rawStarted = performance.now();
  await readTopic({
    kafka,
    topic,
    groupPrefix: 'bench.raw',
    ranges: Object.fromEntries(before.map((b) => [b.partition, { from: BigInt(b.high), to: target.get(b.partition) ?? 0n }])),
    decode: (message) => message.value,
    poison: { kind: 'fail' },
    onChunk: ({ consumed }) => {
      rawCount += consumed;
    },
  });
  const rawDone = performance.now();
  const rawRate = rawCount / ((rawDone - rawStarted) / 1000);

  // The streaming scorer, from the same start offsets, until its committed offsets reach the end.
  const scorerGroup = `bench.scorer.${randomUUID()}`;
  await startAt(scorerGroup);
  const scorer = await createScorer(
    config,
    { ...settings, host: { ...settings.host, models: [model] } },
    { logger, metrics: createRegistry('bench-scorer', { defaultMetrics: false }) },
    { groupId: scorerGroup },
  );
  await scorer.follower.start();
  await scorer.follower.waitUntilCaughtUp();
  await scorer.host.update(scorer.follower.state);
  const committed = async () => {
    const offsets = await admin.fetchOffsets({ groupId: scorerGroup, topics: [topic] });
    return (offsets[0]?.partitions ?? []).every((p) => BigInt(p.offset) >= (target.get(p.partition) ?? 0n));
  };
  const scorerStarted = performance.now();
  await scorer.runner.start();
  await until('scorer committed every request', committed, 600_000);
  const scorerSeconds = (performance.now() - scorerStarted) / 1000;
  await scorer.stop();
  const scorerRate = events / scorerSeconds;
  await admin.disconnect();
  await client.close();

  const swapSummary = summarize(swaps);
  const ratio = (a: Level | undefined, b: Level | undefined) => (a && b ? round(a.rps / b.rps, 2) : 'n/a');
  const rows: Array<[string, string | number]> = [];
  for (const [i, g] of gatewayLevels.entries()) {
    const b = bareLevels[i] as Level;
    rows.push([
      `${g.connections} connections`,
      `gateway ${g.rps}/s p50 ${g.p50} ms p99 ${g.p99} ms${g.errors ? ` (${g.errors} errors)` : ''} | bare Fastify ${b.rps}/s p50 ${b.p50} ms p99 ${b.p99} ms | ratio ${ratio(g, b)}`,
    ]);
  }
  rows.push(
    [
      'gateway best with p99 ≤ 10 ms',
      bestGateway
        ? `${bestGateway.rps} predictions/s at ${bestGateway.connections} connections (p99 ${bestGateway.p99} ms)`
        : 'none',
    ],
    [
      'bare Fastify best with p99 ≤ 10 ms',
      bestBare ? `${bestBare.rps} requests/s at ${bestBare.connections} connections (p99 ${bestBare.p99} ms)` : 'none',
    ],
    ['gateway / bare (peak)', `${ratio(peakGateway, peakBare)} (${peakGateway.rps} vs ${peakBare.rps})`],
    ['streaming scorer', `${Math.round(scorerRate)} events/s (${events} requests → predictions, ${round(scorerSeconds, 1)} s)`],
    ['raw kafkajs consume', `${Math.round(rawRate)} events/s (same range, no decoding)`],
    ['scorer / raw consume', `${round(scorerRate / rawRate, 2)}`],
    ['producing the requests', `${Math.round(events / produceSeconds)} events/s`],
    [
      'hot swap (command issued → gateway answers with new version)',
      `p50 ${swapSummary.p50_ms} ms, max ${swapSummary.max_ms} ms over ${swaps.length} swaps`,
    ],
    ['targets', '≥ 10k predictions/s at p99 ≤ 10 ms; ≥ 20k streamed events/s'],
  );
  report('serving: gateway, streaming scorer, hot swap', rows, {
    gateway_best_rps_p99_le_10ms: bestGateway?.rps ?? 0,
    gateway_best_connections: bestGateway?.connections ?? 0,
    gateway_best_p99_ms: bestGateway?.p99 ?? -1,
    gateway_peak_rps: peakGateway.rps,
    gateway_peak_p99_ms: peakGateway.p99,
    bare_best_rps_p99_le_10ms: bestBare?.rps ?? 0,
    bare_peak_rps: peakBare.rps,
    gateway_to_bare_peak_ratio: typeof ratio(peakGateway, peakBare) === 'number' ? (ratio(peakGateway, peakBare) as number) : 0,
    scorer_events_per_s: Math.round(scorerRate),
    raw_consume_events_per_s: Math.round(rawRate),
    scorer_to_raw_ratio: round(scorerRate / rawRate, 2),
    hot_swap_p50_ms: swapSummary.p50_ms,
    hot_swap_max_ms: swapSummary.max_ms,
    cpus: (await import('node:os')).cpus().length,
  });
}
