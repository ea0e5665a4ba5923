/**
 * The fraud project in-process, for the demo, tests and benchmarks that run Rheo's parts directly:
 * the same declaration `--project examples/fraud` loads, derived the same way (projects/context.ts).
 */
import { fileURLToPath } from 'node:url';
import { type ProjectContext, projectContext } from '../../projects/context.ts';
import type { TrainingSpec } from '../../trainers/spec.ts';
import fraudProject from './rheo.project.ts';

export { cardActivity, merchantRisk, transactionRequest } from './features/index.ts';
export { fraudProject };

/** The folder of the fraud project (what `--project` takes). */
export const FRAUD_PROJECT_DIR = fileURLToPath(new URL('.', import.meta.url));

/** The fraud project as services read it: its feature registry, training specs and topics. */
export const fraud: ProjectContext = projectContext({
  dir: FRAUD_PROJECT_DIR,
  file: fileURLToPath(new URL('./rheo.project.ts', import.meta.url)),
  project: fraudProject,
});

/** The trainer's spec of `fraud_detector`. */
export const fraudDetector: TrainingSpec = fraud.trainingSpecs.fraud_detector as TrainingSpec;
