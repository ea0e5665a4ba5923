/**
 * The feedback joiner's listed metrics (besides the runner's `rheo_processor_*`): labels by outcome,
 * label delay, and live quality per model, version and variant for the newest window that got labels.
 */
import { Counter, Gauge, Histogram, type Registry } from '../../kernel/metrics.ts';

export interface JoinerMetrics {
  labels: Counter<'outcome'>;
  outcomes: Counter;
  labelDelay: Histogram;
  quality: Gauge<'model' | 'version' | 'variant' | 'metric'>;
  qualityWindow: Gauge<'model' | 'version' | 'variant'>;
}

export function createJoinerMetrics(registry: Registry): JoinerMetrics {
  return {
    labels: new Counter({
      name: 'rheo_feedback_labels_total',
      help: 'Labels handled by the joiner: joined to at least one prediction, or unmatched after the wait.',
      labelNames: ['outcome'] as const,
      registers: [registry],
    }),
    outcomes: new Counter({
      name: 'rheo_feedback_outcomes_total',
      help: 'Outcome rows written (one per labelled prediction variant; replays are deduplicated in ClickHouse).',
      registers: [registry],
    }),
    labelDelay: new Histogram({
      name: 'rheo_feedback_label_delay_seconds',
      help: 'Observed time of a label minus the request time of its prediction.',
      buckets: [1, 60, 600, 3_600, 6 * 3_600, 24 * 3_600, 7 * 24 * 3_600, 30 * 24 * 3_600],
      registers: [registry],
    }),
    quality: new Gauge({
      name: 'rheo_model_quality',
      help: 'Live quality of the newest window with labels: accuracy, auc, log_loss (classifiers), mae, rmse (regressors), predictions, labeled, unlabeled.',
      labelNames: ['model', 'version', 'variant', 'metric'] as const,
      registers: [registry],
    }),
    qualityWindow: new Gauge({
      name: 'rheo_model_quality_window_start_seconds',
      help: 'Start (prediction event time) of the window rheo_model_quality describes.',
      labelNames: ['model', 'version', 'variant'] as const,
      registers: [registry],
    }),
  };
}
