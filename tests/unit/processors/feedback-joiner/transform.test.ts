import { describe, expect, it } from 'vitest';
import type { PredictionRow } from '../../../../processors/feedback-joiner/join.ts';
import { joinTransform, type LabelWithCandidates, toLabelEvent } from '../../../../processors/feedback-joiner/transform.ts';
import type { SourceRecord } from '../../../../runtime/types.ts';
import type { Feedback } from '../../../../schemas/index.ts';

const label = (over: Partial<Feedback>): Feedback => ({
  event_id: 'l1',
  event_time: 1,
  prediction_id: 'p1',
  entity_id: null,
  reference_time: null,
  model_name: null,
  label: 1,
  observed_time: 2,
  label_source: null,
  ...over,
});

const prediction = (over: Partial<PredictionRow>): PredictionRow => ({
  event_id: 'e1',
  prediction_id: 'p1',
  entity_id: 'card-1',
  model_name: 'm',
  model_version: '1.0.0',
  variant: 'production',
  source: 'GATEWAY',
  score: 0.7,
  predicted_label: null,
  event_time_ms: 0,
  request_time_ms: 0,
  ...over,
});

const record = (value: LabelWithCandidates, offset: number): SourceRecord<LabelWithCandidates> => ({
  topic: 'feedback',
  partition: 0,
  offset: String(offset),
  key: null,
  timestamp: 0,
  headers: {},
  value,
});

const settings = { entityWindowMs: 86_400_000, waitMs: 30_000 };

describe('feedback joiner: label checks', () => {
  it('accepts labels naming a prediction or an entity, refuses the rest with the reason', () => {
    expect(toLabelEvent(label({}))).toMatchObject({ event_id: 'l1', prediction_id: 'p1' });
    expect(toLabelEvent(label({ prediction_id: null, entity_id: 'card-1', reference_time: 5 }))).toMatchObject({
      entity_id: 'card-1',
      reference_time: 5,
    });
    expect(toLabelEvent(label({ prediction_id: null }))).toEqual({
      refused: 'feedback names neither a prediction_id nor an entity_id',
    });
    expect(toLabelEvent(label({ label: Number.NaN }))).toEqual({ refused: 'label NaN is not a finite number' });
  });
});

describe('feedback joiner transform (pure)', () => {
  const joined = toLabelEvent(label({ event_id: 'l1' }));
  const lost = toLabelEvent(label({ event_id: 'l2', prediction_id: 'p9', observed_time: 5_000 }));
  if ('refused' in joined || 'refused' in lost) throw new Error('fixture labels must be valid');
  const inputs = [
    record(
      {
        label: joined,
        candidates: [prediction({}), prediction({ event_id: 'e2', variant: 'shadow', model_version: '2.0.0' })],
        gaveUpAt: null,
      },
      0,
    ),
    record({ label: lost, candidates: [], gaveUpAt: 40_000 }, 1),
  ];

  it('gives each joined label its outcome rows (one per variant) and each given-up label an unmatched row', () => {
    const out = joinTransform(settings)(inputs);
    expect(out.rejected).toEqual([]);
    expect(out.writes.map((w) => w.table)).toEqual(['outcomes', 'unmatched']);
    const [first, second] = out.writes;
    expect(first?.table === 'outcomes' && first.rows.map((r) => [r.variant, r.model_version])).toEqual([
      ['production', '1.0.0'],
      ['shadow', '2.0.0'],
    ]);
    expect(second?.table === 'unmatched' && second.row).toMatchObject({
      label_event_id: 'l2',
      reason: 'no prediction in ClickHouse after 30000 ms (prediction p9)',
      given_up_at: '1970-01-01 00:00:40',
    });
  });

  it('does not touch its input, and chunking does not change the writes', () => {
    const before = structuredClone(inputs);
    const whole = joinTransform(settings)(inputs).writes;
    expect(inputs).toEqual(before);
    const split = [...joinTransform(settings)(inputs.slice(0, 1)).writes, ...joinTransform(settings)(inputs.slice(1)).writes];
    expect(split).toEqual(whole);
  });
});
