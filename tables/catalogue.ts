/**
 * The tables catalogue: one typed entry per ClickHouse table and view Rheo keeps, beside the topic
 * catalogue (`topics/catalogue.ts`). Each entry says what it holds, who writes it, its columns (name,
 * type, nullable), engine, sorting and partition keys and, for the archiver's history tables, the topic
 * that fills it. DDL (`tables/admin.ts`), insert row types (`InsertRow`), JSON read types (`ReadRow`),
 * the archiver's event-to-row mapping (`tables/history.ts`) and the gateway's response schemas
 * (`tables/json-schema.ts`) all derive from these entries; nothing else names a column list by hand.
 *
 * Types are those ClickHouse 18.16 and current releases both have: no Map (maps are JSON strings,
 * readable with visitParamExtract or JSONExtract), no DateTime64 (a time is DateTime('UTC') plus an
 * Int64 millisecond column), no TTL clause (it arrived in 19.6; history is kept), ReplacingMergeTree for effectively-once rows (a replayed event has the same
 * sorting key, so merges, or FINAL, keep one copy). Views are plain, not materialized: always exact,
 * computed at query time; their SELECTs are the read models in `monitoring/`, and their columns here are
 * what those SELECTs return (the integration test `tables.test.ts` compares them with DESCRIBE).
 *
 * Feature-group tables (`features_<group>`) are not listed: their columns follow from each group's
 * declaration (`features/offline/sql.ts` renders them), since a group's features are data, not code.
 */
import { ident, type SqlFragment } from '../kernel/sql.ts';
import { TOPICS, type TopicEntry } from '../topics/catalogue.ts';

/** The column types Rheo uses; every one exists in ClickHouse 18.16 and current releases. */
export type ClickHouseType = 'String' | 'Float64' | 'Int64' | 'UInt64' | 'UInt32' | 'UInt8' | "DateTime('UTC')";

export interface Column<Name extends string = string, Type extends ClickHouseType = ClickHouseType> {
  readonly name: Name;
  readonly type: Type;
  readonly nullable: boolean;
}

/** The component that writes a table (views are computed, and name who defines them). */
export type Owner = 'archiver' | 'feedback-joiner' | 'trainer';

export interface TableEntry {
  readonly kind: 'table';
  readonly name: string;
  readonly description: string;
  readonly owner: Owner;
  /** The topic whose events fill the table, one row per event (the archiver's history tables). */
  readonly source?: TopicEntry;
  readonly columns: readonly Column[];
  /** ReplacingMergeTree, optionally with a version column (the row with the highest version survives a merge). */
  readonly engine: { readonly name: 'ReplacingMergeTree'; readonly version?: string };
  /** The sorting key, which is also the deduplication key. */
  readonly orderBy: readonly string[];
  /** Monthly partitions by this DateTime column (`toYYYYMM(column)`). */
  readonly partitionByMonthOf: string;
}

export interface ViewEntry {
  readonly kind: 'view';
  readonly name: string;
  readonly description: string;
  readonly owner: Owner;
  /** Tables the view reads: they must exist before it is created. */
  readonly reads: readonly TableEntry[];
  readonly columns: readonly Column[];
}

export type CatalogueEntry = TableEntry | ViewEntry;

export function column<const Name extends string, const Type extends ClickHouseType>(
  name: Name,
  type: Type,
): { readonly name: Name; readonly type: Type; readonly nullable: false } {
  return { name, type, nullable: false };
}

export function nullable<const Name extends string, const Type extends ClickHouseType>(
  name: Name,
  type: Type,
): { readonly name: Name; readonly type: Type; readonly nullable: true } {
  return { name, type, nullable: true };
}

type Text = 'String' | "DateTime('UTC')";
/** What a JSONEachRow insert takes for a column: DateTime as `YYYY-MM-DD hh:mm:ss` (UTC), integers as numbers. */
type InsertValue<C extends Column> = (C['type'] extends Text ? string : number) | (C['nullable'] extends true ? null : never);
/** What a JSONEachRow read gives back: ClickHouse quotes 64-bit integers in JSON by default. */
type ReadValue<C extends Column> =
  | (C['type'] extends Text ? string : C['type'] extends 'Int64' | 'UInt64' ? string | number : number)
  | (C['nullable'] extends true ? null : never);

/** One row to insert into the entry's table, keyed by column name. */
export type InsertRow<E extends { readonly columns: readonly Column[] }> = {
  [C in E['columns'][number] as C['name']]: InsertValue<C>;
};

