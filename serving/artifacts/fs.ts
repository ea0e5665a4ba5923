/**
 * The filesystem artifact store: `<root>/sha256/<hex>.onnx`, written to a temporary name and renamed
 * into place so a reader never sees half a file. The root is a path shared by every instance
 * (default `<RHEO_STACK_DIR>/artifacts`).
 */
import { randomUUID } from 'node:crypto';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, isAbsolute, join, resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { errorMessage, RheoError } from '../../kernel/errors.ts';
import { type ArtifactStore, contentKey, type StoredArtifact, sha256Hex, verifyArtifact } from './store.ts';

export class FileArtifactStore implements ArtifactStore {
  readonly scheme = 'file';
  readonly root: string;

  constructor(root: string) {
    this.root = resolve(root);
  }

  uriFor(key: string): string {
    return pathToFileURL(join(this.root, key)).href;
  }

  async put(bytes: Uint8Array, options: { extension?: string } = {}): Promise<StoredArtifact> {
    const sha256 = sha256Hex(bytes);
    const key = contentKey(sha256, options.extension);
    const path = join(this.root, key);
    const uri = this.uriFor(key);
    try {
      const existing = await stat(path).catch(() => undefined);
      if (existing && existing.size === bytes.length) {
        // Same name means same content, unless someone tampered with it: then rewrite it.
        const current = await readFile(path);
        if (sha256Hex(current) === sha256) return { uri, sha256, size: bytes.length, created: false };
      }
      await mkdir(dirname(path), { recursive: true });
      const temporary = `${path}.${randomUUID()}.tmp`;
      await writeFile(temporary, bytes, { flag: 'wx' });
      await rename(temporary, path);
      return { uri, sha256, size: bytes.length, created: true };
    } catch (error) {
      throw new RheoError('ARTIFACT_UNAVAILABLE', `cannot write artifact ${uri}: ${errorMessage(error)}`, { cause: error });
    }
  }

  owns(uri: string): boolean {
    return uri.startsWith('file:');
  }

  async get(uri: string, expected: { sha256: string; size?: number }): Promise<Uint8Array> {
    let path: string;
    try {
      path = fileURLToPath(uri);
    } catch {
      throw new RheoError('ARTIFACT_UNAVAILABLE', `not a file URI: ${uri}`);
    }
    if (!isAbsolute(path) || path.split(sep).includes('..'))
      throw new RheoError('ARTIFACT_UNAVAILABLE', `not an absolute file URI: ${uri}`);
    let bytes: Uint8Array;
    try {
      bytes = await readFile(path);
    } catch (error) {
      throw new RheoError('ARTIFACT_UNAVAILABLE', `cannot read artifact ${uri}: ${errorMessage(error)}`, { cause: error });
    }
    return verifyArtifact(uri, bytes, expected);
  }

  /** Removes everything under the root (tests only). */
  async clear(): Promise<void> {
    await rm(this.root, { recursive: true, force: true });
  }
}
