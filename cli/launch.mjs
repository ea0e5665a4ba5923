// How `rheo` starts, for the shim `cli/rheo.mjs`. Plain JavaScript on purpose: npm may start the shim
// with any Node on PATH (Debian's is 20), which cannot strip types. Everything here is a small
// decision the unit tests check (tests/unit/cli/launch.test.ts), plus `launch`, which ties them together:
// - which Node: the package's dependency `node` (Node 24), resolved from the shim's own location so it
//   is found nested or hoisted in a user's node_modules; else the current Node when it is 24; else none;
// - which entry: the TypeScript source in a checkout (no build step), the compiled `dist/cli/main.js`
//   in an installed package (Node refuses to strip types under node_modules);
// - the child: SIGTERM, SIGINT and SIGHUP are forwarded to it (a SIGINT from the terminal already
//   reached it, being in the same foreground process group, so that one is not sent twice), and the
//   shim ends as the child did: same exit status, or the same signal. `npx rheo` runs the shim under
//   `sh -c`, and a SIGTERM to npx kills that shell without passing it on, so the shim also watches its
//   parent: when it is gone, the child gets a SIGTERM instead of running on as an orphan.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { constants } from 'node:os';
import { dirname, join, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REQUIRED_MAJOR = 24;

/** The signals the shim passes on to the CLI. */
export const FORWARDED_SIGNALS = Object.freeze(['SIGTERM', 'SIGINT', 'SIGHUP']);

/** The binary of the `node` package as Node's resolution finds it from `from` (a file URL or path), or undefined. */
export function pinnedNode(from) {
  let manifest;
  try {
    manifest = createRequire(from).resolve('node/package.json');
  } catch {
    return undefined;
  }
  const bin = join(dirname(manifest), 'bin', 'node');
  return existsSync(bin) ? bin : undefined;
}

/** The Node that runs the CLI: the pinned one, else the current one if its major is 24, else a reason. */
export function chooseNode({ pinned, execPath, version }) {
  if (pinned) return { node: pinned };
  const major = Number(String(version).replace(/^v/, '').split('.')[0]);
  if (major === REQUIRED_MAJOR) return { node: execPath };
  return {
    problem:
      `rheo runs on Node ${REQUIRED_MAJOR}, which the npm package "node" (a dependency of rheo) provides, ` +
      `but it is not installed next to rheo and this is Node ${version}; run \`npm install\` (or use Node ${REQUIRED_MAJOR})`,
  };
}

/** The CLI entry under the package root: source in a checkout, dist/ when installed or when there is no source. */
export function chooseEntry(root, exists = existsSync) {
  const source = join(root, 'cli', 'main.ts');
  const built = join(root, 'dist', 'cli', 'main.js');
  const installed = root.split(sep).includes('node_modules');
  if (!installed && exists(source)) return { entry: source };
  if (exists(built)) return { entry: built };
  return {
    problem: installed
      ? `${built} is missing: this rheo package was not built; reinstall it from a packed tarball (npm pack runs the build)`
      : `neither ${source} nor ${built} exists; run \`npm run build\``,
  };
}

/**
 * Whether a SIGINT the shim receives has reached the child too: true when `/proc/<pid>/stat` says the
 * process has a controlling terminal and is in its foreground process group (Ctrl-C signals the whole
 * group, and the child shares the shim's). False when it cannot tell, so the signal is forwarded.
 */
export function terminalSignalsGroup(statText) {
  const close = statText.lastIndexOf(')');
  if (close < 0) return false;
  // After "pid (comm)": state ppid pgrp session tty_nr tpgid …
  const [, , pgrp, , ttyNr, tpgid] = statText
    .slice(close + 2)
    .trim()
    .split(/\s+/)
    .map(Number);
  return ttyNr !== 0 && pgrp !== undefined && pgrp > 0 && pgrp === tpgid;
}

function foregroundOfTerminal() {
  try {
    return terminalSignalsGroup(readFileSync('/proc/self/stat', 'utf8'));
  } catch {
    return false;
  }
}

/**
 * Runs `node args…` with inherited stdio, forwarding signals, and resolves with how it ended. Every
 * `parentPollMs` it checks that the process that started the shim is still its parent; once it is not,
 * the child is sent SIGTERM. The handlers and the watch are removed when the child ends.
 */
export function runChild(
  node,
  args,
  { signals = FORWARDED_SIGNALS, reachedChild = foregroundOfTerminal, parentPollMs = 500 } = {},
) {
  return new Promise((resolve) => {
    const child = spawn(node, args, { stdio: 'inherit' });
    const send = (signal) => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    };
    const handlers = new Map();
    for (const signal of signals) {
      const handler = () => {
        if (signal !== 'SIGINT' || !reachedChild()) send(signal);
      };
      handlers.set(signal, handler);
      process.on(signal, handler);
    }
    const parent = process.ppid;
    const watch = setInterval(() => {
      if (process.ppid === parent) return;
      clearInterval(watch);
      send('SIGTERM');
      // The parent's stderr may be a pipe nobody reads any more: a failed write must not end the shim first.
      process.stderr.on('error', () => {});
      process.stderr.write(`rheo: the process that started rheo (pid ${parent}) is gone; stopped it with SIGTERM\n`);
    }, parentPollMs);
    watch.unref();
    const detach = () => {
      clearInterval(watch);
      for (const [signal, handler] of handlers) process.off(signal, handler);
    };
    child.once('error', (error) => {
      detach();
      resolve({ error });
    });
    child.once('exit', (code, signal) => {
      detach();
      resolve({ code, signal });
    });
  });
}

/** Ends the shim as the child ended: its exit status, or the signal that ended it (re-raised on the shim). */
export function finish(outcome) {
  if (outcome.error) {
    process.stderr.write(`rheo: ${outcome.error.message}\n`);
    process.exit(1);
  }
  if (outcome.signal) {
    process.exitCode = 128 + (constants.signals[outcome.signal] ?? 0);
    process.kill(process.pid, outcome.signal);
    return;
  }
  process.exit(outcome.code ?? 1);
}

/** The whole shim: picks Node and the entry for the package holding `shimUrl`, runs the CLI, ends as it did. */
export async function launch(shimUrl, argv) {
  const root = join(dirname(fileURLToPath(shimUrl)), '..');
  const node = chooseNode({ pinned: pinnedNode(shimUrl), execPath: process.execPath, version: process.version });
  const entry = chooseEntry(root);
  const problem = node.problem ?? entry.problem;
  if (problem) {
    process.stderr.write(`rheo: ${problem}\n`);
    process.exit(1);
  }
  // kafkajs 2.2.4 schedules a negative timeout (treated as 1 ms) and Node 24 warns once per process: noise, not a fault.
  finish(await runChild(node.node, ['--disable-warning=TimeoutNegativeWarning', entry.entry, ...argv]));
}
