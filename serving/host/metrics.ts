/** The model host's metrics (`rheo_model_*`), registered on the service's own registry (one host per registry). */
import { Counter, Gauge, Histogram, LATENCY_BUCKETS_S, type Registry } from '../../kernel/metrics.ts';

export interface HostMetrics {
  loads: Counter<'model' | 'version' | 'outcome'>;
  loadSeconds: Histogram<'model'>;
  sessions: Gauge;
  serving: Gauge<'model' | 'version' | 'variant'>;
  swaps: Counter<'model'>;
  batchRows: Histogram;
  inferenceSeconds: Histogram;
}

export function createHostMetrics(registry: Registry): HostMetrics {
  return {
    loads: new Counter({
      name: 'rheo_model_loads_total',
      help: 'Model version loads by outcome: loaded, or the error code that refused it (e.g. ARTIFACT_INTEGRITY_FAILED).',
      labelNames: ['model', 'version', 'outcome'],
      registers: [registry],
    }),
    loadSeconds: new Histogram({
      name: 'rheo_model_load_seconds',
      help: 'Time to fetch, verify, load and warm up a model version.',
      labelNames: ['model'],
      buckets: LATENCY_BUCKETS_S,
      registers: [registry],
    }),
    sessions: new Gauge({ name: 'rheo_model_sessions', help: 'ONNX Runtime sessions in memory.', registers: [registry] }),
    serving: new Gauge({
      name: 'rheo_model_serving',
      help: 'Versions this instance serves, by variant (1 = serving).',
      labelNames: ['model', 'version', 'variant'],
      registers: [registry],
    }),
    swaps: new Counter({
      name: 'rheo_model_swaps_total',
      help: 'Atomic swaps of a model routing table (new traffic policy in force).',
      labelNames: ['model'],
      registers: [registry],
    }),
    batchRows: new Histogram({
      name: 'rheo_model_batch_rows',
      help: 'Rows per ONNX Runtime call (micro-batch size).',
      buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048],
      registers: [registry],
    }),
    inferenceSeconds: new Histogram({
      name: 'rheo_model_inference_seconds',
      help: 'Time of one ONNX Runtime call (one micro-batch).',
      buckets: LATENCY_BUCKETS_S,
      registers: [registry],
    }),
  };
}
