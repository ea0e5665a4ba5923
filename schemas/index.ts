/** The schema layer's public surface: contracts, their types, the codec, framing and feature-group derivation. */
export { type AvroRecordSchema, type AvroSchema, type AvroType, avroType, schemaText, validationIssues } from './avro.ts';
export {
  type CompatibilityReport,
  type Decoded,
  encodeFramed,
  type RegisteredSchema,
  SchemaCodec,
  type SchemaCodecOptions,
  type SchemaContract,
  subjectFor,
  TopicCodec,
} from './codec.ts';
export {
  allContracts,
  CONTRACTS,
  type Contract,
  type ContractName,
  contractNamed,
  defineContract,
  type InputOf,
  type ValueOf,
} from './contracts.ts';
export {
  type DecodeFailure,
  SchemaDecodeError,
  SchemaIncompatibleError,
  SchemaInvalidError,
  SchemaRegistryRejectedError,
  SchemaRegistryUnavailableError,
  SchemaValidationError,
  type ValidationIssue,
} from './errors.ts';
export {
  type FeatureDecl,
  type FeatureEvent,
  type FeatureEventInput,
  type FeatureGroupDecl,
  type FeatureValueType,
  featureGroupContract,
  featureGroupSchema,
} from './feature-group.ts';
export { frame, HEADER_SIZE, MAGIC_BYTE, peekSchemaId, type Unframed, unframe } from './framing.ts';
export { InMemorySchemaRegistry } from './memory-registry.ts';
export { type Compatibility, HttpSchemaRegistry, type SchemaRegistryApi } from './registry-client.ts';
export * from './types.generated.ts';
