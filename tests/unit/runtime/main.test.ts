import type { AddressInfo } from 'node:net';
import { createServer } from 'node:net';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { type RunnableService, readinessInPhase, runMain } from '../../../runtime/main.ts';

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

async function status(url: string): Promise<{ status: number; body: unknown }> {
  const response = await fetch(url);
  return { status: response.status, body: await response.json() };
}

let stdout: ReturnType<typeof vi.spyOn>;
let stderr: string[];

beforeEach(() => {
  vi.stubEnv('RHEO_LOG_LEVEL', 'silent');
  stdout = vi.spyOn(process.stdout, 'write');
  stderr = [];
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stderr.push(String(chunk));
    return true;
  });
});

afterEach(() => {
  vi.unstubAllEnvs();
  vi.restoreAllMocks();
  process.exitCode = undefined;
});

describe('readinessInPhase', () => {
  const service = (ready: boolean): RunnableService => ({
    start: async () => undefined,
    stop: async () => undefined,
    finished: async () => undefined,
    readiness: () => ({ ready, checks: { group: { ok: ready } } }),
  });

  it('is not ready while starting or stopping, whatever the service says', () => {
    expect(readinessInPhase('starting', service(true))).toEqual({
      ready: false,
      checks: { lifecycle: { ok: false, detail: 'starting' } },
    });
    expect(readinessInPhase('stopping', service(true)).ready).toBe(false);
    expect(readinessInPhase('running', undefined).ready).toBe(false);
  });

  it('is the service’s own readiness while running, or ready when it has none', () => {
    expect(readinessInPhase('running', service(false))).toEqual({
      ready: false,
      checks: { lifecycle: { ok: true, detail: 'running' }, group: { ok: false } },
    });
    expect(readinessInPhase('running', service(true)).ready).toBe(true);
    const { readiness: _none, ...bare } = service(false);
    expect(readinessInPhase('running', bare)).toEqual({ ready: true, checks: { lifecycle: { ok: true, detail: 'running' } } });
  });
});

describe('runMain and the ops endpoints', () => {
  it('answers /healthz at once, /readyz 503 until started and while stopping, and closes last', async () => {
    const port = await freePort();
    vi.stubEnv('RHEO_OPS_PORT', String(port));
    const url = `http://127.0.0.1:${port}`;
    const built = deferred();
    const started = deferred();
    const finished = deferred();
    let stopping = false;
    const service: RunnableService = {
      start: () => started.promise,
      stop: async () => {
        stopping = true;
      },
      finished: () => finished.promise,
      readiness: () => ({ ready: !stopping, checks: { group: { ok: !stopping } } }),
    };
    const running = runMain('fake', async () => {
      await built.promise;
      return service;
    }, ['--from', 'latest']);

    // Building: alive, not ready.
    await vi.waitFor(async () => expect((await status(`${url}/healthz`)).status).toBe(200));
    expect(await status(`${url}/readyz`)).toEqual({
      status: 503,
      body: { ready: false, checks: { lifecycle: { ok: false, detail: 'starting' } } },
    });
    built.resolve();
    // Starting: still not ready.
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect((await status(`${url}/readyz`)).status).toBe(503);
    started.resolve();
    await vi.waitFor(async () => expect((await status(`${url}/readyz`)).status).toBe(200));
    expect(await (await fetch(`${url}/metrics`)).text()).toContain('rheo_service_ready{service="fake"} 1');

    await service.stop('test');
    expect((await status(`${url}/readyz`)).status).toBe(503);
    expect((await status(`${url}/healthz`)).status).toBe(200);
    finished.resolve();
    await running;
    await expect(fetch(`${url}/healthz`)).rejects.toThrow();
    expect(process.exitCode ?? 0).toBe(0);
    expect(stdout).not.toHaveBeenCalled();
  });

  it('refuses a port in use with one stderr line and exit 1, before building anything', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const { port } = taken.address() as AddressInfo;
    vi.stubEnv('RHEO_OPS_PORT', String(port));
    const build = vi.fn();
    try {
      await runMain('fake', build, ['--from', 'latest']);
    } finally {
      await new Promise((resolve) => taken.close(resolve));
    }
    expect(build).not.toHaveBeenCalled();
    expect(process.exitCode).toBe(1);
    expect(stderr).toEqual([
      `fake: EADDRINUSE: ops endpoints cannot listen on 127.0.0.1:${port}: address already in use (set RHEO_OPS_PORT to a free port, or 0 for any)\n`,
    ]);
  });

  it('refuses a bad RHEO_OPS_PORT as invalid configuration', async () => {
    vi.stubEnv('RHEO_OPS_PORT', 'eighty');
    await runMain('fake', vi.fn(), ['--from', 'latest']);
    expect(process.exitCode).toBe(1);
    expect(stderr.join('')).toMatch(/^fake: CONFIG_INVALID: invalid configuration:\n {2}RHEO_OPS_PORT: /);
  });
});
