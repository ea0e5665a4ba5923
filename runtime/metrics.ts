/** The runner's listed metrics; dashboards and benchmarks read these and never patch the runner. */
import { Counter, Gauge, Histogram, LATENCY_BUCKETS_S, type Registry } from '../kernel/metrics.ts';

export interface RunnerMetrics {
  recordsIn: Counter<'topic'>;
  recordsOut: Counter;
  deadLetters: Counter;
  errors: Counter<'kind'>;
  commits: Counter;
  rebalances: Counter;
  sinkFailures: Counter<'stage'>;
  paused: Gauge;
  lag: Gauge<'topic' | 'partition'>;
  chunkSeconds: Histogram;
  sinkSeconds: Histogram<'stage'>;
}

/** Metrics are labelled by the registry's default labels (service) plus processor-specific ones here. */
export function createRunnerMetrics(registry: Registry): RunnerMetrics {
  const registers = [registry];
  return {
    recordsIn: new Counter({
      name: 'rheo_processor_records_in_total',
      help: 'Records fetched and handed to the processor',
      labelNames: ['topic'],
      registers,
    }),
    recordsOut: new Counter({ name: 'rheo_processor_writes_total', help: 'Writes acknowledged by the sink', registers }),
    deadLetters: new Counter({
      name: 'rheo_processor_dead_letters_total',
      help: 'Records sent to a dead-letter topic',
      registers,
    }),
    errors: new Counter({
      name: 'rheo_processor_errors_total',
      help: 'Records that failed (skipped or fatal)',
      labelNames: ['kind'],
      registers,
    }),
    commits: new Counter({ name: 'rheo_processor_commits_total', help: 'Offset commits after acknowledged writes', registers }),
    rebalances: new Counter({ name: 'rheo_processor_rebalances_total', help: 'Consumer group joins', registers }),
    sinkFailures: new Counter({
      name: 'rheo_processor_sink_failures_total',
      help: 'Failed sink or dead-letter writes (each retried)',
      labelNames: ['stage'],
      registers,
    }),
    paused: new Gauge({ name: 'rheo_processor_paused', help: '1 while a partition is paused on a failing sink', registers }),
    lag: new Gauge({
      name: 'rheo_processor_consumer_lag',
      help: 'Records behind the high watermark, per partition',
      labelNames: ['topic', 'partition'],
      registers,
    }),
    chunkSeconds: new Histogram({
      name: 'rheo_processor_chunk_seconds',
      help: 'Time to decode, transform, write and commit one chunk',
      buckets: LATENCY_BUCKETS_S,
      registers,
    }),
    sinkSeconds: new Histogram({
      name: 'rheo_processor_sink_write_seconds',
      help: 'Acknowledged write latency',
      labelNames: ['stage'],
      buckets: LATENCY_BUCKETS_S,
      registers,
    }),
  };
}
