/**
 * `npm run bench -- <name> [args]`: runs `bench/<name>.ts` (which exports `run(args)`), on the same
 * local stack the tests use. Each benchmark prints a readable table and, as its very last line, one
 * JSON object with every figure (snake_case keys, unit in the name).
 */
import { readdirSync } from 'node:fs';

const [name, ...args] = process.argv.slice(2);
const available = readdirSync(new URL('.', import.meta.url))
  .filter((file) => file.endsWith('.ts') && !['run.ts', 'lib.ts'].includes(file))
  .map((file) => file.replace(/\.ts$/, ''));

if (!name || !available.includes(name)) {
  process.stderr.write(`usage: npm run bench -- <name>\nbenchmarks: ${available.join(', ') || '(none)'}\n`);
  process.exit(name ? 2 : 1);
}
const module = (await import(`./${name}.ts`)) as { run: (args: string[]) => Promise<void> };
await module.run(args);
