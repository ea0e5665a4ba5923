/**
 * The operations endpoints of a stream service, on their own port (`RHEO_OPS_HOST`:`RHEO_OPS_PORT`):
 *
 * - `GET /healthz` → 200 `{"status":"ok","service":…,"uptime_s":…}` while the process runs;
 * - `GET /readyz` → 200 or 503 with `{"ready":…,"checks":{…}}`, from the readiness it is given;
 * - `GET /metrics` → the service registry's Prometheus text (`registry.contentType`).
 *
 * Any other path is a 404, another method on these paths a 405, both as JSON. A request never makes
 * the server throw: a failing readiness or collector answers 503 or 500. The server logs its URL
 * once (`ops endpoints listening`) and writes nothing to stdout. It also adds `rheo_service_ready`
 * and `rheo_service_start_time_seconds` to the registry, so a scrape sees what `/readyz` says.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { errorMessage } from '../kernel/errors.ts';
import type { Logger } from '../kernel/log.ts';
import { Gauge, type Registry } from '../kernel/metrics.ts';
import { type Environment, int, load, processEnvironment, text, variable } from '../kernel/settings.ts';

export const OPS_SETTINGS = {
  RHEO_OPS_HOST: variable(text(), {
    default: '127.0.0.1',
    description: 'where a stream service (`rheo run`) serves `/healthz`, `/readyz` and `/metrics`, unauthenticated',
  }),
  RHEO_OPS_PORT: variable(int(0, 65535), {
    default: 0,
    description: 'the port of those endpoints; `0` picks a free one, logged as `ops endpoints listening`',
  }),
} as const;

export interface OpsSettings {
  host: string;
  port: number;
}

/** `RHEO_OPS_HOST` and `RHEO_OPS_PORT`, validated (one `CONFIG_INVALID` naming each bad one). */
export function loadOpsSettings(env: Environment = processEnvironment()): OpsSettings {
  const e = load(OPS_SETTINGS, env);
  return { host: e.RHEO_OPS_HOST, port: e.RHEO_OPS_PORT };
}

export interface ReadinessCheck {
  ok: boolean;
  detail?: unknown;
}

/** What `/readyz` answers: ready only when the service says so, with each check it made. */
export interface Readiness {
  ready: boolean;
  checks: Record<string, ReadinessCheck>;
}

export interface OpsServerOptions extends OpsSettings {
  /** The service's name, as `/healthz` reports it. */
  name: string;
  registry: Registry;
  readiness: () => Readiness;
  logger?: Logger;
  /** When the service's process started, for `uptime_s` and the start-time gauge; default now. */
  startedAtMs?: number;
  now?: () => number;
}

export interface OpsServer {
  readonly url: string;
  readonly port: number;
  /** Stops listening and drops open connections; idempotent. */
  close(): Promise<void>;
}

const ROUTES = new Set(['/healthz', '/readyz', '/metrics']);

/** Listens, then resolves; a refused listen (a port in use) rejects with a one-line error carrying the system code. */
export async function startOpsServer(options: OpsServerOptions): Promise<OpsServer> {
  const { name, registry, logger, host } = options;
  const now = options.now ?? Date.now;
  const startedAtMs = options.startedAtMs ?? now();
  const readiness = safeReadiness(options.readiness);
  registerServiceGauges(registry, readiness, startedAtMs);

  // node:http rather than Fastify: three fixed GET routes need no plugins, schemas or hooks, and a
  // stream service should not load a web framework to answer its probes.
  const server = createServer((request, response) => {
    void answer(request, response).catch((error: unknown) => {
      logger?.warn({ err: errorMessage(error), path: request.url }, 'ops request failed');
      if (!response.headersSent) send(response, 500, { error: 'internal error' });
      else response.destroy();
    });
  });

  async function answer(request: IncomingMessage, response: ServerResponse): Promise<void> {
    request.resume(); // a body, if any, is not read
    const path = pathOf(request.url);
    if (path === undefined || !ROUTES.has(path)) return send(response, 404, { error: 'not found', routes: [...ROUTES] });
    if (request.method !== 'GET') {
      response.setHeader('allow', 'GET');
      return send(response, 405, { error: `method ${request.method ?? ''} not allowed`, allow: ['GET'] });
    }
    if (path === '/healthz')
      return send(response, 200, { status: 'ok', service: name, uptime_s: Math.max(0, now() - startedAtMs) / 1000 });
    if (path === '/readyz') {
      const state = readiness();
      return send(response, state.ready ? 200 : 503, state);
    }
    const body = await registry.metrics();
    response.writeHead(200, { 'content-type': registry.contentType, 'cache-control': 'no-store' });
    response.end(body);
  }

  await new Promise<void>((resolve, reject) => {
    const refused = (error: NodeJS.ErrnoException) => reject(listenRefused(error, host, options.port));
    server.once('error', refused);
    server.listen(options.port, host, () => {
      server.off('error', refused);
      resolve();
    });
  });
  server.on('error', (error) => logger?.error({ err: errorMessage(error) }, 'ops server error'));
  const port = (server.address() as AddressInfo).port;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  logger?.info({ url }, 'ops endpoints listening');

  let closed: Promise<void> | undefined;
  return {
    url,
    port,
    close() {
      closed ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closed;
    },
  };
}

/** The registry's `rheo_service_ready` (1/0, read at scrape time) and `rheo_service_start_time_seconds`, unless present. */
function registerServiceGauges(registry: Registry, readiness: () => Readiness, startedAtMs: number): void {
  if (!registry.getSingleMetric('rheo_service_ready'))
    new Gauge({
      name: 'rheo_service_ready',
      help: '1 while the service is ready (what /readyz answers), else 0',
      registers: [registry],
      collect() {
        this.set(readiness().ready ? 1 : 0);
      },
    });
  if (!registry.getSingleMetric('rheo_service_start_time_seconds'))
    new Gauge({
      name: 'rheo_service_start_time_seconds',
      help: 'Unix time the service started, in seconds',
      registers: [registry],
    }).set(startedAtMs / 1000);
}

/** A readiness that never throws: a failing one is a not-ready answer naming the failure. */
function safeReadiness(readiness: () => Readiness): () => Readiness {
  return () => {
    try {
      const state = readiness();
      return { ready: state.ready === true, checks: state.checks ?? {} };
    } catch (error) {
      return { ready: false, checks: { readiness: { ok: false, detail: errorMessage(error) } } };
    }
  };
}

function pathOf(url: string | undefined): string | undefined {
  try {
    return new URL(url ?? '/', 'http://ops.invalid').pathname;
  } catch {
    return undefined;
  }
}

function send(response: ServerResponse, status: number, body: unknown): void {
  // Details come from services: bigints (offsets) are written as strings rather than failing the answer.
  const json = JSON.stringify(body, (_key, value: unknown) => (typeof value === 'bigint' ? String(value) : value));
  response.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  response.end(json);
}

function listenRefused(error: NodeJS.ErrnoException, host: string, port: number): Error {
  const reason = error.code === 'EADDRINUSE' ? 'address already in use' : errorMessage(error);
  return Object.assign(
    new Error(`ops endpoints cannot listen on ${host}:${port}: ${reason} (set RHEO_OPS_PORT to a free port, or 0 for any)`),
    { code: error.code ?? 'LISTEN_FAILED' },
  );
}
