/**
 * Experiment tracking: one ClickHouse row per hyperparameter trial (`rheo.training_trials`), with
 * its parameters, seed, backend, dataset hash, per-epoch history and validation metrics; when the
 * run ends, the winning trial's row is written again with `selected = 1` and its test metrics.
 * ReplacingMergeTree keyed by (model, run, trial) with `recorded_ms` as the version keeps the last
 * write, so a redelivered run overwrites its own trials instead of adding to them (use FINAL).
 */
import type { ClickHouseClient } from '../kernel/clients.ts';
import { errorMessage, RheoError } from '../kernel/errors.ts';
import { ident } from '../kernel/sql.ts';

export const TRIALS_TABLE = 'training_trials';

export interface TrialRecord {
  run_id: string;
  model_name: string;
  request_id: string | null;
  trial: number;
  /** When the trial finished, epoch ms. */
  finished_ms: number;
  algorithm: string;
  /** Hyperparameters, by name. */
  params: Record<string, number | string | boolean | null>;
  seed: number;
  backend: string;
  dataset_hash: string;
  row_count: number;
  code_version: string;
  epochs_run: number;
  best_epoch: number;
  stopped_early: boolean;
  train_loss: number;
  val_loss: number;
  val_auc: number | null;
  val_rmse: number | null;
  /** Test metrics (the selected trial only). */
  test_metrics: Record<string, number>;
  /** Per epoch: loss, val_loss and the validation metric. */
  history: Array<Record<string, number>>;
  duration_ms: number;
  selected: boolean;
}

export interface ExperimentTracker {
  ensure(): Promise<void>;
  record(trials: readonly TrialRecord[]): Promise<void>;
}

const COLUMNS: ReadonlyArray<readonly [string, string]> = [
  ['run_id', 'String'],
  ['model_name', 'String'],
  ['request_id', 'Nullable(String)'],
  ['trial', 'UInt32'],
  ['event_time', "DateTime('UTC')"],
  ['finished_ms', 'Int64'],
  ['recorded_ms', 'Int64'],
  ['algorithm', 'String'],
  ['params', 'String'],
  ['seed', 'Int64'],
  ['backend', 'String'],
  ['dataset_hash', 'String'],
  ['row_count', 'Int64'],
  ['code_version', 'String'],
  ['epochs_run', 'UInt32'],
  ['best_epoch', 'UInt32'],
  ['stopped_early', 'UInt8'],
  ['train_loss', 'Float64'],
  ['val_loss', 'Float64'],
  ['val_auc', 'Nullable(Float64)'],
  ['val_rmse', 'Nullable(Float64)'],
  ['test_metrics', 'String'],
  ['history', 'String'],
  ['duration_ms', 'Int64'],
  ['selected', 'UInt8'],
];

/** DDL from fixed, checked identifiers (ClickHouse 18.16: DateTime plus an Int64 of ms, no Map type). */
export function trialsTableSql(database: string): string {
  const columns = COLUMNS.map(([name, type]) => `${ident(name).text} ${type}`).join(',\n  ');
  return `CREATE TABLE IF NOT EXISTS ${ident(`${database}.${TRIALS_TABLE}`).text} (\n  ${columns}\n) ENGINE = ReplacingMergeTree(recorded_ms) PARTITION BY toYYYYMM(event_time) ORDER BY (model_name, run_id, trial)`;
}

const finiteOrNull = (v: number | null) => (v === null || !Number.isFinite(v) ? null : v);
const finiteOr = (v: number, fallback: number) => (Number.isFinite(v) ? v : fallback);

export function trialRow(t: TrialRecord, recordedMs: number): Record<string, string | number | null> {
  return {
    run_id: t.run_id,
    model_name: t.model_name,
    request_id: t.request_id,
    trial: t.trial,
    event_time: new Date(t.finished_ms).toISOString().slice(0, 19).replace('T', ' '),
    finished_ms: t.finished_ms,
    recorded_ms: recordedMs,
    algorithm: t.algorithm,
    params: JSON.stringify(t.params),
    seed: t.seed,
    backend: t.backend,
    dataset_hash: t.dataset_hash,
    row_count: t.row_count,
    code_version: t.code_version,
    epochs_run: t.epochs_run,
    best_epoch: t.best_epoch,
    stopped_early: t.stopped_early ? 1 : 0,
    train_loss: finiteOr(t.train_loss, -1),
    val_loss: finiteOr(t.val_loss, -1),
    val_auc: finiteOrNull(t.val_auc),
    val_rmse: finiteOrNull(t.val_rmse),
    test_metrics: JSON.stringify(t.test_metrics),
    history: JSON.stringify(t.history),
    duration_ms: Math.round(t.duration_ms),
    selected: t.selected ? 1 : 0,
  };
}

export class ClickHouseTracker implements ExperimentTracker {
  readonly #client: ClickHouseClient;
  readonly #database: string;
  #last = 0;

  constructor(client: ClickHouseClient, database: string) {
    this.#client = client;
    this.#database = database;
  }

  async ensure(): Promise<void> {
    try {
      await this.#client.command({ query: trialsTableSql(this.#database) });
    } catch (error) {
      throw new RheoError('SINK_UNAVAILABLE', `ClickHouse failed creating ${TRIALS_TABLE}: ${errorMessage(error)}`, {
        cause: error,
      });
    }
  }

  async record(trials: readonly TrialRecord[]): Promise<void> {
    if (trials.length === 0) return;
    // Strictly increasing versions, so a later write of the same trial always wins the merge.
    const recorded = Math.max(Date.now(), this.#last + 1);
    this.#last = recorded;
    try {
      await this.#client.insert({
        table: ident(`${this.#database}.${TRIALS_TABLE}`).text,
        values: trials.map((t) => trialRow(t, recorded)),
        format: 'JSONEachRow',
      });
    } catch (error) {
      throw new RheoError('SINK_UNAVAILABLE', `ClickHouse insert into ${TRIALS_TABLE} failed: ${errorMessage(error)}`, {
        cause: error,
      });
    }
  }
}

export class MemoryTracker implements ExperimentTracker {
  readonly rows: TrialRecord[] = [];
  async ensure(): Promise<void> {}
  async record(trials: readonly TrialRecord[]): Promise<void> {
    this.rows.push(...trials);
  }
}
