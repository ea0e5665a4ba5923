import type { RetrainRequest } from '../types.generated.ts';

/** A drift-triggered request with its evidence, and a bare manual one. */
export const fixtures: readonly RetrainRequest[] = [
  {
    event_id: '1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d',
    event_time: 1_767_484_800_000,
    model_name: 'fraud_detector',
    reason: 'DRIFT',
    requested_by: 'service:drift',
    base_version: '1.2.0',
    evidence: {
      summary: 'PSI of amount at 0.31 (alert band 0.25) in the window ending 2026-01-04T00:00Z',
      drift: [
        {
          report_event_id: '2b3c4d5e-6f7a-4b8c-9d0e-1f2a3b4c5d6e',
          model_version: '1.2.0',
          feature: 'amount',
          window_start: 1_767_481_200_000,
          window_end: 1_767_484_800_000,
          psi: 0.31,
          kl: 0.27,
          status: 'ALERT',
        },
      ],
      metrics: { live_auc: 0.91 },
    },
    training_window_start: 1_764_806_400_000,
    training_window_end: 1_767_484_800_000,
    params: { algorithm: 'mlp', trials: 8, early_stopping: true, note: null },
  },
  {
    event_id: '3c4d5e6f-7a8b-4c9d-8e0f-2a3b4c5d6e7f',
    event_time: 1_767_571_200_000,
    model_name: 'fraud_detector',
    reason: 'MANUAL',
    requested_by: 'user:alice',
    base_version: null,
    evidence: { summary: 'first model', drift: [], metrics: {} },
    training_window_start: null,
    training_window_end: null,
    params: {},
  },
];
