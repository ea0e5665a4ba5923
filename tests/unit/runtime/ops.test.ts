import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { RheoError } from '../../../kernel/errors.ts';
import { createLogger } from '../../../kernel/log.ts';
import { Counter, createRegistry } from '../../../kernel/metrics.ts';
import { loadOpsSettings, type OpsServer, type Readiness, startOpsServer } from '../../../runtime/ops.ts';

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One request with node:http (fetch would hide a HEAD/odd-method answer's details). */
function call(url: string, path: string, method = 'GET'): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}${path}`, { method }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

function captured() {
  const lines: Array<Record<string, unknown>> = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { lines, logger: createLogger('ops-test', { level: 'info', destination }) };
}

const servers: OpsServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function start(readiness: () => Readiness, extra: { now?: () => number; startedAtMs?: number } = {}) {
  const registry = createRegistry('ops-test', { defaultMetrics: false });
  const records = new Counter({ name: 'rheo_processor_records_in_total', help: 'records', registers: [registry] });
  records.inc(3);
  const log = captured();
  const server = await startOpsServer({
    name: 'fake',
    host: '127.0.0.1',
    port: 0,
    registry,
    readiness,
    logger: log.logger,
    ...extra,
  });
  servers.push(server);
  return { server, registry, log };
}

describe('ops settings', () => {
  it('default to loopback and an ephemeral port, and refuse a bad port', () => {
    expect(loadOpsSettings({})).toEqual({ host: '127.0.0.1', port: 0 });
    expect(loadOpsSettings({ RHEO_OPS_HOST: '0.0.0.0', RHEO_OPS_PORT: '9464' })).toEqual({ host: '0.0.0.0', port: 9464 });
    for (const bad of ['70000', '-1', 'http'])
      expect(() => loadOpsSettings({ RHEO_OPS_PORT: bad })).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }));
    expect(() => loadOpsSettings({ RHEO_OPS_PORT: 'x' })).toThrow(RheoError);
  });
});

describe('ops server', () => {
  it('answers /healthz with the service and its uptime, and logs its URL once', async () => {
    let clock = 10_000;
    const { server, log } = await start(() => ({ ready: false, checks: {} }), { startedAtMs: 10_000, now: () => clock });
    expect(server.url).toBe(`http://127.0.0.1:${server.port}`);
    expect(server.port).toBeGreaterThan(0);
    clock = 12_500;
    const answer = await call(server.url, '/healthz');
    expect(answer.status).toBe(200);
    expect(answer.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(JSON.parse(answer.body)).toEqual({ status: 'ok', service: 'fake', uptime_s: 2.5 });
    const listening = log.lines.filter((l) => l.msg === 'ops endpoints listening');
    expect(listening).toHaveLength(1);
    expect(listening[0]?.url).toBe(server.url);
  });

  it('answers /readyz 503 or 200 as readiness flips, with its checks', async () => {
    let state: Readiness = { ready: false, checks: { lifecycle: { ok: false, detail: 'starting' } } };
    const { server } = await start(() => state);
    let answer = await call(server.url, '/readyz');
    expect(answer.status).toBe(503);
    expect(JSON.parse(answer.body)).toEqual({ ready: false, checks: { lifecycle: { ok: false, detail: 'starting' } } });

    state = { ready: true, checks: { group: { ok: true, detail: { member: 'm-1', offset: 42n } } } };
    answer = await call(server.url, '/readyz');
    expect(answer.status).toBe(200);
    // A bigint in a detail is written as a string rather than failing the answer.
    expect(JSON.parse(answer.body)).toEqual({
      ready: true,
      checks: { group: { ok: true, detail: { member: 'm-1', offset: '42' } } },
    });

    state = { ready: false, checks: { lifecycle: { ok: false, detail: 'stopping' } } };
    expect((await call(server.url, '/readyz')).status).toBe(503);
    expect((await call(server.url, '/healthz')).status).toBe(200);
  });

  it('answers 503 naming the failure when readiness throws', async () => {
    const { server } = await start(() => {
      throw new Error('host gone');
    });
    const answer = await call(server.url, '/readyz');
    expect(answer.status).toBe(503);
    expect(JSON.parse(answer.body)).toEqual({ ready: false, checks: { readiness: { ok: false, detail: 'host gone' } } });
    expect((await call(server.url, '/healthz')).status).toBe(200);
  });

  it('serves the registry as Prometheus text, with the service gauges', async () => {
    let ready = false;
    const { server, registry } = await start(() => ({ ready, checks: {} }), { startedAtMs: 1_700_000_000_000 });
    let answer = await call(server.url, '/metrics');
    expect(answer.status).toBe(200);
    expect(answer.headers['content-type']).toBe(registry.contentType);
    expect(answer.body).toContain('rheo_processor_records_in_total{service="ops-test"} 3');
    expect(answer.body).toContain('rheo_service_ready{service="ops-test"} 0');
    expect(answer.body).toContain('rheo_service_start_time_seconds{service="ops-test"} 1700000000');
    ready = true;
    answer = await call(server.url, '/metrics');
    expect(answer.body).toContain('rheo_service_ready{service="ops-test"} 1');
  });

  it('keeps gauges a registry already has (a second server on one registry does not throw)', async () => {
    const { registry } = await start(() => ({ ready: true, checks: {} }));
    const again = await startOpsServer({
      name: 'fake',
      host: '127.0.0.1',
      port: 0,
      registry,
      readiness: () => ({ ready: true, checks: {} }),
    });
    servers.push(again);
    expect((await call(again.url, '/metrics')).body).toContain('rheo_service_ready{service="ops-test"} 1');
  });

  it('answers 500 when a collector fails, and goes on serving', async () => {
    const { server, registry } = await start(() => ({ ready: true, checks: {} }));
    new Counter({
      name: 'rheo_broken_total',
      help: 'fails to collect',
      registers: [registry],
      collect() {
        throw new Error('collector broke');
      },
    });
    let answer = await call(server.url, '/metrics');
    expect(answer.status).toBe(500);
    expect(JSON.parse(answer.body)).toEqual({ error: 'internal error' });
    registry.removeSingleMetric('rheo_broken_total');
    answer = await call(server.url, '/metrics');
    expect(answer.status).toBe(200);
  });

  it('answers other paths 404 and other methods 405, as JSON', async () => {
    const { server } = await start(() => ({ ready: true, checks: {} }));
    for (const path of ['/', '/nope', '/healthz/extra', '/metrics.json']) {
      const answer = await call(server.url, path);
      expect(answer.status, path).toBe(404);
      expect(answer.headers['content-type']).toBe('application/json; charset=utf-8');
      expect(JSON.parse(answer.body)).toMatchObject({ error: 'not found' });
    }
    // A query string does not change the route.
    expect((await call(server.url, '/healthz?verbose=1')).status).toBe(200);
    for (const method of ['POST', 'PUT', 'DELETE', 'HEAD']) {
      const answer = await call(server.url, '/readyz', method);
      expect(answer.status, method).toBe(405);
      expect(answer.headers.allow).toBe('GET');
      if (method !== 'HEAD') expect(JSON.parse(answer.body)).toMatchObject({ allow: ['GET'] });
    }
  });

  it('refuses a port in use with one line carrying the code, and closes idempotently', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const port = (taken.address() as AddressInfo).port;
    try {
      const registry = createRegistry('ops-test', { defaultMetrics: false });
      const refusal = await startOpsServer({
        name: 'fake',
        host: '127.0.0.1',
        port,
        registry,
        readiness: () => ({ ready: true, checks: {} }),
      }).catch((error: unknown) => error as Error & { code?: string });
      expect(refusal).toBeInstanceOf(Error);
      expect((refusal as { code?: string }).code).toBe('EADDRINUSE');
      expect((refusal as Error).message).toBe(
        `ops endpoints cannot listen on 127.0.0.1:${port}: address already in use (set RHEO_OPS_PORT to a free port, or 0 for any)`,
      );
      expect((refusal as Error).message).not.toContain('\n');
    } finally {
      await new Promise((resolve) => taken.close(resolve));
    }
    const { server } = await start(() => ({ ready: true, checks: {} }));
    await server.close();
    await server.close();
    await expect(call(server.url, '/healthz')).rejects.toThrow();
  });
});
