/**
 * What the model-management plugins share: the schema fragments every write route validates with
 * (versions, reasons), the scopes, and the one way a write reaches the registry — a registry command
 * decided against the folded log and read back before the answer — plus the shape of that answer.
 * Each plugin keeps the rest of its route schemas next to its routes.
 */
import type { FastifyInstance } from 'fastify';
import { RheoError } from '../../kernel/errors.ts';
import type { RegistryCommand } from '../../registry/commands.ts';
import { modelSummary, requireModel } from '../../registry/queries.ts';
import type { ModelLifecycleEvent } from '../../schemas/index.ts';
import type { GatewayServices } from '../types.ts';

/** What every model-management plugin needs registered before it: error answers and the access hook (scopes, `request.actor`). */
export const MODEL_PLUGIN_DEPENDENCIES = ['rheo-errors', 'rheo-access'];

export const tags = ['models'];
export const semver = { type: 'string', minLength: 5, maxLength: 64 };
export const reason = { type: 'string', maxLength: 2000 };

/** Reads need a `predict` key, writes an `admin` key. */
export const readAccess = { config: { access: 'predict' as const } };
export const writeAccess = { config: { access: 'admin' as const } };

/** The registry writer; a gateway that runs read-only refuses every write. */
export function registryWriter(app: FastifyInstance): NonNullable<GatewayServices['registry']> {
  const registry = app.rheo.registry;
  if (!registry) throw new RheoError('MODEL_NOT_SERVING', 'this gateway runs without registry write access');
  return registry;
}

/** The events a write produced, as the answer lists them. */
export function eventSummaries(events: readonly ModelLifecycleEvent[]) {
  return events.map((e) => ({ event_id: e.event_id, event_type: e.event_type, event_time: e.event_time }));
}

/** Runs one registry command and answers with its events and the model as it now stands. */
export async function executeCommand(app: FastifyInstance, command: RegistryCommand) {
  const { events, state } = await registryWriter(app).execute(command);
  return { events: eventSummaries(events), model: modelSummary(requireModel(state, command.model)) };
}
