import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));

/** Top-level folders of the repository: those holding tracked files, dot-folders aside. */
function topLevelFolders(): string[] {
  const files = execFileSync('git', ['ls-files', '-z'], { cwd: root, encoding: 'utf8' }).split('\0');
  const folders = new Set(files.filter((f) => f.includes('/')).map((f) => f.slice(0, f.indexOf('/'))));
  return [...folders].filter((f) => !f.startsWith('.') && f !== 'node_modules').sort();
}

/** The folders the README's Layout table lists, in its order. */
function layoutTable(): string[] {
  const readme = readFileSync(`${root}README.md`, 'utf8');
  const section = readme.slice(readme.indexOf('\n## Layout\n'), readme.indexOf('\n## ', readme.indexOf('\n## Layout\n') + 1));
  return [...section.matchAll(/^\| `([^`/]+)\/` \| (.+) \|$/gm)].map((m) => m[1] as string);
}

describe('README Layout table', () => {
  it('lists every top-level folder, once, and nothing else', () => {
    const listed = layoutTable();
    expect(listed.length, 'the Layout section has a table').toBeGreaterThan(0);
    expect(new Set(listed).size, 'each folder once').toBe(listed.length);
    expect([...listed].sort()).toEqual(topLevelFolders());
  });
});
