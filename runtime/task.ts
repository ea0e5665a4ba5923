/**
 * The long-task mode of the one runner: one record, one abortable task (a training run). The task
 * runs in the enrich stage with the runner's heartbeats kept on a timer; it is aborted at once when
 * the group rebalances or the member stops (uncommitted, so another member runs it); a retriable
 * failure pauses the partition and runs it again; the offset is committed once the sink has recorded
 * the task's outcome.
 */
import type { ErrorCode } from '../kernel/errors.ts';
import type { TopicEntry } from '../topics/catalogue.ts';
import type { ProcessorSpec, RawRecord, Rejection, Sink, SourceRecord } from './types.ts';

/** Whether this member runs a record: run it, pass it over (committed unrun), or refuse it (dead-lettered). */
export type TaskVerdict = { run: true } | { run: false } | { run: false; code: ErrorCode; reason: string };

export interface LongTaskSpec<V, O> {
  name: string;
  inputs: readonly TopicEntry[];
  decode(record: RawRecord): Promise<V> | V;
  accept?(value: V): TaskVerdict;
  /** The task. Resolves with its outcome (success or a failure retrying cannot fix); throws to be retried. */
  run(record: SourceRecord<V>, signal: AbortSignal): Promise<O>;
  /** Records outcomes durably; the offset is committed after it resolves. */
  outcomes: Sink<O>;
  close?(): Promise<void>;
}

export function longTaskProcessor<V, O>(task: LongTaskSpec<V, O>): ProcessorSpec<V, O, O> {
  return {
    name: task.name,
    inputs: task.inputs,
    decode: (record) => task.decode(record),
    longTask: true,
    supply: () => ({
      async enrich(records, signal) {
        const done: Array<SourceRecord<O>> = [];
        const rejected: Rejection[] = [];
        for (const record of records) {
          const verdict = task.accept?.(record.value) ?? { run: true };
          if (!verdict.run) {
            if ('code' in verdict) rejected.push({ record, code: verdict.code, reason: verdict.reason });
            continue;
          }
          done.push({ ...record, value: await task.run(record, signal) });
        }
        return { records: done, rejected };
      },
      transform: (records) => ({ writes: records.map((r) => r.value), rejected: [] }),
    }),
    sink: task.outcomes,
    ...(task.close ? { close: task.close } : {}),
  };
}
