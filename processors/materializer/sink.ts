/**
 * The materializer's sink: each chunk's rows go to the online store (conditional, newest wins) and
 * to the offline store (history) at the same time, and the write is acknowledged only when both
 * are. If either fails the whole chunk is retried by the runner (both writes are idempotent), so
 * offsets are never committed past a row one of the stores lacks.
 */
import type { FeatureGroupDecl, FeatureRow } from '../../features/declaration.ts';
import type { OfflineStore } from '../../features/offline/store.ts';
import type { OnlineStore } from '../../features/online/store.ts';
import { Counter, Histogram, LATENCY_BUCKETS_S, type Registry } from '../../kernel/metrics.ts';
import type { Sink } from '../../runtime/types.ts';
import type { FeatureWrite } from './transform.ts';

export interface MaterializerMetrics {
  onlineWrites: Counter<'group' | 'outcome'>;
  offlineRows: Counter<'group'>;
  storeSeconds: Histogram<'store'>;
}

/** The materializer's listed metrics (besides the runner's `rheo_processor_*`). */
export function createMaterializerMetrics(registry: Registry): MaterializerMetrics {
  const registers = [registry];
  return {
    onlineWrites: new Counter({
      name: 'rheo_features_online_writes_total',
      help: 'Rows offered to the online store, by outcome (accepted, stale, duplicate)',
      labelNames: ['group', 'outcome'],
      registers,
    }),
    offlineRows: new Counter({
      name: 'rheo_features_offline_rows_total',
      help: 'Rows inserted into the offline store (redeliveries included)',
      labelNames: ['group'],
      registers,
    }),
    storeSeconds: new Histogram({
      name: 'rheo_features_store_write_seconds',
      help: 'Acknowledged write latency per store',
      labelNames: ['store'],
      buckets: LATENCY_BUCKETS_S,
      registers,
    }),
  };
}

/**
 * Group commit: writes arriving while one is in flight wait and then go out together, so the chunks
 * of concurrently processed partitions share one insert and one pipeline instead of each paying for
 * its own. Each caller's promise settles with the combined write that carried its items — resolved
 * only once they are stored, rejected (and retried by the runner) if that write failed.
 */
export function coalescing<T>(write: (items: T[]) => Promise<void>): (items: readonly T[]) => Promise<void> {
  let queue: Array<{ items: readonly T[]; resolve: () => void; reject: (error: unknown) => void }> = [];
  let flushing = false;
  const flush = async () => {
    flushing = true;
    while (queue.length > 0) {
      const batch = queue;
      queue = [];
      try {
        await write(batch.flatMap((entry) => entry.items));
        for (const entry of batch) entry.resolve();
      } catch (error) {
        for (const entry of batch) entry.reject(error);
      }
    }
    flushing = false;
  };
  return (items) =>
    new Promise<void>((resolve, reject) => {
      queue.push({ items, resolve, reject });
      if (!flushing) void flush();
    });
}

export function featureStoresSink(
  groups: ReadonlyMap<string, FeatureGroupDecl>,
  online: OnlineStore,
  offline: OfflineStore,
  metrics?: MaterializerMetrics,
): Sink<FeatureWrite> {
  const write = coalescing<FeatureWrite>(async (writes) => {
    const byGroup = new Map<string, FeatureRow[]>();
    for (const { group, row } of writes) {
      const rows = byGroup.get(group);
      if (rows) rows.push(row);
      else byGroup.set(group, [row]);
    }
    const timed = async <T>(store: string, action: () => Promise<T>): Promise<T> => {
      const started = performance.now();
      const result = await action();
      metrics?.storeSeconds.observe({ store }, (performance.now() - started) / 1000);
      return result;
    };
    const tasks: Promise<unknown>[] = [];
    for (const [name, rows] of byGroup) {
      const group = groups.get(name) as FeatureGroupDecl;
      tasks.push(
        timed(online.name, () => online.writeBatch(group, rows)).then((result) => {
          for (const [outcome, n] of Object.entries(result)) if (n > 0) metrics?.onlineWrites.inc({ group: name, outcome }, n);
        }),
        timed(offline.name, () => offline.writeBatch(group, rows)).then(() =>
          metrics?.offlineRows.inc({ group: name }, rows.length),
        ),
      );
    }
    // Both stores finish (or fail) before the runner decides: no write left running behind a retry.
    const settled = await Promise.allSettled(tasks);
    const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed) throw failed.reason;
  });
  return {
    name: `${online.name}+${offline.name}`,
    write: (writes) => write(writes),
  };
}
