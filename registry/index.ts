/** The model registry: an event-sourced fold over `models.lifecycle`, its rules, queries, writer and follower. */
export { RegistryClient } from './client.ts';
export { type DecideOptions, decide, previousProduction, type RegistryCommand } from './commands.ts';
export { applyEvent, foldEvents } from './fold.ts';
export { RegistryFollower, type StateListener } from './follower.ts';
export { MemoryRegistry } from './memory.ts';
export {
  modelDetail,
  modelSummary,
  productionAt,
  requireModel,
  resolveVersion,
  sortedVersions,
  versionDetail,
} from './queries.ts';
export { checkEvent, compareSemver, isAlias, isModelName, isSemver, legalMove, refusalCode, routedVersions } from './rules.ts';
export * from './types.ts';
export {
  assertApplied,
  type CommandResult,
  type RegisterRequest,
  type RegisterResult,
  type RegistryWriter,
  registrationSpec,
  storeAndRegister,
} from './writer.ts';
