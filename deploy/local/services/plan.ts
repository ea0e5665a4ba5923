/**
 * What `rheo up` runs (pure): one list of members — the gateway, then every stream service of
 * `rheo run` (cli/commands/run.ts `SERVICES`, read by the caller), each `--scale` times — with the
 * port each answers `/healthz`, `/readyz` and `/metrics` on, its command line after the CLI entry
 * and the environment it gets on top of the supervisor's. A scaled service's members share the
 * service's consumer group and get distinct ports: `materializer-1`, `materializer-2`.
 *
 * Ports: the gateway's is `RHEO_GATEWAY_PORT` (8080); the stream members' ops ports count up from
 * `RHEO_SERVICES_PORT_BASE` (19400, shifted by `RHEO_STACK_PORT_OFFSET` like the stack's own ports).
 */
import type { LocalPorts, RheoConfig } from '../../../kernel/config.ts';
import { STACK_SETTINGS } from '../../../kernel/config.ts';
import { type Environment, int, load, optional, processEnvironment } from '../../../kernel/settings.ts';

/** The member that is not a `rheo run` service. */
export const GATEWAY = 'gateway';

export const DEFAULT_PORT_BASE = 19_400;

/** Most members one service may have. */
export const MAX_SCALE = 16;

export const SERVICES_SETTINGS = {
  RHEO_SERVICES_PORT_BASE: optional(int(1024, 65_000), {
    description: 'first ops port of the stream services `rheo up` runs (one port per member, counting up)',
    documentedDefault: '19400 + RHEO_STACK_PORT_OFFSET',
  }),
} as const;

/** The first ops port: `RHEO_SERVICES_PORT_BASE`, else 19400 shifted by `RHEO_STACK_PORT_OFFSET`. */
export function servicesPortBase(env: Environment = processEnvironment()): number {
  return (
    load(SERVICES_SETTINGS, env).RHEO_SERVICES_PORT_BASE ?? DEFAULT_PORT_BASE + load(STACK_SETTINGS, env).RHEO_STACK_PORT_OFFSET
  );
}

/** A refused plan (a bad `--scale`, ports out of range): the message says what to change. */
export class PlanError extends Error {
  override name = 'PlanError';
}

export type StartFrom = 'earliest' | 'latest';

export interface MemberPlan {
  /** Unique: the service's name, or `<service>-<i>` when it runs more than once. */
  name: string;
  service: string;
  /** Where `/healthz`, `/readyz` and `/metrics` answer: the gateway's port, or the member's `RHEO_OPS_PORT`. */
  port: number;
  /** The CLI arguments after the entry: `gateway --port …` or `run <service> --from … --project …`. */
  args: string[];
  /** Set on top of the supervisor's environment. */
  env: Record<string, string>;
}

export interface ServicesPlan {
  /** The project folder, absolute. */
  project: string;
  from: StartFrom;
  members: MemberPlan[];
}

/**
 * `--scale name=N` values as counts by service. Refuses an unknown service, the gateway above 1, a
 * count that is not an integer from 1 to MAX_SCALE, a malformed or a repeated entry.
 */
export function parseScale(values: readonly string[], services: readonly string[]): Record<string, number> {
  const scale: Record<string, number> = {};
  for (const value of values) {
    const match = /^([^=\s]+)=(.*)$/.exec(value.trim());
    if (!match) throw new PlanError(`--scale ${value}: expected <service>=<count>, e.g. materializer=2`);
    const [, name = '', countText = ''] = match;
    if (name === GATEWAY) {
      if (countText !== '1') throw new PlanError(`--scale ${value}: the gateway runs once (it owns RHEO_GATEWAY_PORT)`);
      continue;
    }
    if (!services.includes(name)) throw new PlanError(`--scale ${value}: no service "${name}"; one of: ${services.join(', ')}`);
    const count = /^\d+$/.test(countText) ? Number(countText) : Number.NaN;
    if (!Number.isInteger(count) || count < 1 || count > MAX_SCALE)
      throw new PlanError(`--scale ${value}: the count must be an integer from 1 to ${MAX_SCALE} (rheo up runs every service)`);
    if (Object.hasOwn(scale, name)) throw new PlanError(`--scale ${name} is given more than once`);
    scale[name] = count;
  }
  return scale;
}