/** One row as ClickHouse's JSONEachRow output gives it back. */
export type ReadRow<E extends { readonly columns: readonly Column[] }> = {
  [C in E['columns'][number] as C['name']]: ReadValue<C>;
};

export type ColumnName<E extends { readonly columns: readonly Column[] }> = E['columns'][number]['name'];

const PREDICTIONS = {
  kind: 'table',
  name: 'predictions',
  description: 'every prediction event (gateway, streaming and batch scorers), one row per event',
  owner: 'archiver',
  source: TOPICS.predictions,
  columns: [
    column('event_id', 'String'),
    column('event_time', "DateTime('UTC')"),
    column('event_time_ms', 'Int64'),
    column('prediction_id', 'String'),
    nullable('request_id', 'String'),
    column('entity_id', 'String'),
    column('model_name', 'String'),
    column('model_version', 'String'),
    column('variant', 'String'),
    column('source', 'String'),
    column('inputs', 'String'),
    column('outputs', 'String'),
    nullable('score', 'Float64'),
    nullable('predicted_label', 'String'),
    column('latency_ms', 'Float64'),
    nullable('inference_ms', 'Float64'),
    column('request_time', "DateTime('UTC')"),
    column('request_time_ms', 'Int64'),
  ],
  engine: { name: 'ReplacingMergeTree' },
  orderBy: ['model_name', 'event_time', 'event_id'],
  partitionByMonthOf: 'event_time',
} as const satisfies TableEntry;

const FEEDBACK = {
  kind: 'table',
  name: 'feedback',
  description: 'every label event (ground truth), one row per event',
  owner: 'archiver',
  source: TOPICS.feedback,
  columns: [
    column('event_id', 'String'),
    column('event_time', "DateTime('UTC')"),
    column('event_time_ms', 'Int64'),
    nullable('prediction_id', 'String'),
    nullable('entity_id', 'String'),
    nullable('reference_time_ms', 'Int64'),
    nullable('model_name', 'String'),
    column('label', 'Float64'),
    column('observed_time', "DateTime('UTC')"),
    column('observed_time_ms', 'Int64'),
    nullable('label_source', 'String'),
  ],
  engine: { name: 'ReplacingMergeTree' },
  orderBy: ['event_time', 'event_id'],
  partitionByMonthOf: 'event_time',
} as const satisfies TableEntry;

const MODEL_EVENTS = {
  kind: 'table',
  name: 'model_events',
  description: 'the registry log (models.lifecycle), the rest of each event as a JSON payload',
  owner: 'archiver',
  source: TOPICS.modelsLifecycle,
  columns: [
    column('event_id', 'String'),
    column('event_time', "DateTime('UTC')"),
    column('event_time_ms', 'Int64'),
    column('model_name', 'String'),
    nullable('model_version', 'String'),
    column('event_type', 'String'),
    column('actor', 'String'),
    nullable('reason', 'String'),
    column('payload', 'String'),
  ],
  engine: { name: 'ReplacingMergeTree' },
  orderBy: ['model_name', 'event_time', 'event_id'],
  partitionByMonthOf: 'event_time',
} as const satisfies TableEntry;

const RETRAIN_REQUESTS = {
  kind: 'table',
  name: 'retrain_requests',
  description: 'every retraining request (drift, schedule, manual, performance) with its evidence as JSON',
  owner: 'archiver',
  source: TOPICS.trainingRequests,
  columns: [
    column('event_id', 'String'),
    column('event_time', "DateTime('UTC')"),
    column('event_time_ms', 'Int64'),
    column('model_name', 'String'),
    column('reason', 'String'),
    column('requested_by', 'String'),
    nullable('base_version', 'String'),
    column('evidence', 'String'),
  ],
  engine: { name: 'ReplacingMergeTree' },
  orderBy: ['model_name', 'event_time', 'event_id'],
  partitionByMonthOf: 'event_time',
} as const satisfies TableEntry;

const TRAINING_RUNS = {
  kind: 'table',
  name: 'training_runs',
  description: 'every training run event (started, progress, completed, failed), the rest as a JSON payload',
  owner: 'archiver',
  source: TOPICS.trainingRuns,
  columns: [
    column('event_id', 'String'),
    column('event_time', "DateTime('UTC')"),
    column('event_time_ms', 'Int64'),
    column('run_id', 'String'),
    column('model_name', 'String'),
    nullable('request_id', 'String'),
    column('event_type', 'String'),
    column('payload', 'String'),
  ],
  engine: { name: 'ReplacingMergeTree' },
  orderBy: ['model_name', 'run_id', 'event_time', 'event_id'],
  partitionByMonthOf: 'event_time',
} as const satisfies TableEntry;

