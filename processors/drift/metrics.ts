/**
 * The drift processor's listed metrics (besides the runner's `rheo_processor_*`). Gauges carry the
 * latest reported window per model, version and feature; counters count reports and requests.
 */
import { Counter, Gauge, type Registry } from '../../kernel/metrics.ts';
import type { DriftReportInput } from '../../schemas/index.ts';

export interface DriftMetrics {
  records: Counter<'outcome'>;
  reports: Counter<'model' | 'status'>;
  retrainRequests: Counter<'model'>;
  suppressed: Counter<'model'>;
  observe(report: DriftReportInput): void;
  lastClosedWindowEnd: Gauge<'model'>;
  pendingWindows: Gauge;
}

const STATUS_VALUE: Record<string, number> = { OK: 0, WARN: 1, ALERT: 2, INSUFFICIENT: -1 };

export function createDriftMetrics(registry: Registry): DriftMetrics {
  const labelNames = ['model', 'version', 'feature', 'target'] as const;
  const gauge = (name: string, help: string) => new Gauge({ name, help, labelNames, registers: [registry] });
  const psi = gauge('rheo_drift_psi', 'PSI of the latest reported window (NaN when insufficient).');
  const kl = gauge('rheo_drift_kl', 'KL(live ‖ baseline) of the latest reported window (NaN when insufficient).');
  const status = gauge('rheo_drift_status', 'Verdict of the latest reported window: 0 OK, 1 WARN, 2 ALERT, -1 INSUFFICIENT.');
  const values = gauge('rheo_drift_window_values', 'Non-null values in the latest reported window.');
  const nullRate = gauge('rheo_drift_null_rate', 'Null rate in the latest reported window.');
  const outOfRange = gauge('rheo_drift_out_of_range_rate', 'Out-of-range rate in the latest reported window.');
  const reports = new Counter({
    name: 'rheo_drift_reports_total',
    help: 'Drift reports produced, by model and status.',
    labelNames: ['model', 'status'] as const,
    registers: [registry],
  });
  return {
    records: new Counter({
      name: 'rheo_drift_records_total',
      help: 'Prediction records folded into windows, by outcome: counted, late, unbaselined, undecodable, redelivered.',
      labelNames: ['outcome'] as const,
      registers: [registry],
    }),
    reports,
    retrainRequests: new Counter({
      name: 'rheo_drift_retrain_requests_total',
      help: 'Retraining requests produced because a window crossed the alert band.',
      labelNames: ['model'] as const,
      registers: [registry],
    }),
    suppressed: new Counter({
      name: 'rheo_drift_retrain_suppressed_total',
      help: 'Windows over the alert band that asked for no retraining because the model was cooling down.',
      labelNames: ['model'] as const,
      registers: [registry],
    }),
    lastClosedWindowEnd: new Gauge({
      name: 'rheo_drift_last_window_end_seconds',
      help: 'End (event time) of the latest reported window per model.',
      labelNames: ['model'] as const,
      registers: [registry],
    }),
    pendingWindows: new Gauge({
      name: 'rheo_drift_pending_windows',
      help: 'Windows closed on some partitions and waiting for the others.',
      registers: [registry],
    }),
    observe(report) {
      const labels = { model: report.model_name, version: report.model_version, feature: report.feature, target: report.target };
      psi.set(labels, report.psi ?? Number.NaN);
      kl.set(labels, report.kl ?? Number.NaN);
      status.set(labels, STATUS_VALUE[report.status] ?? -1);
      values.set(labels, report.count);
      nullRate.set(labels, report.null_rate);
      outOfRange.set(labels, report.out_of_range_rate ?? 0);
      reports.inc({ model: report.model_name, status: report.status });
    },
  };
}
