/**
 * `npm run bench -- <name> [args]`: runs `bench/<name>.ts` (which exports `run(args)`), on the same
 * local stack the tests use. Each benchmark prints a readable table and, as its very last line, one
 * JSON object with every figure (snake_case keys, unit in the name). A benchmark's flags are declared
 * and checked strictly: an unknown one exits 2 with its usage.
 */
import { readdirSync } from 'node:fs';
import { explainArgumentFailure } from '../kernel/args.ts';

const [name, ...args] = process.argv.slice(2);
const available = readdirSync(new URL('.', import.meta.url))
  .filter((file) => file.endsWith('.ts') && !['run.ts', 'lib.ts'].includes(file))
  .map((file) => file.replace(/\.ts$/, ''));

if (!name || !available.includes(name)) {
  process.stderr.write(`usage: npm run bench -- <name>\nbenchmarks: ${available.join(', ') || '(none)'}\n`);
  process.exit(name ? 2 : 1);
}
const module = (await import(`./${name}.ts`)) as { run: (args: string[]) => Promise<void> };
try {
  // Each benchmark parses its flags (kernel/args.ts) before it touches the stack.
  await module.run(args);
} catch (error) {
  const refused = explainArgumentFailure(error, `bench ${name}`);
  if (refused === undefined) throw error;
  process.exitCode = refused;
}