const DRIFT_REPORTS = {
  kind: 'table',
  name: 'drift_reports',
  description: 'every drift report (one per model version, feature and window), the whole report as JSON too',
  owner: 'archiver',
  source: TOPICS.monitoringDrift,
  columns: [
    column('event_id', 'String'),
    column('event_time', "DateTime('UTC')"),
    column('model_name', 'String'),
    column('model_version', 'String'),
    column('feature', 'String'),
    column('target', 'String'),
    column('window_start', "DateTime('UTC')"),
    column('window_end', "DateTime('UTC')"),
    nullable('psi', 'Float64'),
    nullable('kl', 'Float64'),
    column('status', 'String'),
    column('count', 'Int64'),
    column('null_rate', 'Float64'),
    column('out_of_range_rate', 'Float64'),
    column('dlq_count', 'Int64'),
    column('report', 'String'),
  ],
  engine: { name: 'ReplacingMergeTree' },
  orderBy: ['model_name', 'feature', 'window_start', 'event_id'],
  partitionByMonthOf: 'window_start',
} as const satisfies TableEntry;

const PREDICTION_OUTCOMES = {
  kind: 'table',
  name: 'prediction_outcomes',
  description: 'one row per labelled prediction (per variant): score, label, label delay, join kind',
  owner: 'feedback-joiner',
  columns: [
    column('prediction_event_id', 'String'),
    column('prediction_id', 'String'),
    column('entity_id', 'String'),
    column('model_name', 'String'),
    column('model_version', 'String'),
    column('variant', 'String'),
    column('source', 'String'),
    column('prediction_time', "DateTime('UTC')"),
    column('prediction_time_ms', 'Int64'),
    column('request_time_ms', 'Int64'),
    nullable('score', 'Float64'),
    nullable('predicted_label', 'String'),
    column('label', 'Float64'),
    column('label_event_id', 'String'),
    nullable('label_source', 'String'),
    column('observed_time', "DateTime('UTC')"),
    column('observed_time_ms', 'Int64'),
    column('label_delay_ms', 'Int64'),
    column('join_kind', 'String'),
    column('version', 'UInt64'),
  ],
  // The latest observation of a prediction's truth wins the merge.
  engine: { name: 'ReplacingMergeTree', version: 'version' },
  orderBy: ['model_name', 'model_version', 'variant', 'prediction_event_id'],
  partitionByMonthOf: 'prediction_time',
} as const satisfies TableEntry;

const FEEDBACK_UNMATCHED = {
  kind: 'table',
  name: 'feedback_unmatched',
  description: 'labels the joiner gave up on (no prediction within the wait), with the reason',
  owner: 'feedback-joiner',
  columns: [
    column('label_event_id', 'String'),
    column('event_time', "DateTime('UTC')"),
    nullable('prediction_id', 'String'),
    nullable('entity_id', 'String'),
    nullable('reference_time_ms', 'Int64'),
    nullable('model_name', 'String'),
    column('label', 'Float64'),
    column('observed_time_ms', 'Int64'),
    column('reason', 'String'),
    column('given_up_at', "DateTime('UTC')"),
  ],
  engine: { name: 'ReplacingMergeTree' },
  orderBy: ['label_event_id'],
  partitionByMonthOf: 'event_time',
} as const satisfies TableEntry;

const TRAINING_TRIALS = {
  kind: 'table',
  name: 'training_trials',
  description:
    'one row per hyperparameter trial (parameters, seed, dataset hash, history, metrics); the winner again with selected = 1',
  owner: 'trainer',
  columns: [
    column('run_id', 'String'),
    column('model_name', 'String'),
    nullable('request_id', 'String'),
    column('trial', 'UInt32'),
    column('event_time', "DateTime('UTC')"),
    column('finished_ms', 'Int64'),
    column('recorded_ms', 'Int64'),
    column('algorithm', 'String'),
    column('params', 'String'),
    column('seed', 'Int64'),
    column('backend', 'String'),
    column('dataset_hash', 'String'),
    column('row_count', 'Int64'),
    column('code_version', 'String'),
    column('epochs_run', 'UInt32'),
    column('best_epoch', 'UInt32'),
    column('stopped_early', 'UInt8'),
    column('train_loss', 'Float64'),
    column('val_loss', 'Float64'),
    nullable('val_auc', 'Float64'),
    nullable('val_rmse', 'Float64'),
    column('test_metrics', 'String'),
    column('history', 'String'),
    column('duration_ms', 'Int64'),
    column('selected', 'UInt8'),
  ],
  // A redelivered run overwrites its own trials: the last write (highest recorded_ms) wins.
  engine: { name: 'ReplacingMergeTree', version: 'recorded_ms' },
  orderBy: ['model_name', 'run_id', 'trial'],
  partitionByMonthOf: 'event_time',
} as const satisfies TableEntry;

