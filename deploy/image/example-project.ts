/**
 * Turns an example project of this repository into a project as a user writes it, for the image
 * (deploy/image/Dockerfile): `node deploy/image/example-project.ts examples/fraud /out/examples/fraud`.
 *
 * Inside the repository an example imports Rheo's helpers by relative path (`../../projects/declaration.ts`),
 * since the package's self-reference points at the built dist/; a user's project imports `rheo` instead.
 * This copies `rheo.project.ts` and every file of the folder it imports (transitively), and rewrites each
 * import that leaves the folder to `'rheo'`, after checking that every name it imports is one `rheo.ts`
 * exports. A default, namespace or side-effect import from outside the folder is refused, and so is a
 * name `rheo` does not export: the example would not load as a user's project, so the build fails.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { defineArgs, parseOrExplain } from '../../kernel/args.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const PUBLIC_API = join(ROOT, 'rheo.ts');

function parse(file: string): ts.SourceFile {
  return ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.ES2023, true, ts.ScriptKind.TS);
}

function isExported(node: ts.Node): boolean {
  return (ts.getCombinedModifierFlags(node as ts.Declaration) & ts.ModifierFlags.Export) !== 0;
}

/** Every name a module exports (values and types), following `export * from` and `export { … } from`. */
export function exportedNames(file: string, seen = new Set<string>()): Set<string> {
  const names = new Set<string>();
  if (seen.has(file)) return names;
  seen.add(file);
  for (const statement of parse(file).statements) {
    if (ts.isExportDeclaration(statement)) {
      if (statement.exportClause && ts.isNamedExports(statement.exportClause))
        for (const element of statement.exportClause.elements) names.add(element.name.text);
      else if (!statement.exportClause && statement.moduleSpecifier && ts.isStringLiteral(statement.moduleSpecifier))
        for (const name of exportedNames(resolve(dirname(file), statement.moduleSpecifier.text), seen)) names.add(name);
      else if (statement.exportClause && ts.isNamespaceExport(statement.exportClause))
        names.add(statement.exportClause.name.text);
    } else if (ts.isVariableStatement(statement) && isExported(statement)) {
      for (const declaration of statement.declarationList.declarations)
        if (ts.isIdentifier(declaration.name)) names.add(declaration.name.text);
    } else if (
      (ts.isFunctionDeclaration(statement) ||
        ts.isClassDeclaration(statement) ||
        ts.isInterfaceDeclaration(statement) ||
        ts.isTypeAliasDeclaration(statement) ||
        ts.isEnumDeclaration(statement)) &&
      isExported(statement) &&
      statement.name
    )
      names.add(statement.name.text);
  }
  return names;
}

export interface ConvertedFile {
  /** Path inside the project folder, with `/` separators. */
  path: string;
  text: string;
  /** The relative specifiers rewritten to `'rheo'`, with the names each imported. */
  rewritten: Array<{ from: string; names: string[] }>;
}

/**
 * The project's files as a user's project: `rheo.project.ts` and what it imports inside `dir`, with
 * imports leaving `dir` pointed at `rheo`. Pure but for reading files; throws on what cannot be converted.
 */
export function convertProject(dir: string, publicApi = PUBLIC_API): ConvertedFile[] {
  const folder = resolve(dir);
  const api = exportedNames(publicApi);
  const inside = (file: string) => file === folder || file.startsWith(folder + sep);
  const queue = [join(folder, 'rheo.project.ts')];
  const done = new Map<string, ConvertedFile>();
  while (queue.length > 0) {
    const file = queue.shift() as string;
    if (done.has(file)) continue;
    const source = parse(file);
    const edits: Array<{ start: number; end: number; text: string }> = [];
    const rewritten: ConvertedFile['rewritten'] = [];
    const where = relative(folder, file).split(sep).join('/');
    for (const statement of source.statements) {
      if (!(ts.isImportDeclaration(statement) || ts.isExportDeclaration(statement))) continue;
      const specifier = statement.moduleSpecifier;
      if (!specifier || !ts.isStringLiteral(specifier) || !specifier.text.startsWith('.')) continue;
      const target = resolve(dirname(file), specifier.text);
      if (inside(target)) {
        queue.push(target);
        continue;
      }
      const names = importedNames(statement, `${where}: ${specifier.text}`);
      const missing = names.filter((name) => !api.has(name));
      if (missing.length > 0)
        throw new Error(`${where} imports ${missing.join(', ')} from ${specifier.text}, which 'rheo' does not export`);
      edits.push({ start: specifier.getStart(source), end: specifier.getEnd(), text: "'rheo'" });
      rewritten.push({ from: specifier.text, names });
    }
    let text = source.text;
    for (const edit of edits.sort((a, b) => b.start - a.start))
      text = text.slice(0, edit.start) + edit.text + text.slice(edit.end);
    done.set(file, { path: where, text, rewritten });
  }
  return [...done.values()].sort((a, b) => a.path.localeCompare(b.path));
}

function importedNames(statement: ts.ImportDeclaration | ts.ExportDeclaration, what: string): string[] {
  if (ts.isExportDeclaration(statement)) {
    if (statement.exportClause && ts.isNamedExports(statement.exportClause))
      return statement.exportClause.elements.map((e) => (e.propertyName ?? e.name).text);
    throw new Error(`${what}: re-exporting everything from outside the project cannot point at 'rheo'; name what is re-exported`);
  }
  const clause = statement.importClause;
  if (!clause) throw new Error(`${what}: a side-effect import from outside the project cannot point at 'rheo'`);
  if (clause.name) throw new Error(`${what}: 'rheo' has no default export`);
  if (!clause.namedBindings || !ts.isNamedImports(clause.namedBindings))
    throw new Error(`${what}: import the names from 'rheo' one by one (no namespace import)`);
  return clause.namedBindings.elements.map((e) => (e.propertyName ?? e.name).text);
}

/** Writes the converted files under `out`; returns their paths. */
export function writeProject(files: readonly ConvertedFile[], out: string): string[] {
  for (const file of files) {
    const target = join(out, file.path);
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, file.text);
  }
  return files.map((f) => f.path);
}

const ARGS = defineArgs({
  program: 'node deploy/image/example-project.ts',
  positionals: [
    { name: 'from', description: 'the example project folder (holding rheo.project.ts)', required: true },
    { name: 'to', description: 'where the converted project goes', required: true },
  ],
  notes: ["Copies the project's import closure and points its imports of Rheo's modules at 'rheo'."],
});

const args = import.meta.main ? parseOrExplain(ARGS, process.argv.slice(2), 'example-project') : undefined;
if (args) {
  try {
    const written = writeProject(convertProject(args.positionals.from), args.positionals.to);
    process.stderr.write(`example-project: ${written.length} files to ${args.positionals.to}: ${written.join(', ')}\n`);
  } catch (error) {
    process.stderr.write(`example-project: ${(error as Error).message}\n`);
    process.exitCode = 1;
  }
}
