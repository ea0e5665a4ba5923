import { describe, expect, it } from 'vitest';
import { RheoError } from '../../../kernel/errors.ts';
import {
  applyEvent,
  compareSemver,
  decide,
  emptyState,
  foldEvents,
  type ModelLifecycleEvent,
  productionAt,
  type RegistryCommand,
  type RegistryState,
  resolveVersion,
} from '../../../registry/index.ts';
import { spec } from '../../support/models.ts';

/** A tiny harness: decide commands against the state and fold their events, with a controllable clock. */
function registry() {
  let clock = 1_000;
  let state: RegistryState = emptyState();
  const log: ModelLifecycleEvent[] = [];
  return {
    get state() {
      return state;
    },
    log,
    tick(ms = 1_000) {
      clock += ms;
      return clock;
    },
    run(command: RegistryCommand): ModelLifecycleEvent[] {
      const events = decide(state, command, { now: () => clock });
      for (const event of events) {
        state = applyEvent(state, event);
        log.push(event);
      }
      return events;
    },
    refuse(command: RegistryCommand): RheoError {
      const before = state;
      try {
        this.run(command);
      } catch (error) {
        expect(state).toBe(before);
        expect(error).toBeInstanceOf(RheoError);
        return error as RheoError;
      }
      throw new Error(`command ${command.kind} was not refused`);
    },
  };
}

const M = 'fraud_detector';

function promote(r: ReturnType<typeof registry>, version: string, requester = 'user:alice', approver = 'user:bob') {
  r.run({ kind: 'request', model: M, version, to: 'PRODUCTION', actor: requester });
  r.tick();
  r.run({ kind: 'approve', model: M, version, actor: approver });
  r.tick();
}

describe('registry fold', () => {
  it('registers versions in DEVELOPMENT and promotes through an approved request', () => {
    const r = registry();
    r.run({ kind: 'register', model: M, version: '1.0.0', actor: 'service:trainer', spec: spec() });
    expect(r.state.models.get(M)?.versions.get('1.0.0')?.stage).toBe('DEVELOPMENT');
    r.run({ kind: 'request', model: M, version: '1.0.0', to: 'STAGING', actor: 'user:alice' });
    // Staging is not protected: the request is carried out at once.
    expect(r.state.models.get(M)?.versions.get('1.0.0')?.stage).toBe('STAGING');
    promote(r, '1.0.0');
    const model = r.state.models.get(M);
    expect(model?.versions.get('1.0.0')?.stage).toBe('PRODUCTION');
    expect(model?.traffic.production_version).toBe('1.0.0');
    expect([...(model?.requests.values() ?? [])].map((q) => q.status)).toEqual(['COMPLETED', 'COMPLETED']);
  });

  it('keeps exactly one production version through promotions and rollbacks', () => {
    const r = registry();
    for (const v of ['1.0.0', '1.1.0', '2.0.0']) r.run({ kind: 'register', model: M, version: v, actor: 'user:a', spec: spec() });
    const productionCount = () =>
      [...(r.state.models.get(M)?.versions.values() ?? [])].filter((v) => v.stage === 'PRODUCTION').length;
    promote(r, '1.0.0');
    expect(productionCount()).toBe(1);
    promote(r, '1.1.0');
    expect(productionCount()).toBe(1);
    expect(r.state.models.get(M)?.versions.get('1.0.0')?.stage).toBe('ARCHIVED');
    r.run({ kind: 'rollback', model: M, actor: 'user:oncall', reason: 'latency' });
    expect(productionCount()).toBe(1);
    expect(r.state.models.get(M)?.traffic.production_version).toBe('1.0.0');
    expect(r.state.models.get(M)?.versions.get('1.1.0')?.stage).toBe('ARCHIVED');
  });

  it('answers which version was in production at time T and who approved it', () => {
    const r = registry();
    r.run({ kind: 'register', model: M, version: '1.0.0', actor: 'user:a', spec: spec() });
    r.run({ kind: 'register', model: M, version: '1.1.0', actor: 'user:a', spec: spec() });
    expect(productionAt(r.state, M, r.tick(0))).toBeUndefined();
    promote(r, '1.0.0', 'user:alice', 'user:bob');
    const t1 = r.tick();
    promote(r, '1.1.0', 'user:carol', 'user:dave');
    const t2 = r.tick();
    r.tick();
    r.run({ kind: 'rollback', model: M, actor: 'user:oncall' });
    const t3 = r.tick();
    expect(productionAt(r.state, M, t1)).toMatchObject({
      version: '1.0.0',
      requestedBy: 'user:alice',
      approvedBy: 'user:bob',
      via: 'promotion',
    });
    expect(productionAt(r.state, M, t2)).toMatchObject({ version: '1.1.0', requestedBy: 'user:carol', approvedBy: 'user:dave' });
    expect(productionAt(r.state, M, t3)).toMatchObject({
      version: '1.0.0',
      via: 'rollback',
      actor: 'user:oncall',
      approvedBy: null,
    });
    expect(productionAt(r.state, M, 0)).toBeUndefined();
  });

  it('rebuilding from the log gives the same state', () => {
    const r = registry();
    r.run({ kind: 'register', model: M, version: '1.0.0', actor: 'user:a', spec: spec() });
    r.run({ kind: 'register', model: M, version: '1.1.0', actor: 'user:a', spec: spec() });
    promote(r, '1.0.0');
    r.run({ kind: 'traffic', model: M, actor: 'user:a', canary: { version: '1.1.0', percent: 10 } });
    r.run({ kind: 'alias', model: M, alias: 'champion', version: '1.0.0', actor: 'user:a' });
    const rebuilt = foldEvents(r.log);
    expect(rebuilt).toEqual(r.state);
    // Replaying the log twice changes nothing: every event is recognised by its id.
    const twice = foldEvents(r.log, undefined, rebuilt);
    expect(twice.models).toEqual(rebuilt.models);
    expect(twice.ignored).toHaveLength(r.log.length);
  });

  it('sets, moves and removes aliases, and resolves them', () => {
    const r = registry();
    r.run({ kind: 'register', model: M, version: '1.0.0', actor: 'user:a', spec: spec() });
    r.run({ kind: 'register', model: M, version: '1.2.0', actor: 'user:a', spec: spec() });
    r.run({ kind: 'alias', model: M, alias: 'challenger', version: '1.2.0', actor: 'user:a' });
    const model = r.state.models.get(M);
    if (!model) throw new Error('no model');
    expect(resolveVersion(model, 'challenger').version).toBe('1.2.0');
    expect(resolveVersion(model, 'latest').version).toBe('1.2.0');
    r.run({ kind: 'alias', model: M, alias: 'challenger', version: null, actor: 'user:a' });
    expect(r.state.models.get(M)?.aliases.has('challenger')).toBe(false);
    expect(r.refuse({ kind: 'alias', model: M, alias: '1.0.0', version: '1.0.0', actor: 'user:a' }).code).toBe(
      'ILLEGAL_TRANSITION',
    );
  });

  it('ignores events the rules refuse, identically for every reader (a lost race)', () => {
    const r = registry();
    r.run({ kind: 'register', model: M, version: '1.0.0', actor: 'user:a', spec: spec() });
    r.run({ kind: 'request', model: M, version: '1.0.0', to: 'PRODUCTION', actor: 'user:alice' });
    // Two approvers decide against the same state; both commands are legal alone.
    const first = decide(r.state, { kind: 'approve', model: M, version: '1.0.0', actor: 'user:bob' });
    const second = decide(r.state, { kind: 'reject', model: M, version: '1.0.0', actor: 'user:carol', reason: 'no' });
    const state = foldEvents([...first, ...second], undefined, r.state);
    expect(state.models.get(M)?.traffic.production_version).toBe('1.0.0');
    expect(state.ignored.map((i) => i.reason)).toEqual([expect.stringMatching(/is completed, not pending/)]);
  });

  it('skips unknown event types', () => {
    const r = registry();
    const [event] = r.run({ kind: 'register', model: M, version: '1.0.0', actor: 'user:a', spec: spec() });
    const unknown = { ...(event as ModelLifecycleEvent), event_id: 'x', event_type: 'UNKNOWN' as const };
    const state = applyEvent(r.state, unknown);
    expect(state.models).toBe(r.state.models);
    expect(state.ignored.at(-1)?.reason).toMatch(/unknown event type/);
  });
});

