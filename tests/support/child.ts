import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The project's pinned Node 24 (type stripping), whatever Node runs the test runner. */
export const PINNED_NODE = fileURLToPath(new URL('../../node_modules/node/bin/node', import.meta.url));

/** Starts a TypeScript entry point as its own Node process (for kill -9 and SIGTERM tests). */
export function startChild(entry: URL | string, env: Record<string, string>): ChildProcess & { output: () => string } {
  const path = typeof entry === 'string' ? entry : fileURLToPath(entry);
  const child = spawn(PINNED_NODE, ['--disable-warning=TimeoutNegativeWarning', path], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  return Object.assign(child, { output: () => output });
}

export function exited(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (child.exitCode !== null || child.signalCode !== null)
    return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
}
