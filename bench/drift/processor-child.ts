/**
 * The drift processor in its own process for `bench/drift.ts`, so its memory is its own. Prints one
 * JSON line every 100 ms ({ t, recordsIn, folded, rssMiB, heapMiB }) and, on SIGTERM, a last line with
 * the peak RSS. Env: TOPIC, GROUP, NAMESPACE, DRIFT_TOPIC, RETRAIN_TOPIC, MODEL, VERSION, BASELINE_FILE, WINDOW_MS.
 */
import { readFileSync } from 'node:fs';
import { loadConfig } from '../../kernel/config.ts';
import { createLogger } from '../../kernel/log.ts';
import { createRegistry, type Registry } from '../../kernel/metrics.ts';
import { staticBaselines } from '../../processors/drift/baselines.ts';
import { createDriftProcessor } from '../../processors/drift/index.ts';
import { DEFAULT_DRIFT_SETTINGS } from '../../processors/drift/settings.ts';
import type { DriftBaseline } from '../../schemas/index.ts';
import type { TopicEntry } from '../../topics/catalogue.ts';

const env = process.env;
const topic = (name: string, valueSchema: string, partitions: number): TopicEntry => ({
  name,
  description: 'bench',
  key: 'bench',
  valueSchema,
  partitions,
  retentionMs: 3_600_000,
  cleanup: 'delete',
  dlq: `${name}.dlq`,
});

async function sum(registry: Registry, name: string): Promise<number> {
  const metric = await registry.getSingleMetric(name)?.get();
  return (metric?.values ?? []).reduce((s, v) => s + v.value, 0);
}

const config = loadConfig();
const logger = createLogger('bench-drift', { defaultLevel: 'error' });
const metrics = createRegistry('bench-drift', { defaultMetrics: false });
const windowMs = Number(env.WINDOW_MS ?? 60_000);
const processor = await createDriftProcessor(
  config,
  { logger, metrics },
  {
    startFrom: 'earliest',
    groupId: env.GROUP as string,
    namespace: env.NAMESPACE as string,
    input: topic(env.TOPIC as string, 'Prediction', 3),
    outputs: {
      drift: topic(env.DRIFT_TOPIC as string, 'DriftReport', 1),
      retrain: topic(env.RETRAIN_TOPIC as string, 'RetrainRequest', 1),
    },
    settings: { ...DEFAULT_DRIFT_SETTINGS, window: { sizeMs: windowMs, slideMs: windowMs, latenessMs: 1_000 } },
    baselines: staticBaselines([
      {
        model: env.MODEL as string,
        version: env.VERSION as string,
        baseline: JSON.parse(readFileSync(env.BASELINE_FILE as string, 'utf8')) as DriftBaseline,
      },
    ]),
  },
);
let peak = process.memoryUsage.rss();
// Before the first record: connected, registry schemas fetched, nothing counted.
process.stdout.write(
  `${JSON.stringify({ t: Date.now(), recordsIn: 0, folded: 0, reports: 0, rssMiB: peak / 1048576, heapMiB: process.memoryUsage().heapUsed / 1048576 })}\n`,
);
const timer = setInterval(async () => {
  const rss = process.memoryUsage.rss();
  peak = Math.max(peak, rss);
  const line = {
    t: Date.now(),
    recordsIn: await sum(metrics, 'rheo_processor_records_in_total'),
    folded: await sum(metrics, 'rheo_drift_records_total'),
    reports: await sum(metrics, 'rheo_drift_reports_total'),
    rssMiB: rss / 1048576,
    heapMiB: process.memoryUsage().heapUsed / 1048576,
  };
  process.stdout.write(`${JSON.stringify(line)}\n`);
}, 100);
process.once('SIGTERM', async () => {
  clearInterval(timer);
  await processor.stop('bench over');
  process.stdout.write(`${JSON.stringify({ peakRssMiB: Math.max(peak, process.memoryUsage.rss()) / 1048576 })}\n`);
  process.exit(0);
});
await processor.start();
