#!/usr/bin/env node
// Entry shim for `npx rheo` (package.json `bin`): npm may start it with any Node on PATH, so it runs the
// CLI on the Node 24 the package pins (its dependency `node`): the TypeScript source in a checkout, the
// compiled dist/ when installed. Signals are forwarded and the shim exits as the CLI did (cli/launch.mjs).
import { launch } from './launch.mjs';

await launch(import.meta.url, process.argv.slice(2));