export const TABLES = {
  predictions: PREDICTIONS,
  feedback: FEEDBACK,
  model_events: MODEL_EVENTS,
  retrain_requests: RETRAIN_REQUESTS,
  training_runs: TRAINING_RUNS,
  drift_reports: DRIFT_REPORTS,
  prediction_outcomes: PREDICTION_OUTCOMES,
  feedback_unmatched: FEEDBACK_UNMATCHED,
  training_trials: TRAINING_TRIALS,
} as const;

export const VIEWS = {
  model_quality_hourly: {
    kind: 'view',
    name: 'model_quality_hourly',
    description:
      'per model, version, variant and hour: predictions, labeled, unlabeled, accuracy, AUC, log loss (classifiers), MAE, RMSE (regressors)',
    owner: 'feedback-joiner',
    reads: [PREDICTIONS, PREDICTION_OUTCOMES],
    columns: [
      column('model_name', 'String'),
      column('model_version', 'String'),
      column('variant', 'String'),
      column('window_start', "DateTime('UTC')"),
      column('window_start_ms', 'Int64'),
      column('window_end_ms', 'Int64'),
      column('predictions', 'UInt64'),
      column('labeled', 'UInt64'),
      column('unlabeled', 'Int64'),
      column('positives', 'UInt64'),
      column('task', 'String'),
      nullable('accuracy', 'Float64'),
      nullable('auc', 'Float64'),
      nullable('log_loss', 'Float64'),
      nullable('mae', 'Float64'),
      nullable('rmse', 'Float64'),
      nullable('mean_score', 'Float64'),
      nullable('mean_label', 'Float64'),
    ],
  },
  drift_windows: {
    kind: 'view',
    name: 'drift_windows',
    description: 'every drift report (from drift_reports, deduplicated), with late_count',
    owner: 'archiver',
    reads: [DRIFT_REPORTS],
    columns: [
      column('model_name', 'String'),
      column('model_version', 'String'),
      column('feature', 'String'),
      column('target', 'String'),
      column('window_start', "DateTime('UTC')"),
      column('window_end', "DateTime('UTC')"),
      column('status', 'String'),
      nullable('psi', 'Float64'),
      nullable('kl', 'Float64'),
      column('count', 'Int64'),
      column('null_rate', 'Float64'),
      column('out_of_range_rate', 'Float64'),
      column('dlq_count', 'Int64'),
      column('late_count', 'Int64'),
      column('event_id', 'String'),
    ],
  },
  drift_alerts: {
    kind: 'view',
    name: 'drift_alerts',
    description: 'the WARN and ALERT windows, newest first',
    owner: 'archiver',
    reads: [DRIFT_REPORTS],
    columns: [
      column('window_start', "DateTime('UTC')"),
      column('window_end', "DateTime('UTC')"),
      column('model_name', 'String'),
      column('model_version', 'String'),
      column('feature', 'String'),
      column('target', 'String'),
      column('status', 'String'),
      nullable('psi', 'Float64'),
      column('count', 'Int64'),
    ],
  },
} as const satisfies Record<string, ViewEntry>;

export type TableName = keyof typeof TABLES;
export type ViewName = keyof typeof VIEWS;

/** Every table, then every view (the order DDL must run in). */
export const CATALOGUE: readonly CatalogueEntry[] = [...Object.values(TABLES), ...Object.values(VIEWS)];

/** A history table filled from a topic, one row per event. */
export type HistoryTableEntry = TableEntry & { readonly source: TopicEntry };

/** The archiver's history tables, one per event topic. */
export const HISTORY_TABLES: readonly HistoryTableEntry[] = Object.values(TABLES).filter(
  (table): table is (typeof TABLES)[TableName] & HistoryTableEntry => 'source' in table,
);

/** `db`.`table` of an entry, checked by the one SQL escaping helper. */
export function tableRef(database: string, entry: CatalogueEntry): SqlFragment {
  return ident(`${database}.${entry.name}`);
}

/** The column declaration of an entry by name; throws on a name the entry does not have. */
export function columnOf(entry: CatalogueEntry, name: string): Column {
  const found = entry.columns.find((c) => c.name === name);
  if (!found) throw new Error(`${entry.name} has no column ${name}`);
  return found;
}
