/**
 * The contracts' fixtures by contract name. Each `.fixture.ts` sits next to its `.avsc` and is typed
 * with the generated type, so TypeScript checks the fixture against the types and the unit tests
 * check it against the schema: the two cannot drift apart without a test failing.
 */

import { fixtures as driftReport } from './contracts/drift-report.fixture.ts';
import { fixtures as feedback } from './contracts/feedback.fixture.ts';
import { fixtures as modelLifecycleEvent } from './contracts/model-lifecycle-event.fixture.ts';
import { fixtures as prediction } from './contracts/prediction.fixture.ts';
import { fixtures as predictionRequest } from './contracts/prediction-request.fixture.ts';
import { fixtures as retrainRequest } from './contracts/retrain-request.fixture.ts';
import { fixtures as trainingRunEvent } from './contracts/training-run-event.fixture.ts';
import type { CONTRACTS, ContractName, ValueOf } from './contracts.ts';

export const FIXTURES: { readonly [K in ContractName]: readonly ValueOf<(typeof CONTRACTS)[K]>[] } = {
  PredictionRequest: predictionRequest,
  Prediction: prediction,
  Feedback: feedback,
  ModelLifecycleEvent: modelLifecycleEvent,
  RetrainRequest: retrainRequest,
  TrainingRunEvent: trainingRunEvent,
  DriftReport: driftReport,
};
