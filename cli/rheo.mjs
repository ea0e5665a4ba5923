#!/usr/bin/env node
// Entry shim for `npx rheo`: it may be started by any Node on PATH, so it re-runs the TypeScript
// CLI on the Node 24 the project pins (node_modules/node), which strips types natively.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const main = join(root, 'cli', 'main.ts');
const pinned = join(root, 'node_modules', 'node', 'bin', 'node');
const major = Number(process.versions.node.split('.')[0]);
const node = major >= 24 ? process.execPath : pinned;
if (node === pinned && !existsSync(pinned)) {
  process.stderr.write('rheo: Node 24 is not installed in this project yet; run `npm install` (or `npm run demo`) first\n');
  process.exit(1);
}
// kafkajs 2.2.4 schedules a negative timeout (treated as 1 ms) and Node 24 warns once per process: noise, not a fault.
const result = spawnSync(node, ['--disable-warning=TimeoutNegativeWarning', main, ...process.argv.slice(2)], {
  stdio: 'inherit',
});
if (result.error) {
  process.stderr.write(`rheo: ${result.error.message}\n`);
  process.exit(1);
}
process.exit(result.status ?? (result.signal ? 128 : 1));
