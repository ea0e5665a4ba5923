import { describe, expect, it } from 'vitest';
import { joinTransform } from '../../../../processors/feedback-joiner/transform.ts';
import type { SourceRecord } from '../../../../runtime/types.ts';
import type { Feedback } from '../../../../schemas/index.ts';

const feedback = (over: Partial<Feedback>): SourceRecord<Feedback> => ({
  topic: 'feedback',
  partition: 0,
  offset: '7',
  key: null,
  timestamp: 0,
  headers: {},
  value: {
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
  },
});

describe('feedback joiner transform', () => {
  it('turns labels into join requests and refuses labels that name nothing or are not numbers', () => {
    const out = joinTransform([
      feedback({}),
      feedback({ prediction_id: null }),
      feedback({ label: Number.NaN }),
      feedback({ prediction_id: null, entity_id: 'card-1', reference_time: 5 }),
    ]);
    expect(out.writes.map((w) => [w.prediction_id, w.entity_id, w.reference_time])).toEqual([
      ['p1', null, null],
      [null, 'card-1', 5],
    ]);
    expect(out.rejected.map((r) => r.reason)).toEqual([
      'feedback names neither a prediction_id nor an entity_id',
      'label NaN is not a finite number',
    ]);
  });
});
