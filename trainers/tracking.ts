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
import { ensureTables } from '../tables/admin.ts';
import { type InsertRow, TABLES } from '../tables/catalogue.ts';

/** The trials table's name (its columns, engine and keys are the tables catalogue's entry). */
export const TRIALS_TABLE = TABLES.training_trials.name;

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

const finiteOrNull = (v: number | null) => (v === null || !Number.isFinite(v) ? null : v);
const finiteOr = (v: number, fallback: number) => (Number.isFinite(v) ? v : fallback);

export function trialRow(t: TrialRecord, recordedMs: number): InsertRow<typeof TABLES.training_trials> {
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
      await ensureTables(this.#client, this.#database, [TABLES.training_trials]);
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
