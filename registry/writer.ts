/**
 * The registry's write side as one interface, and the parts every writer shares. A writer decides a
 * command against its folded state (`decide`, which refuses an illegal one before any event exists),
 * appends the events, folds them (`foldEvents`) and checks its own events were applied — so the
 * caller gets the state that includes its decision, or the refusal of a concurrent change that won.
 * `RegistryClient` does this through `models.lifecycle`; `MemoryRegistry` (registry/memory.ts) in
 * memory, with the same rules and fold. Registering a version (check the ONNX graph against the
 * declared inputs and outputs, store the artifact, then the REGISTERED command) is written once here,
 * for both, so the CLI, the gateway's register route and the trainer refuse the same misfits.
 */
import { RheoError } from '../kernel/errors.ts';
import type { ModelInput, ModelLifecycleEvent, ModelOutput, ModelVersionRegistered } from '../schemas/index.ts';
import type { ArtifactStore } from '../serving/artifacts/store.ts';
import { checkRegistration, type ScoringOutput } from '../serving/onnx/inspect.ts';
import type { RegistryCommand } from './commands.ts';
import { refusalCode } from './rules.ts';
import type { RegistryState } from './types.ts';

/** What `register` needs besides the artifact bytes; everything else gets a sensible default. */
export interface RegisterRequest {
  model: string;
  version: string;
  actor: string;
  inputs: Array<Pick<ModelInput, 'name' | 'type'> & { feature_group?: string | null }>;
  outputs: ModelOutput[];
  metrics?: Record<string, number>;
  params?: ModelVersionRegistered['params'];
  lineage?: Partial<ModelVersionRegistered['lineage']>;
  baseline?: ModelVersionRegistered['baseline'];
  modelCard?: string;
  createdTime?: number;
  reason?: string;
}

export interface CommandResult {
  events: ModelLifecycleEvent[];
  state: RegistryState;
}

/** A registration's result: the command's, and the graph output the version will be scored from. */
export interface RegisterResult extends CommandResult {
  scoring: ScoringOutput;
}

/** The registry's write side: what the gateway's management routes and the trainer need. */
export interface RegistryWriter {
  /** The folded state, including every command this writer carried out. */
  readonly state: RegistryState;
  /** Decides, appends and folds a command. Throws (appending nothing) when it breaks a rule. */
  execute(command: RegistryCommand): Promise<CommandResult>;
  /** Checks the graph against the declared interface, stores the artifact (content-addressed) and registers the version pointing at it. */
  register(store: ArtifactStore, bytes: Uint8Array, request: RegisterRequest): Promise<RegisterResult>;
}

/**
 * `register` for any writer. The ONNX graph is checked against the declared inputs and outputs
 * first (MODEL_INVALID naming the graph's real outputs, nothing stored), then the artifact goes to
 * the store, so the REGISTERED event can point at it.
 */
export async function storeAndRegister(
  writer: Pick<RegistryWriter, 'execute'>,
  store: ArtifactStore,
  bytes: Uint8Array,
  request: RegisterRequest,
): Promise<RegisterResult> {
  let scoring: ScoringOutput;
  try {
    scoring = await checkRegistration(bytes, request);
  } catch (error) {
    if (error instanceof RheoError)
      throw new RheoError(error.code, `${request.model}@${request.version}: ${error.message}`, {
        cause: error,
        ...(error.details ? { details: error.details } : {}),
      });
    throw error;
  }
  const artifact = await store.put(bytes, { extension: '.onnx' });
  const result = await writer.execute({
    kind: 'register',
    model: request.model,
    version: request.version,
    actor: request.actor,
    spec: registrationSpec(artifact, request),
    ...(request.reason ? { reason: request.reason } : {}),
  });
  return { ...result, scoring };
}

/** Throws when the fold ignored one of a command's own events: a concurrent change won the race. */
export function assertApplied(state: RegistryState, events: readonly ModelLifecycleEvent[]): void {
  const lost = state.ignored.find((i) => events.some((e) => e.event_id === i.eventId));
  if (lost) throw new RheoError(refusalCode(lost.reason), `a concurrent change won: ${lost.reason}`);
}

/** The REGISTERED section for an artifact already stored. */
export function registrationSpec(
  artifact: { uri: string; sha256: string; size: number },
  request: RegisterRequest,
): ModelVersionRegistered {
  const lineage = request.lineage ?? {};
  return {
    framework: 'onnx',
    artifact_uri: artifact.uri,
    sha256: artifact.sha256,
    size_bytes: artifact.size,
    inputs: request.inputs.map((i) => ({ name: i.name, type: i.type, feature_group: i.feature_group ?? null })),
    outputs: request.outputs,
    metrics: request.metrics ?? {},
    params: request.params ?? {},
    lineage: {
      run_id: lineage.run_id ?? null,
      training_set_query: lineage.training_set_query ?? 'uploaded',
      training_set_hash: lineage.training_set_hash ?? '',
      row_count: lineage.row_count ?? 0,
      data_start: lineage.data_start ?? null,
      data_end: lineage.data_end ?? null,
      parent_version: lineage.parent_version ?? null,
      code_version: lineage.code_version ?? null,
      seed: lineage.seed ?? null,
    },
    baseline: request.baseline ?? { features: [], prediction: null },
    model_card: request.modelCard ?? '',
    author: request.actor,
    created_time: request.createdTime ?? Date.now(),
  };
}
