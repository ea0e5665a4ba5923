/**
 * Rheo's public API: what `import … from 'rheo'` gives a project (package.json `exports`, built to
 * dist/rheo.js with its declarations). Small on purpose: declaring feature groups and typing their
 * features and events, the Avro contracts of Rheo's own topics with their generated TypeScript types,
 * project declarations (`defineProject`, its types, its validation and `toTrainingSpec`),
 * `layersModelToOnnx` (a TensorFlow.js model of the user's own, exported to the ONNX Rheo serves), and
 * the package version. Everything else is internal and may move; this surface grows with what a project
 * can declare (issue 10).
 */
import { createRequire } from 'node:module';

export {
  defineFeatureGroup,
  type FeatureDecl,
  type FeatureGroupDecl,
  type FeatureRef,
  type FeatureRow,
  type FeatureValue,
  type FeatureValueType,
  formatFeatureRef,
  groupProblems,
  parseFeatureRef,
} from './features/declaration.ts';
export {
  checkProject,
  DRIFT_DEFAULTS,
  type DriftDecl,
  defineProject,
  type EntityDecl,
  type LabelSource,
  type ModelDecl,
  type ProjectDecl,
  projectProblems,
  type RequestSourceDecl,
  type RolloutPolicy,
  type TaskDecl,
  type TopicOverride,
  TRAINING_DEFAULTS,
  type TrainingDecl,
  toTrainingSpec,
} from './projects/declaration.ts';
export {
  type AvroRecordSchema,
  allContracts,
  CONTRACTS,
  type Contract,
  type ContractName,
  type FeatureEvent,
  type FeatureEventInput,
  featureGroupSchema,
  type InputOf,
  SchemaInvalidError,
  type ValueOf,
} from './schemas/index.ts';
export * from './schemas/types.generated.ts';
export {
  type LayersModelLike,
  type LayersModelToOnnxOptions,
  layersModelToOnnx,
} from './trainers/export/layers-model.ts';

/** The version of this Rheo package (its package.json, found by the package's self-reference). */
export const VERSION: string = (createRequire(import.meta.url)('rheo/package.json') as { version: string }).version;
