/**
 * The ops endpoints of a real stream service: `rheo run archiver` on the local stack answers
 * `/healthz` at once, `/readyz` 503 until it joined its group and 200 after, `/metrics` with the
 * runner's metrics, and on SIGTERM leaves its group and exits 0.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../kernel/config.ts';
import { createAdmin, createKafka } from '../../kernel/kafka.ts';
import { createLogger } from '../../kernel/log.ts';
import { ensureTopics } from '../../topics/admin.ts';
import { catalogue } from '../../topics/catalogue.ts';
import { exited, PINNED_NODE } from '../support/child.ts';
import { waitFor } from '../support/wait.ts';

const CLI = fileURLToPath(new URL('../../cli/main.ts', import.meta.url));

/** A port nobody listens on right now: bind port 0, read it, let it go. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

let child: ChildProcess | undefined;
let output = '';
let stdout = '';

beforeAll(async () => {
  const config = loadConfig();
  const admin = createAdmin(createKafka(config.kafka, createLogger('ops-test', { level: 'error' }), 'ops-test'));
  await admin.connect();
  try {
    await ensureTopics(admin, catalogue());
  } finally {
    await admin.disconnect();
  }
});

afterAll(async () => {
  if (child && child.exitCode === null && child.signalCode === null) {
    child.kill('SIGKILL');
    await exited(child);
  }
});

describe('ops endpoints of rheo run archiver', () => {
  it('answers health at once, readiness once joined, metrics, and exits 0 on SIGTERM', async () => {
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const spawned = spawn(
      PINNED_NODE,
      [
        '--disable-warning=TimeoutNegativeWarning',
        CLI,
        'run',
        'archiver',
        '--from',
        'latest',
        '--group-id',
        `rheo.test.ops.${randomUUID()}`,
      ],
      { env: { ...process.env, RHEO_OPS_PORT: String(port), RHEO_LOG_LEVEL: 'info' }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child = spawned;
    spawned.stdout?.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    spawned.stderr?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    const exit = exited(spawned);

    const health = await waitFor('/healthz to answer', async () => {
      const response = await fetch(`${base}/healthz`);
      return response.status === 200 ? ((await response.json()) as Record<string, unknown>) : undefined;
    });
    expect(health).toMatchObject({ status: 'ok', service: 'archiver' });
    expect(typeof health?.uptime_s).toBe('number');

    const ready = await waitFor(
      '/readyz to say ready',
      async () => {
        const response = await fetch(`${base}/readyz`);
        const body = (await response.json()) as { ready: boolean; checks: Record<string, { ok: boolean }> };
        expect(response.status).toBe(body.ready ? 200 : 503);
        return body.ready ? body : undefined;
      },
      { timeoutMs: 90_000, intervalMs: 250 },
    );
    expect(ready?.checks.lifecycle?.ok).toBe(true);
    expect(ready?.checks.group?.ok).toBe(true);

    const metrics = await fetch(`${base}/metrics`);
    expect(metrics.status).toBe(200);
    expect(metrics.headers.get('content-type')).toContain('text/plain');
    const text = await metrics.text();
    expect(text).toContain('rheo_processor_records_in_total');
    expect(text).toContain('rheo_service_ready{service="archiver"} 1');
    expect(output).toContain('ops endpoints listening');
    expect(output).toContain(`"url":"${base}"`);

    spawned.kill('SIGTERM');
    const timeout = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), 30_000).unref());
    const outcome = await Promise.race([exit, timeout]);
    expect(outcome, output.slice(-2000)).toEqual({ code: 0, signal: null });
    expect(stdout).toBe('');
    await expect(fetch(`${base}/healthz`)).rejects.toThrow();
  });
});
