import { describe, expect, it } from 'vitest';
import {
  DEFAULT_PORT_BASE,
  localStackCheck,
  memberNames,
  membersNamed,
  PlanError,
  parseScale,
  planServices,
  servicesPortBase,
} from '../../../../../deploy/local/services/plan.ts';
import { loadConfig, localPorts } from '../../../../../kernel/config.ts';

const SERVICES = ['materializer', 'archiver', 'scorer'];

function refusal(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    if (error instanceof PlanError) return error.message;
    throw error;
  }
  throw new Error('expected a PlanError');
}

describe('parseScale', () => {
  it('reads name=N per service, the gateway at 1 allowed', () => {
    expect(parseScale(['materializer=2', 'scorer=3', 'gateway=1'], SERVICES)).toEqual({ materializer: 2, scorer: 3 });
    expect(parseScale([], SERVICES)).toEqual({});
  });

  it('refuses an unknown service, naming the known ones', () => {
    expect(refusal(() => parseScale(['nope=2'], SERVICES))).toBe(
      '--scale nope=2: no service "nope"; one of: materializer, archiver, scorer',
    );
  });

  it('refuses a count of 0, a negative, a fraction, text and too many', () => {
    for (const bad of [
      'materializer=0',
      'materializer=-1',
      'materializer=1.5',
      'materializer=two',
      'materializer=17',
      'materializer=',
    ])
      expect(refusal(() => parseScale([bad], SERVICES))).toBe(
        `--scale ${bad}: the count must be an integer from 1 to 16 (rheo up runs every service)`,
      );
  });

  it('refuses a malformed entry, a repeated service and a scaled gateway', () => {
    expect(refusal(() => parseScale(['materializer'], SERVICES))).toContain('expected <service>=<count>');
    expect(refusal(() => parseScale(['materializer=2', 'materializer=3'], SERVICES))).toBe(
      '--scale materializer is given more than once',
    );
    expect(refusal(() => parseScale(['gateway=2'], SERVICES))).toContain('the gateway runs once');
  });
});

describe('planServices', () => {
  const base = { services: SERVICES, project: '/p', from: 'earliest' as const, gatewayPort: 8080, portBase: 19400 };

  it('runs the gateway, then each service once, ops ports counting up from the base', () => {
    const plan = planServices({ ...base, scale: {} });
    expect(plan.members.map((m) => [m.name, m.service, m.port])).toEqual([
      ['gateway', 'gateway', 8080],
      ['materializer', 'materializer', 19400],
      ['archiver', 'archiver', 19401],
      ['scorer', 'scorer', 19402],
    ]);
    expect(plan.members[0]).toMatchObject({ args: ['gateway', '--port', '8080', '--project', '/p'], env: {} });
    expect(plan.members[2]).toMatchObject({
      args: ['run', 'archiver', '--from', 'earliest', '--project', '/p'],
      env: { RHEO_OPS_HOST: '127.0.0.1', RHEO_OPS_PORT: '19401' },
    });
  });

  it('names the members of a scaled service -1, -2 and gives each its own port, in one consumer group', () => {
    const plan = planServices({ ...base, scale: { materializer: 2 }, from: 'latest' });
    const materializers = plan.members.filter((m) => m.service === 'materializer');
    expect(materializers.map((m) => [m.name, m.port])).toEqual([
      ['materializer-1', 19400],
      ['materializer-2', 19401],
    ]);
    // Same arguments (no --group-id): both join the service's own group.
    expect(materializers[0]?.args).toEqual(materializers[1]?.args);
    expect(materializers[0]?.args).toContain('latest');
    expect(plan.members.map((m) => m.name)).toEqual(memberNames(SERVICES, { materializer: 2 }));
    expect(new Set(plan.members.map((m) => m.port)).size).toBe(plan.members.length);
  });

  it('skips the gateway port inside the ops range, and refuses port 0 and ports past 65535', () => {
    const plan = planServices({ ...base, scale: {}, gatewayPort: 19401 });
    expect(plan.members.map((m) => m.port)).toEqual([19401, 19400, 19402, 19403]);
    expect(refusal(() => planServices({ ...base, scale: {}, gatewayPort: 0 }))).toContain('RHEO_GATEWAY_PORT is 0');
    expect(refusal(() => planServices({ ...base, scale: { scorer: 3 }, portBase: 65_533 }))).toContain('run past 65535');
  });

  it('finds members by their name or by their service', () => {
    const { members } = planServices({ ...base, scale: { materializer: 2 } });
    expect(membersNamed(members, 'materializer').map((m) => m.name)).toEqual(['materializer-1', 'materializer-2']);
    expect(membersNamed(members, 'materializer-2').map((m) => m.name)).toEqual(['materializer-2']);
    expect(membersNamed(members, 'archiver').map((m) => m.name)).toEqual(['archiver']);
    expect(membersNamed(members, 'nope')).toEqual([]);
  });
});

describe('servicesPortBase', () => {
  it('is 19400 shifted by the stack offset, unless RHEO_SERVICES_PORT_BASE says', () => {
    expect(servicesPortBase({})).toBe(DEFAULT_PORT_BASE);
    expect(servicesPortBase({ RHEO_STACK_PORT_OFFSET: '100' })).toBe(19_500);
    expect(servicesPortBase({ RHEO_STACK_PORT_OFFSET: '100', RHEO_SERVICES_PORT_BASE: '21000' })).toBe(21_000);
    expect(() => servicesPortBase({ RHEO_SERVICES_PORT_BASE: '80' })).toThrow(/RHEO_SERVICES_PORT_BASE/);
  });
});

describe('localStackCheck', () => {
  it("is local for the stack's own endpoints (1 or 3 brokers, shifted ports too)", () => {
    expect(localStackCheck(loadConfig({}), localPorts(0))).toEqual({ local: true, elsewhere: [] });
    const three = loadConfig({ RHEO_KAFKA_BROKERS: '127.0.0.1:19092,127.0.0.1:19094,localhost:19096' });
    expect(localStackCheck(three, localPorts(0)).local).toBe(true);
    expect(localStackCheck(loadConfig({ RHEO_STACK_PORT_OFFSET: '7' }), localPorts(7)).local).toBe(true);
  });

  it('names every endpoint that points elsewhere', () => {
    const config = loadConfig({ RHEO_KAFKA_BROKERS: 'kafka.prod:9092', RHEO_REDIS_URL: 'redis://127.0.0.1:6379/0' });
    expect(localStackCheck(config, localPorts(0))).toEqual({
      local: false,
      elsewhere: ['RHEO_KAFKA_BROKERS (kafka.prod:9092)', 'RHEO_REDIS_URL (redis://127.0.0.1:6379/0)'],
    });
  });
});
