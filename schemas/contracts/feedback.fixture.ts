import type { Feedback } from '../types.generated.ts';

/** A chargeback joined by prediction id, and an analyst label joined by entity and time. */
export const fixtures: readonly Feedback[] = [
  {
    event_id: '7e0a3b6c-4d9f-4ab5-82e8-f3b4a5c6d7e8',
    event_time: 1_767_398_400_000,
    prediction_id: '9d2a7b41-3e6f-4c85-b1d0-e7f8a9b0c1d2',
    entity_id: null,
    reference_time: null,
    model_name: null,
    label: 1,
    observed_time: 1_767_398_000_000,
    label_source: 'chargeback',
  },
  {
    event_id: '8f1b4c7d-5ea0-4bc6-93f9-a4c5b6d7e8f9',
    event_time: 1_767_400_000_000,
    prediction_id: null,
    entity_id: 'card-000043',
    reference_time: 1_767_225_660_000,
    model_name: 'fraud_detector',
    label: 0,
    observed_time: 1_767_399_000_000,
    label_source: null,
  },
];
