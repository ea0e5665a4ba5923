import { describe, expect, it } from 'vitest';
import { joinLabels, type LabelEvent, matchLabel, type PredictionRow } from '../../../../processors/feedback-joiner/join.ts';

const HOUR = 3_600_000;

function prediction(over: Partial<PredictionRow>): PredictionRow {
  return {
    event_id: 'e1',
    prediction_id: 'p1',
    entity_id: 'card-1',
    model_name: 'fraud',
    model_version: '1.0.0',
    variant: 'PRODUCTION',
    source: 'ONLINE',
    score: 0.7,
    predicted_label: 'fraud',
    event_time_ms: 10 * HOUR + 5,
    request_time_ms: 10 * HOUR,
    ...over,
  };
}

function label(over: Partial<LabelEvent>): LabelEvent {
  return {
    event_id: 'l1',
    event_time: 20 * HOUR,
    prediction_id: 'p1',
    entity_id: null,
    reference_time: null,
    model_name: null,
    label: 1,
    observed_time: 20 * HOUR,
    label_source: 'chargeback',
    ...over,
  };
}

const settings = { entityWindowMs: 24 * HOUR };

describe('label join', () => {
  it('joins by prediction id to every variant of the request, once per prediction event', () => {
    const candidates = [
      prediction({ event_id: 'e1' }),
      prediction({ event_id: 'e2', model_version: '2.0.0', variant: 'SHADOW' }),
      prediction({ event_id: 'e1' }), // the same prediction twice (before a merge): one outcome
      prediction({ event_id: 'e3', prediction_id: 'p2' }),
    ];
    const { outcomes, unmatched } = joinLabels([label({})], candidates, settings);
    expect(unmatched).toEqual([]);
    expect(outcomes.map((o) => [o.prediction_event_id, o.model_version, o.variant, o.join_kind])).toEqual([
      ['e1', '1.0.0', 'PRODUCTION', 'prediction_id'],
      ['e2', '2.0.0', 'SHADOW', 'prediction_id'],
    ]);
    expect(outcomes[0]).toMatchObject({
      label: 1,
      label_event_id: 'l1',
      label_delay_ms: 10 * HOUR,
      prediction_time: '1970-01-01 10:00:00',
      observed_time_ms: 20 * HOUR,
      version: 20 * HOUR,
    });
  });

  it('joins by entity to its latest prediction at or before the reference time, per model, within the window', () => {
    const candidates = [
      prediction({ event_id: 'old', prediction_id: 'a', request_time_ms: 5 * HOUR }),
      prediction({ event_id: 'hit', prediction_id: 'b', request_time_ms: 9 * HOUR }),
      prediction({ event_id: 'hit-shadow', prediction_id: 'b', request_time_ms: 9 * HOUR, variant: 'SHADOW' }),
      prediction({ event_id: 'after', prediction_id: 'c', request_time_ms: 11 * HOUR }),
      prediction({ event_id: 'other-card', prediction_id: 'd', entity_id: 'card-2', request_time_ms: 9 * HOUR }),
      prediction({ event_id: 'other-model', prediction_id: 'e', model_name: 'aml', request_time_ms: 8 * HOUR }),
    ];
    const byEntity = label({ prediction_id: null, entity_id: 'card-1', reference_time: 10 * HOUR });
    expect(matchLabel(byEntity, candidates, settings).map((p) => p.event_id)).toEqual(['hit', 'hit-shadow', 'other-model']);
    expect(matchLabel({ ...byEntity, model_name: 'aml' }, candidates, settings).map((p) => p.event_id)).toEqual(['other-model']);
    // Without a reference time the observed time is used; outside the window nothing matches.
    expect(
      matchLabel({ ...byEntity, reference_time: null, observed_time: 12 * HOUR, model_name: 'fraud' }, candidates, settings).map(
        (p) => p.event_id,
      ),
    ).toEqual(['after']);
    expect(matchLabel({ ...byEntity, reference_time: 40 * HOUR }, candidates, settings)).toEqual([]);
    expect(joinLabels([byEntity], candidates, settings).outcomes.every((o) => o.join_kind === 'entity')).toBe(true);
  });

  it('returns labels without a prediction as unmatched', () => {
    const { outcomes, unmatched } = joinLabels([label({ prediction_id: 'nope' })], [prediction({})], settings);
    expect(outcomes).toEqual([]);
    expect(unmatched.map((l) => l.prediction_id)).toEqual(['nope']);
  });
});
