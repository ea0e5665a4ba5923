import type { PredictionRequest } from '../types.generated.ts';

/** Streaming-scorer input for one card transaction: pinned and unpinned. */
export const fixtures: readonly PredictionRequest[] = [
  {
    event_id: '0b6f3c2e-8f1a-4d7e-9a51-2c4d6e8f0a13',
    event_time: 1_767_225_600_000,
    entity_id: 'card-000042',
    model_name: 'fraud_detector',
    model_version: null,
    inputs: {
      amount: 129.95,
      hour_of_day: 23,
      distance_from_home_km: 412.5,
      merchant_category: 'electronics',
      card_present: false,
      device_id: null,
    },
    source: 'demo-generator',
  },
  {
    event_id: '4a1e9d3b-7c25-4f08-b6e2-91d0a3c5e7f4',
    event_time: 1_767_225_660_000,
    entity_id: 'card-000043',
    model_name: 'fraud_detector',
    model_version: '1.2.0',
    inputs: {},
    source: null,
  },
];
