/**
 * The topic catalogue: one typed entry per topic. Code names topics through these entries, never
 * through string literals, and a unit test checks every processor's inputs and outputs are here.
 */
import { rheoError } from '../kernel/errors.ts';

export type Cleanup = 'delete' | 'compact';

export interface TopicEntry {
  name: string;
  description: string;
  /** What the record key is, in words (the partitioning contract). */
  key: string;
  /** Avro contract of the value (a name under `schemas/`), or null for raw bytes (dead letters). */
  valueSchema: string | null;
  partitions: number;
  /** Retention in ms; -1 keeps forever. */
  retentionMs: number;
  cleanup: Cleanup;
  /** Name of the dead-letter topic for records that fail on the way in; null for the DLQs themselves. */
  dlq: string | null;
}

const DAY_MS = 24 * 60 * 60 * 1000;

function topic(entry: Omit<TopicEntry, 'dlq'> & { dlq?: false }): TopicEntry {
  const { dlq, ...rest } = entry;
  return { ...rest, dlq: dlq === false ? null : `${entry.name}.dlq` };
}

/** Dead-letter topic of `source`: original key and bytes, with the reason in headers. */
export function deadLetterEntry(source: TopicEntry): TopicEntry {
  if (!source.dlq)
    throw rheoError('TOPIC_NOT_IN_CATALOGUE', {
      topic: `${source.name}.dlq`,
      reason: `${source.name} declares no dead-letter topic`,
    });
  return {
    name: source.dlq,
    description: `Records of ${source.name} that could not be decoded or processed; headers carry error, source topic, partition and offset.`,
    key: 'the original key',
    valueSchema: null,
    partitions: 1,
    retentionMs: 30 * DAY_MS,
    cleanup: 'delete',
    dlq: null,
  };
}

export const TOPICS = {
  predictionRequests: topic({
    name: 'predictions.requests',
    description: 'Inputs for streaming scoring.',
    key: 'entity id',
    valueSchema: 'PredictionRequest',
    partitions: 6,
    retentionMs: 7 * DAY_MS,
    cleanup: 'delete',
  }),
  predictions: topic({
    name: 'predictions',
    description: 'Every prediction served by a gateway or scorer: model, version, variant, inputs, outputs, latency.',
    key: 'entity id',
    valueSchema: 'Prediction',
    partitions: 6,
    retentionMs: 30 * DAY_MS,
    cleanup: 'delete',
  }),
  feedback: topic({
    name: 'feedback',
    description: 'Ground truth labels, possibly hours late or repeated.',
    key: 'prediction id or entity id',
    valueSchema: 'Feedback',
    partitions: 6,
    retentionMs: 30 * DAY_MS,
    cleanup: 'delete',
  }),
  modelsLifecycle: topic({
    name: 'models.lifecycle',
    description: "The model registry's event log; the registry state is a fold over it. One partition keeps one total order.",
    key: 'model name',
    valueSchema: 'ModelLifecycleEvent',
    partitions: 1,
    retentionMs: -1,
    cleanup: 'delete',
  }),
  trainingRequests: topic({
    name: 'training.requests',
    description: 'Retraining requests: drift, schedule, manual, performance.',
    key: 'model name',
    valueSchema: 'RetrainRequest',
    partitions: 3,
    retentionMs: 30 * DAY_MS,
    cleanup: 'delete',
  }),
  trainingRuns: topic({
    name: 'training.runs',
    description: 'Training run progress: started, epochs, completed, failed.',
    key: 'run id',
    valueSchema: 'TrainingRunEvent',
    partitions: 3,
    retentionMs: 90 * DAY_MS,
    cleanup: 'delete',
  }),
  monitoringDrift: topic({
    name: 'monitoring.drift',
    description: 'One drift report per model, feature and window.',
    key: 'model name',
    valueSchema: 'DriftReport',
    partitions: 3,
    retentionMs: 90 * DAY_MS,
    cleanup: 'delete',
  }),
  scoringCheckpoints: topic({
    name: 'scoring.checkpoints',
    description:
      "Progress of batch scoring jobs, written in the same Kafka transaction as the job's predictions, so a resumed job neither skips nor repeats rows. Value: a JSON checkpoint (internal state, like consumer offsets).",
    key: 'batch job id',
    valueSchema: null,
    partitions: 1,
    retentionMs: -1,
    cleanup: 'compact',
    dlq: false,
  }),
} as const satisfies Record<string, TopicEntry>;

export type TopicKey = keyof typeof TOPICS;

/** Feature topics are declared by feature groups: `features.<group>`, keyed by entity id. */
export function featureTopic(group: string, options: { partitions?: number; retentionMs?: number } = {}): TopicEntry {
  if (!/^[a-z][a-z0-9_]*$/.test(group)) throw new Error(`feature group name "${group}" must be lower snake_case`);
  return topic({
    name: `features.${group}`,
    description: `Feature events of group ${group}.`,
    key: 'entity id',
    valueSchema: `features.${group}`,
    partitions: options.partitions ?? 6,
    retentionMs: options.retentionMs ?? 30 * DAY_MS,
    cleanup: 'delete',
  });
}

/** Every entry with its dead-letter topic, in a stable order. */
export function withDeadLetters(entries: Iterable<TopicEntry>): TopicEntry[] {
  const out: TopicEntry[] = [];
  for (const entry of entries) {
    out.push(entry);
    if (entry.dlq) out.push(deadLetterEntry(entry));
  }
  return out;
}

/** The full catalogue the cluster should hold (core topics; feature groups add theirs). */
export function catalogue(extra: Iterable<TopicEntry> = []): TopicEntry[] {
  return withDeadLetters([...Object.values(TOPICS), ...extra]);
}

export function valueSubject(entry: TopicEntry): string {
  return `${entry.name}-value`;
}
