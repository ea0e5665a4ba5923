/**
 * The registry writer without Kafka: the same `decide`, `foldEvents` and own-events check as
 * `RegistryClient`, with an array for `models.lifecycle`. For tests and broker-free runs (the trainer's
 * unit tests, the gateway's inject tests, the scoring tests); its `log` is what the real writer would
 * have produced, and `onChange` tells listeners as a follower would.
 */
import type { ModelLifecycleEvent } from '../schemas/index.ts';
import type { ArtifactStore } from '../serving/artifacts/store.ts';
import { decide, type RegistryCommand } from './commands.ts';
import { foldEvents } from './fold.ts';
import { DEFAULT_POLICY, emptyState, type RegistryPolicy, type RegistryState } from './types.ts';
import {
  assertApplied,
  type CommandResult,
  type RegisterRequest,
  type RegisterResult,
  type RegistryWriter,
  storeAndRegister,
} from './writer.ts';

export class MemoryRegistry implements RegistryWriter {
  readonly #policy: RegistryPolicy;
  readonly #listeners = new Set<(state: RegistryState, events: readonly ModelLifecycleEvent[]) => void>();
  #state: RegistryState = emptyState();
  /** Every event appended, in order: the log a follower would fold. */
  readonly log: ModelLifecycleEvent[] = [];

  constructor(policy: RegistryPolicy = DEFAULT_POLICY) {
    this.#policy = policy;
  }

  get state(): RegistryState {
    return this.#state;
  }

  onChange(listener: (state: RegistryState, events: readonly ModelLifecycleEvent[]) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  async execute(command: RegistryCommand): Promise<CommandResult> {
    // A refused command throws here, before anything is appended.
    const events = decide(this.#state, command, { policy: this.#policy });
    this.log.push(...events);
    this.#state = foldEvents(events, this.#policy, this.#state);
    for (const listener of this.#listeners) listener(this.#state, events);
    assertApplied(this.#state, events);
    return { events, state: this.#state };
  }

  register(store: ArtifactStore, bytes: Uint8Array, request: RegisterRequest): Promise<RegisterResult> {
    return storeAndRegister(this, store, bytes, request);
  }
}