export interface PlanInput {
  /** The stream services in the order they start (the keys of `SERVICES`). */
  services: readonly string[];
  scale: Readonly<Record<string, number>>;
  /** The project folder, absolute. */
  project: string;
  from: StartFrom;
  gatewayPort: number;
  portBase: number;
}

/** The members' names in the order they start: the gateway, then each service's (`<service>-<i>` when scaled). */
export function memberNames(services: readonly string[], scale: Readonly<Record<string, number>>): string[] {
  return [GATEWAY, ...services.flatMap((s) => nameMembers(s, scale[s] ?? 1))];
}

function nameMembers(service: string, count: number): string[] {
  return count > 1 ? Array.from({ length: count }, (_, i) => `${service}-${i + 1}`) : [service];
}

/** The gateway first, then each service's members, ops ports counting up from `portBase`. */
export function planServices(input: PlanInput): ServicesPlan {
  if (input.gatewayPort === 0)
    throw new PlanError('RHEO_GATEWAY_PORT is 0 (any free port), which rheo up cannot probe; set a port');
  const members: MemberPlan[] = [
    {
      name: GATEWAY,
      service: GATEWAY,
      port: input.gatewayPort,
      args: ['gateway', '--port', String(input.gatewayPort), '--project', input.project],
      env: {},
    },
  ];
  let port = input.portBase;
  for (const service of input.services) {
    for (const name of nameMembers(service, input.scale[service] ?? 1)) {
      if (port === input.gatewayPort) port++;
      if (port > 65_535) throw new PlanError(`ops ports from ${input.portBase} run past 65535; lower RHEO_SERVICES_PORT_BASE`);
      members.push({
        name,
        service,
        port,
        args: ['run', service, '--from', input.from, '--project', input.project],
        env: { RHEO_OPS_HOST: '127.0.0.1', RHEO_OPS_PORT: String(port) },
      });
      port++;
    }
  }
  return { project: input.project, from: input.from, members };
}

/** The members a name means: the member of that name, else every member of that service. */
export function membersNamed<M extends { name: string; service: string }>(members: readonly M[], target: string): M[] {
  const exact = members.filter((m) => m.name === target);
  return exact.length > 0 ? exact : members.filter((m) => m.service === target);
}

/**
 * Whether the configured endpoints are the local stack's (`rheo stack env`): every broker, the
 * registry, Redis and ClickHouse on loopback at the stack's ports. `elsewhere` names those that are not.
 */
export function localStackCheck(config: RheoConfig, ports: LocalPorts): { local: boolean; elsewhere: string[] } {
  const elsewhere: string[] = [];
  const brokers = new Set(ports.kafka.map(String));
  for (const broker of config.kafka.brokers) {
    const [host, port] = splitHostPort(broker);
    if (!isLoopback(host) || !brokers.has(port)) elsewhere.push(`RHEO_KAFKA_BROKERS (${broker})`);
  }
  const check = (name: string, value: string, port: number) => {
    const url = parseUrl(value);
    if (!url || !isLoopback(url.hostname) || effectivePort(url) !== String(port)) elsewhere.push(`${name} (${value})`);
  };
  check('RHEO_SCHEMA_REGISTRY_URL', config.registry.url, ports.registry);
  check('RHEO_REDIS_URL', config.redis.url, ports.redis);
  check('RHEO_CLICKHOUSE_URL', config.clickhouse.url, ports.clickhouseHttp);
  return { local: elsewhere.length === 0, elsewhere };
}

function splitHostPort(address: string): [string, string] {
  const at = address.lastIndexOf(':');
  return at < 0 ? [address, ''] : [address.slice(0, at).replace(/^\[|\]$/g, ''), address.slice(at + 1)];
}

function parseUrl(value: string): URL | undefined {
  try {
    return new URL(value);
  } catch {
    return undefined;
  }
}

function effectivePort(url: URL): string {
  if (url.port) return url.port;
  return url.protocol === 'https:' ? '443' : url.protocol === 'http:' ? '80' : '';
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host === '[::1]' || /^127\./.test(host);
}
