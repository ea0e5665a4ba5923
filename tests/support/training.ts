/** Broker-free doubles for training runs: the in-memory registry writer, stores and sinks. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cardActivity, fraud, merchantRisk } from '../../examples/fraud/index.ts';
import type { LabeledHistory } from '../../examples/fraud/labeled-history.ts';
import type { FeatureRow } from '../../features/declaration.ts';
import { MemoryOfflineStore } from '../../features/offline/memory.ts';
import { createLogger } from '../../kernel/log.ts';
import { MemoryRegistry } from '../../registry/memory.ts';
import { FileArtifactStore } from '../../serving/artifacts/fs.ts';
import { type LabeledExample, MemoryLabelSource } from '../../trainers/data/labels.ts';
import { MemoryRunEvents } from '../../trainers/events.ts';
import type { RunDeps } from '../../trainers/run.ts';
import { MemoryTracker } from '../../trainers/tracking.ts';

export function examplesOf(history: LabeledHistory): LabeledExample[] {
  return history.predictions.map((p, i) => ({
    id: p.prediction_id,
    entityId: p.entity_id,
    time: p.request_time,
    label: history.labels[i]?.label as number,
    observedTime: history.labels[i]?.observed_time as number,
    inputs: p.inputs,
  }));
}

export async function memoryOffline(history: LabeledHistory): Promise<MemoryOfflineStore> {
  const offline = new MemoryOfflineStore();
  for (const group of [cardActivity, merchantRisk]) {
    const rows: FeatureRow[] = history.features
      .filter((f) => f.group === group.name)
      .map(({ event }) => {
        const { entity_id, event_time, created_time, event_id, ...values } = event;
        return { entityId: entity_id, eventTime: event_time, createdTime: created_time, eventId: event_id, values };
      });
    await offline.writeBatch(group, rows);
  }
  return offline;
}

export interface MemoryDeps extends RunDeps {
  registry: MemoryRegistry;
  events: MemoryRunEvents;
  tracker: MemoryTracker;
}

export async function memoryDeps(history: LabeledHistory, registry = new MemoryRegistry()): Promise<MemoryDeps> {
  const artifacts = new FileArtifactStore(mkdtempSync(join(tmpdir(), 'rheo-train-')));
  return {
    logger: createLogger('train-test', { level: 'silent' }),
    labels: new MemoryLabelSource(examplesOf(history)),
    offline: await memoryOffline(history),
    features: fraud.features,
    registry,
    artifacts,
    resolver: artifacts,
    tracker: new MemoryTracker(),
    events: new MemoryRunEvents(),
    trainer: 'test',
    backend: 'auto',
  };
}
