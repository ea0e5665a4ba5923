/** A registry writer without Kafka, for unit tests: decides commands and folds their events in memory. */
import { RheoError } from '../../kernel/errors.ts';
import type { CommandResult, RegisterRequest } from '../../registry/client.ts';
import { registrationSpec } from '../../registry/client.ts';
import { decide, type RegistryCommand } from '../../registry/commands.ts';
import { applyEvent } from '../../registry/fold.ts';
import { emptyState, type RegistryState } from '../../registry/types.ts';
import type { ModelLifecycleEvent } from '../../schemas/index.ts';
import type { ArtifactStore } from '../../serving/artifacts/store.ts';

export class MemoryRegistry {
  state: RegistryState = emptyState();
  readonly log: ModelLifecycleEvent[] = [];
  readonly #listeners = new Set<(state: RegistryState) => void>();
  readonly caughtUp = true;
  readonly position = 0n;

  onChange(listener: (state: RegistryState) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  async execute(command: RegistryCommand): Promise<CommandResult> {
    const events = decide(this.state, command);
    for (const event of events) {
      this.state = applyEvent(this.state, event);
      this.log.push(event);
    }
    const lost = this.state.ignored.find((i) => events.some((e) => e.event_id === i.eventId));
    if (lost) throw new RheoError('ILLEGAL_TRANSITION', lost.reason);
    for (const listener of this.#listeners) listener(this.state);
    return { events, state: this.state };
  }

  async register(store: ArtifactStore, bytes: Uint8Array, request: RegisterRequest): Promise<CommandResult> {
    const artifact = await store.put(bytes);
    return this.execute({
      kind: 'register',
      model: request.model,
      version: request.version,
      actor: request.actor,
      spec: registrationSpec(artifact, request),
    });
  }
}