describe('illegal transitions are refused with a clear error and no event', () => {
  it('promoting an unregistered version', () => {
    const r = registry();
    r.run({ kind: 'register', model: M, version: '1.0.0', actor: 'user:a', spec: spec() });
    const error = r.refuse({ kind: 'request', model: M, version: '9.9.9', to: 'PRODUCTION', actor: 'user:a' });
    expect(error.code).toBe('MODEL_NOT_FOUND');
    expect(error.message).toMatch(/9\.9\.9 is not registered/);
    expect(r.refuse({ kind: 'request', model: 'nope', version: '1.0.0', to: 'STAGING', actor: 'user:a' }).code).toBe(
      'MODEL_NOT_FOUND',
    );
  });

  it('approving twice', () => {
    const r = registry();
    r.run({ kind: 'register', model: M, version: '1.0.0', actor: 'user:a', spec: spec() });
    const [request] = r.run({ kind: 'request', model: M, version: '1.0.0', to: 'PRODUCTION', actor: 'user:alice' });
    r.run({ kind: 'approve', model: M, requestId: request?.event_id as string, actor: 'user:bob' });
    const error = r.refuse({ kind: 'approve', model: M, requestId: request?.event_id as string, actor: 'user:carol' });
    expect(error.code).toBe('ILLEGAL_TRANSITION');
    expect(error.message).toMatch(/is completed, not pending/);
  });

  it('skipping a required approval', () => {
    const r = registry();
    r.run({ kind: 'register', model: M, version: '1.0.0', actor: 'user:a', spec: spec() });
    const error = r.refuse({ kind: 'stage', model: M, version: '1.0.0', to: 'PRODUCTION', actor: 'user:a' });
    expect(error.message).toMatch(/needs an approved transition request/);
    const [request] = r.run({ kind: 'request', model: M, version: '1.0.0', to: 'PRODUCTION', actor: 'user:alice' });
    const pending = r.refuse({
      kind: 'stage',
      model: M,
      version: '1.0.0',
      to: 'PRODUCTION',
      actor: 'user:a',
      requestId: request?.event_id as string,
    });
    expect(pending.message).toMatch(/needs an approval/);
  });

  it('approving one’s own request to a protected stage', () => {
    const r = registry();
    r.run({ kind: 'register', model: M, version: '1.0.0', actor: 'user:a', spec: spec() });
    r.run({ kind: 'request', model: M, version: '1.0.0', to: 'PRODUCTION', actor: 'user:alice' });
    expect(r.refuse({ kind: 'approve', model: M, version: '1.0.0', actor: 'user:alice' }).message).toMatch(/cannot also approve/);
  });

  it('approving with checklist items not done', () => {
    const r = registry();
    r.run({ kind: 'register', model: M, version: '1.0.0', actor: 'user:a', spec: spec() });
    r.run({
      kind: 'request',
      model: M,
      version: '1.0.0',
      to: 'PRODUCTION',
      actor: 'user:alice',
      checklist: ['canary AUC ok', 'model card reviewed'],
    });
    expect(
      r.refuse({ kind: 'approve', model: M, version: '1.0.0', actor: 'user:bob', confirm: ['canary AUC ok'] }).message,
    ).toMatch(/not done: model card reviewed/);
    r.run({ kind: 'approve', model: M, version: '1.0.0', actor: 'user:bob', confirm: true });
    expect(r.state.models.get(M)?.traffic.production_version).toBe('1.0.0');
  });

  it('a second open request, registering twice, bad versions, leaving production directly', () => {
    const r = registry();
    r.run({ kind: 'register', model: M, version: '1.0.0', actor: 'user:a', spec: spec() });
    r.run({ kind: 'request', model: M, version: '1.0.0', to: 'PRODUCTION', actor: 'user:alice' });
    expect(r.refuse({ kind: 'request', model: M, version: '1.0.0', to: 'PRODUCTION', actor: 'user:x' }).message).toMatch(
      /already has an open request/,
    );
    expect(r.refuse({ kind: 'register', model: M, version: '1.0.0', actor: 'user:a', spec: spec() }).message).toMatch(
      /already registered/,
    );
    expect(r.refuse({ kind: 'register', model: M, version: 'v1', actor: 'user:a', spec: spec() }).message).toMatch(
      /not a semantic version/,
    );
    expect(
      r.refuse({ kind: 'register', model: M, version: '2.0.0', actor: 'user:a', spec: spec({ sha256: 'abc' }) }).message,
    ).toMatch(/sha256/);
    r.run({ kind: 'approve', model: M, version: '1.0.0', actor: 'user:bob' });
    expect(r.refuse({ kind: 'archive', model: M, version: '1.0.0', actor: 'user:a' }).message).toMatch(/is in production/);
    expect(r.refuse({ kind: 'rollback', model: M, actor: 'user:a' }).message).toMatch(/no other production version/);
  });

  it('traffic that names unusable versions, and rollbacks to versions never in production', () => {
    const r = registry();
    r.run({ kind: 'register', model: M, version: '1.0.0', actor: 'user:a', spec: spec() });
    r.run({ kind: 'register', model: M, version: '1.1.0', actor: 'user:a', spec: spec() });
    expect(r.refuse({ kind: 'traffic', model: M, actor: 'user:a', canary: { version: '1.1.0', percent: 5 } }).message).toMatch(
      /no production version/,
    );
    promote(r, '1.0.0');
    expect(r.refuse({ kind: 'traffic', model: M, actor: 'user:a', canary: { version: '1.0.0', percent: 5 } }).message).toMatch(
      /already the production/,
    );
    expect(r.refuse({ kind: 'traffic', model: M, actor: 'user:a', canary: { version: '1.1.0', percent: 150 } }).message).toMatch(
      /percent/,
    );
    expect(r.refuse({ kind: 'traffic', model: M, actor: 'user:a', ab: { version: '3.0.0', percent: 50 } }).code).toBe(
      'MODEL_NOT_FOUND',
    );
    expect(r.refuse({ kind: 'rollback', model: M, actor: 'user:a', to: '1.1.0' }).message).toMatch(/never in production/);
    r.run({ kind: 'traffic', model: M, actor: 'user:a', shadow: ['1.1.0'] });
    expect(r.refuse({ kind: 'archive', model: M, version: '1.1.0', actor: 'user:a' }).message).toMatch(/still takes traffic/);
  });
});

describe('semantic versions', () => {
  it('orders numerically with pre-releases first', () => {
    const sorted = ['1.10.0', '1.2.0', '1.2.0-rc.1', '1.2.0-alpha', '0.9.9', '2.0.0'].sort(compareSemver);
    expect(sorted).toEqual(['0.9.9', '1.2.0-alpha', '1.2.0-rc.1', '1.2.0', '1.10.0', '2.0.0']);
  });
});
