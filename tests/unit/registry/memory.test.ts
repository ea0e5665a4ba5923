/**
 * The in-memory registry writer against the registry's rules: legal commands append events whose fold
 * is its state (what a follower of the same log would see), illegal ones are refused with the
 * catalogue code and append nothing; `register` stores the artifact first; a lost race is reported.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { RheoError } from '../../../kernel/errors.ts';
import { foldEvents } from '../../../registry/fold.ts';
import { MemoryRegistry } from '../../../registry/memory.ts';
import { emptyState, type RegistryState } from '../../../registry/types.ts';
import { assertApplied, type RegisterRequest } from '../../../registry/writer.ts';
import { FileArtifactStore } from '../../../serving/artifacts/fs.ts';
import { FRAUD_FEATURES, fraudModelBytes } from '../../support/models.ts';

const dir = mkdtempSync(join(tmpdir(), 'rheo-memory-registry-'));
const store = new FileArtifactStore(dir);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

function request(version: string): RegisterRequest {
  return {
    model: 'fraud',
    version,
    actor: 'user:a',
    // The fraud model's graph takes [N, 4]: registration checks the declared inputs against it.
    inputs: FRAUD_FEATURES.map((name) => ({ name, type: 'DOUBLE' as const })),
    outputs: [{ name: 'probability', type: 'DOUBLE' }],
    reason: 'unit test',
  };
}

async function refused(registry: MemoryRegistry, run: () => Promise<unknown>): Promise<RheoError> {
  const log = registry.log.length;
  const state = registry.state;
  const error = await run().then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(RheoError);
  // Nothing appended, nothing folded.
  expect(registry.log.length).toBe(log);
  expect(registry.state).toBe(state);
  return error as RheoError;
}

describe('MemoryRegistry', () => {
  it('registers through the store and folds the same events a follower of its log would', async () => {
    const registry = new MemoryRegistry();
    const { events, state } = await registry.register(store, fraudModelBytes(), request('1.0.0'));
    expect(events.map((e) => e.event_type)).toEqual(['REGISTERED']);
    const version = state.models.get('fraud')?.versions.get('1.0.0');
    expect(version?.spec.artifact_uri).toMatch(/\.onnx$/);
    expect(version?.stage).toBe('DEVELOPMENT');
    expect(registry.log[0]?.reason).toBe('unit test');
    await registry.execute({ kind: 'request', model: 'fraud', version: '1.0.0', to: 'PRODUCTION', actor: 'user:a' });
    await registry.execute({ kind: 'approve', model: 'fraud', version: '1.0.0', actor: 'user:b' });
    expect(registry.state.models.get('fraud')?.traffic.production_version).toBe('1.0.0');
    const replayed = foldEvents(registry.log);
    expect(replayed.models.get('fraud')?.versions.get('1.0.0')?.stage).toBe('PRODUCTION');
    expect(replayed.applied).toBe(registry.state.applied);
    expect(registry.state.ignored).toEqual([]);
  });

  it('refuses an illegal transition and emits nothing', async () => {
    const registry = new MemoryRegistry();
    await registry.register(store, fraudModelBytes(), request('1.0.0'));
    const seen: RegistryState[] = [];
    registry.onChange((state) => void seen.push(state));
    // PRODUCTION is protected: no direct stage change without an approved request.
    const direct = await refused(registry, () =>
      registry.execute({ kind: 'stage', model: 'fraud', version: '1.0.0', to: 'PRODUCTION', actor: 'user:a' }),
    );
    expect(direct.code).toBe('ILLEGAL_TRANSITION');
    // The requester cannot approve its own request for a protected stage.
    await registry.execute({ kind: 'request', model: 'fraud', version: '1.0.0', to: 'PRODUCTION', actor: 'user:a' });
    seen.length = 0;
    const self = await refused(registry, () =>
      registry.execute({ kind: 'approve', model: 'fraud', version: '1.0.0', actor: 'user:a' }),
    );
    expect(self.code).toBe('ILLEGAL_TRANSITION');
    // The same version twice.
    const twice = await refused(registry, () => registry.register(store, fraudModelBytes(), request('1.0.0')));
    expect(twice.code).toBe('ILLEGAL_TRANSITION');
    expect(seen).toEqual([]);
  });

  it('answers MODEL_NOT_FOUND for a model that was never registered', async () => {
    const registry = new MemoryRegistry();
    const error = await refused(registry, () => registry.execute({ kind: 'rollback', model: 'nobody', actor: 'user:a' }));
    expect(error.code).toBe('MODEL_NOT_FOUND');
  });

  it('applies its policy: an unprotected production stage needs no approval', async () => {
    const registry = new MemoryRegistry({ protectedStages: [] });
    await registry.register(store, fraudModelBytes(), request('1.0.0'));
    await registry.execute({ kind: 'stage', model: 'fraud', version: '1.0.0', to: 'STAGING', actor: 'user:a' });
    await registry.execute({ kind: 'stage', model: 'fraud', version: '1.0.0', to: 'PRODUCTION', actor: 'user:a' });
    expect(registry.state.models.get('fraud')?.versions.get('1.0.0')?.stage).toBe('PRODUCTION');
  });

  it('tells listeners the new state and the events of each command', async () => {
    const registry = new MemoryRegistry();
    const heard: string[][] = [];
    const unsubscribe = registry.onChange((state, events) => {
      expect(state).toBe(registry.state);
      heard.push(events.map((e) => e.event_type));
    });
    await registry.register(store, fraudModelBytes(), request('1.0.0'));
    unsubscribe();
    await registry.register(store, fraudModelBytes({ bias: 1 }), request('1.1.0'));
    expect(heard).toEqual([['REGISTERED']]);
  });
});

describe('assertApplied', () => {
  it('passes when the fold applied every event of the command, and names the rule of a lost race', async () => {
    const winner = new MemoryRegistry();
    const { events } = await winner.register(store, fraudModelBytes(), request('1.0.0'));
    expect(() => assertApplied(winner.state, events)).not.toThrow();
    // The same event folded onto a state that already holds it (another writer won): ignored by the fold.
    const raced = foldEvents(events, undefined, foldEvents(events, undefined, emptyState()));
    let caught: unknown;
    try {
      assertApplied(raced, events);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(RheoError);
    expect(caught).toMatchObject({ code: 'ILLEGAL_TRANSITION', message: expect.stringMatching(/^a concurrent change won: /) });
  });
});
