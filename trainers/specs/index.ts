/** The declared training specs, by model name: the one list the trainer service and `rheo train` read. Add a model here (one file per spec). */
import { RheoError } from '../../kernel/errors.ts';
import type { TrainingSpec } from '../spec.ts';
import { fraudDetector } from './fraud-detector.ts';

export { fraudDetector } from './fraud-detector.ts';

export const TRAINING_SPECS: Readonly<Record<string, TrainingSpec>> = Object.freeze({ [fraudDetector.model]: fraudDetector });

/** The spec of `model`; NOT_FOUND naming the declared ones. */
export function specFor(model: string, specs: Readonly<Record<string, TrainingSpec>> = TRAINING_SPECS): TrainingSpec {
  const spec = specs[model];
  if (!spec)
    throw new RheoError(
      'NOT_FOUND',
      `no training spec for model ${model}; declared: ${Object.keys(specs).join(', ') || '(none)'}`,
      {
        details: { model },
      },
    );
  return spec;
}
