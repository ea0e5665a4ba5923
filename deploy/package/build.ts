/**
 * `npm run build` (run by `prepack`, so `npm pack` and `npm publish` ship a fresh build): the JavaScript
 * an installed Rheo runs. Node refuses to strip types under node_modules, so the package cannot run its
 * `.ts` sources; in the repository nothing needs this, the sources run as they are.
 *
 * 1. `dist/` is emptied, then `tsc -p tsconfig.build.json` compiles the folders that file includes to
 *    `dist/` at the same relative paths (`.ts` imports rewritten to `.js`, `.d.ts` beside each file); a
 *    type error fails the build.
 * 2. Every file of those folders that is not TypeScript, Markdown or the shim's own JavaScript (`.mjs`,
 *    shipped from `cli/` itself) is copied to the same relative path under `dist/`, keeping its mode: the
 *    Avro contracts `schemas/contracts/*.avsc`, `deploy/local/*.sh`. So every path the code builds from
 *    `import.meta.url` resolves in `dist/` as it does in the sources.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, extname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineArgs, parseOrExplain } from '../../kernel/args.ts';

export const PACKAGE_ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const BUILD_CONFIG = 'tsconfig.build.json';

/** Extensions that are never copied: compiled instead (.ts), documentation (.md), the shim's launcher (.mjs, .d.mts). */
const NOT_ASSETS = new Set(['.ts', '.md', '.mjs', '.mts']);

/** The folders (and single files) `tsconfig.build.json` compiles, relative to the package root. */
export function buildInputs(root = PACKAGE_ROOT): { include: string[]; exclude: string[]; outDir: string } {
  const config = JSON.parse(readFileSync(join(root, BUILD_CONFIG), 'utf8')) as {
    include?: string[];
    exclude?: string[];
    compilerOptions?: { outDir?: string };
  };
  return { include: config.include ?? [], exclude: config.exclude ?? [], outDir: config.compilerOptions?.outDir ?? 'dist' };
}

/** Run-time assets under the included folders, as paths relative to `root`, sorted. */
export function assetsOf(root: string, include: readonly string[], exclude: readonly string[]): string[] {
  const skipped = new Set(exclude);
  const found: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(join(root, dir), { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (skipped.has(path) || entry.name.startsWith('.')) continue;
      if (entry.isDirectory()) walk(path);
      else if (entry.isFile() && !NOT_ASSETS.has(extname(entry.name))) found.push(path);
    }
  };
  for (const item of include) {
    if (extname(item) !== '') continue;
    walk(item);
  }
  return found.sort();
}

/** Compiles and copies; returns the assets copied. Throws when tsc fails. */
export function build(root = PACKAGE_ROOT, log: (line: string) => void = () => {}): string[] {
  const { include, exclude, outDir } = buildInputs(root);
  const out = join(root, outDir);
  rmSync(out, { recursive: true, force: true });
  const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  const compiled = spawnSync(process.execPath, [tsc, '-p', join(root, BUILD_CONFIG)], { cwd: root, stdio: 'inherit' });
  if (compiled.error) throw compiled.error;
  if (compiled.status !== 0) throw new Error(`tsc -p ${BUILD_CONFIG} failed (exit ${compiled.status ?? compiled.signal})`);
  const assets = assetsOf(root, include, exclude);
  for (const asset of assets) {
    const target = join(out, asset);
    mkdirSync(dirname(target), { recursive: true });
    copyFileSync(join(root, asset), target);
  }
  log(`built ${relative(root, out)}/ (${assets.length} assets: ${assets.join(', ')})`);
  return assets;
}

const BUILD_ARGS = defineArgs({
  program: 'node deploy/package/build.ts',
  notes: ['Compiles the sources to dist/ and copies the run-time assets beside them (what `npm pack` ships).'],
});

const args = import.meta.main ? parseOrExplain(BUILD_ARGS, process.argv.slice(2), 'build') : undefined;
if (args) {
  try {
    build(PACKAGE_ROOT, (line) => process.stderr.write(`${line}\n`));
  } catch (error) {
    process.stderr.write(`build: ${(error as Error).message}\n`);
    process.exitCode = 1;
  }
}
