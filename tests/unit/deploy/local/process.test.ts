import { createServer, type Server } from 'node:net';
import { describe, expect, it } from 'vitest';
import { commandLine, isOurs, isPortFree, portConflictMessage, portOwner } from '../../../../deploy/local/process.ts';

function listen(): Promise<{ server: Server; port: number }> {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      resolve({ server, port: typeof address === 'object' && address ? address.port : 0 });
    });
  });
}

describe('port checks', () => {
  it('sees a taken port and names the process holding it', async () => {
    const { server, port } = await listen();
    try {
      expect(await isPortFree(port)).toBe(false);
      const owner = portOwner(port);
      expect(owner?.pid).toBe(process.pid);
      const message = portConflictMessage('redis', port, owner);
      expect(message).toContain(`port ${port} for redis is already in use by pid ${process.pid}`);
      expect(message).toContain('which this stack did not start');
    } finally {
      server.close();
    }
  });

  it('sees a free port', async () => {
    const { server, port } = await listen();
    await new Promise((resolve) => server.close(resolve));
    expect(await isPortFree(port)).toBe(true);
    expect(portOwner(port)).toBeUndefined();
  });

  it('says "another process" when the owner cannot be found, and keeps long command lines short', () => {
    expect(portConflictMessage('kafka-0 (broker)', 19092)).toBe(
      'port 19092 for kafka-0 (broker) is already in use by another process, which this stack did not start; stop it or free the port, then retry',
    );
    const long = portConflictMessage('x', 1, { pid: 7, command: `java ${'-Dx=y '.repeat(40)}\nkafka.Kafka` });
    expect(long).toMatch(/pid 7 \(java -Dx=y .{0,80}…\)/);
    expect(long).not.toContain('\n');
  });
});

describe('pid ownership', () => {
  it('recognises a process by the marker in its command line', () => {
    expect(commandLine(process.pid)).toBeTruthy();
    const marker = process.argv0;
    expect(isOurs({ service: 'self', pid: process.pid, marker, startedAt: '' })).toBe(true);
    expect(isOurs({ service: 'self', pid: process.pid, marker: '/no/such/marker.conf', startedAt: '' })).toBe(false);
    expect(isOurs({ service: 'gone', pid: 2 ** 22 + 12345, marker, startedAt: '' })).toBe(false);
  });
});
