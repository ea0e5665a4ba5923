import { describe, expect, it } from 'vitest';
import { cardActivity, fraud, fraudDetector } from '../../../../examples/fraud/index.ts';
import { MemoryOfflineStore } from '../../../../features/offline/memory.ts';
import { buildDataset, datasetHash, matrix } from '../../../../trainers/data/dataset.ts';
import { labelSql, MemoryLabelSource } from '../../../../trainers/data/labels.ts';
import { resolveFeatures } from '../../../../trainers/spec.ts';

const features = resolveFeatures({ ...fraudDetector, features: ['amount', 'card_activity:txn_count_24h'] }, fraud.features);

async function fixture() {
  const offline = new MemoryOfflineStore();
  const row = (eventTime: number, createdTime: number, n: number) => ({
    entityId: 'card-1',
    eventTime,
    createdTime,
    eventId: `e-${eventTime}-${createdTime}`,
    values: { txn_count_1h: n, txn_count_24h: n, amount_avg_7d: 10 },
  });
  // Known at 1000; an event at 2000 computed only at 2500 (late); a correction of the 1000 value made at 3000.
  await offline.writeBatch(cardActivity, [row(1000, 1000, 1), row(2000, 2500, 2), row(1000, 3000, 9)]);
  const labels = new MemoryLabelSource(
    [1500, 2200, 2600, 3500].map((time, i) => ({
      id: `p${i}`,
      entityId: 'card-1',
      time,
      label: i % 2,
      observedTime: time + 100,
      inputs: { amount: 10 * (i + 1) },
    })),
  );
  return buildDataset(
    { labels, offline, registry: fraud.features },
    { model: 'm', kind: 'predictions', start: 0, end: 10_000, maxRows: 100, entity: 'card', features },
  );
}

describe('training set', () => {
  it('joins every label point-in-time: never a feature value created after its reference time', async () => {
    const d = await fixture();
    expect(d.ids).toEqual(['p0', 'p1', 'p2', 'p3']);
    expect(Array.from(d.columns[0] as Float64Array)).toEqual([10, 20, 30, 40]);
    // At 1500 and 2200 only the first value was known (the 2000 event was created at 2500);
    // at 2600 the 2000 event counts; at 3500 it is still the newest event (the correction is of an older one).
    expect(Array.from(d.columns[1] as Float64Array)).toEqual([1, 1, 2, 2]);
    expect(d.query).toMatch(/card_activity:txn_count_24h as of each reference time/);
  });

  it('hashes the rows canonically, and imputes missing values only when a matrix is built', async () => {
    const a = await fixture();
    const b = await fixture();
    expect(datasetHash(a, ['amount', 'card_activity:txn_count_24h'])).toBe(
      datasetHash(b, ['amount', 'card_activity:txn_count_24h']),
    );
    expect(datasetHash(a, ['amount'])).not.toBe(datasetHash(a, ['amount', 'card_activity:txn_count_24h']));
    (a.columns[1] as Float64Array)[0] = Number.NaN;
    expect(datasetHash(a, ['amount', 'card_activity:txn_count_24h'])).not.toBe(
      datasetHash(b, ['amount', 'card_activity:txn_count_24h']),
    );
    expect(Array.from(matrix(a, ['card_activity:txn_count_24h'], [0, 1], [7]))).toEqual([7, 1]);
  });

  it('reads labels known before the cutoff, one per prediction, shadows left out (SQL)', () => {
    const text = labelSql('rheo', { model: "o'brien", kind: 'predictions', start: 1, end: 2, maxRows: 10 });
    expect(text).toContain("model_name = 'o\\'brien'");
    expect(text).toContain("variant != 'SHADOW'");
    expect(text).toContain('observed_time_ms < 2');
    expect(text).toContain('argMax(label, observed_time_ms)');
    expect(labelSql('rheo', { model: 'm', kind: 'label-events', start: 1, end: 2, maxRows: 10 })).toContain(
      'prediction_id IS NULL',
    );
  });
});
