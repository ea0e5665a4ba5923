import type { TrainingRunEvent } from '../types.generated.ts';

const none = { started: null, progress: null, completed: null, failed: null } as const;
const run = {
  run_id: 'run-20260101-0001',
  model_name: 'fraud_detector',
  request_id: '1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d',
} as const;

/** A run from start to completion, and another that failed. */
export const fixtures: readonly TrainingRunEvent[] = [
  {
    ...none,
    ...run,
    event_id: 'f2a3b4c5-d6e7-4f80-91a2-b3c4d5e6f7a8',
    event_time: 1_767_484_900_000,
    event_type: 'STARTED',
    started: {
      trainer: 'trainer-1@host-a:4242',
      algorithm: 'mlp',
      params: { search: 'random', max_epochs: 50, patience: 5, class_weighting: true, warm_start: null },
      seed: 42,
      trials: 8,
      code_version: 'c0ffee1',
    },
  },
  {
    ...none,
    ...run,
    event_id: 'a3b4c5d6-e7f8-4091-a2b3-c4d5e6f7a8b9',
    event_time: 1_767_484_960_000,
    event_type: 'PROGRESS',
    progress: { trial: 2, epoch: 7, epochs: 50, metrics: { loss: 0.213, val_loss: 0.224, val_auc: 0.935 } },
  },
  {
    ...none,
    ...run,
    event_id: 'b4c5d6e7-f8a9-40a1-b2c3-d4e5f6a7b8c9',
    event_time: 1_767_485_500_000,
    event_type: 'COMPLETED',
    completed: {
      model_version: '1.3.0',
      metrics: { auc: 0.942, logloss: 0.181 },
      best_params: { hidden_units: 32, learning_rate: 0.003, batch_norm: false, optimizer: 'adam' },
      dataset_hash: '9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e0d9c8b7a6f5e4d3c2b1a0f9e8d',
      row_count: 120_000,
      gate_passed: true,
      gate_reason: 'AUC 0.942 >= production 0.938 - 0.005',
      target_stage: 'STAGING',
      duration_ms: 600_000,
    },
  },
  {
    ...none,
    run_id: 'run-20260102-0002',
    model_name: 'fraud_detector',
    request_id: null,
    event_id: 'c5d6e7f8-a9b0-41b2-83d4-e5f6a7b8c9d0',
    event_time: 1_767_571_300_000,
    event_type: 'FAILED',
    failed: {
      error: 'training set is empty for the requested window',
      code: 'PROCESSING_FAILED',
      retriable: false,
      duration_ms: 1_250,
    },
  },
];
