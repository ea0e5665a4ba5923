/**
 * The drift processor's sink: stores each chunk's window state (compare-and-set, see store.ts), then
 * reports the windows that became complete. It acknowledges only when both are durable, so the runner
 * commits the chunk's offset only then; a failure pauses the partition and the write is retried — a
 * retried write finds its state already stored and goes straight to reporting.
 */
import { errorMessage, RheoError } from '../../kernel/errors.ts';
import type { Sink } from '../../runtime/types.ts';
import type { DriftReporter } from './reporter.ts';
import type { DriftStore } from './store.ts';
import type { PartitionState, PartitionWrite } from './transform.ts';

/** The partitions' states as last stored by this instance, so a chunk need not read them back. */
export type StateCache = Map<number, PartitionState>;

export function driftSink(
  store: DriftStore,
  cache: StateCache,
  reporter: DriftReporter,
  close?: () => Promise<void>,
): Sink<PartitionWrite> {
  return {
    name: 'drift-window-store',
    async write(writes) {
      for (const write of writes) {
        let outcome: Awaited<ReturnType<DriftStore['persist']>>;
        try {
          outcome = await store.persist(write);
        } catch (error) {
          throw new RheoError('SINK_UNAVAILABLE', `drift window store write failed: ${errorMessage(error)}`, { cause: error });
        }
        if (outcome === 'conflict') {
          cache.delete(write.partition);
          throw new RheoError(
            'SINK_UNAVAILABLE',
            `window state of ${write.topic}/${write.partition} was changed by another member; the chunk will be redelivered`,
          );
        }
        if (outcome === 'applied') cache.set(write.partition, write.state);
        else cache.delete(write.partition); // already stored (a redelivery): read it back next time
      }
      // Windows complete only when some partition's horizon crosses their end; the periodic pass covers
      // windows completed by other members.
      if (!writes.some((w) => w.crossed)) return;
      try {
        await reporter.run();
      } catch (error) {
        throw new RheoError('SINK_UNAVAILABLE', `reporting closed drift windows failed: ${errorMessage(error)}`, {
          cause: error,
        });
      }
    },
    ...(close ? { close } : {}),
  };
}
