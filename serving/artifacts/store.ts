/**
 * Model artifacts: content-addressed, so a URI names exactly one sequence of bytes, and every read
 * is verified against the sha256 the registry recorded. A store is a narrow interface (put, get,
 * has); the filesystem and S3-compatible backends implement it and share one conformance suite.
 */
import { createHash } from 'node:crypto';
import { RheoError } from '../../kernel/errors.ts';

export interface StoredArtifact {
  /** Where the bytes live, content-addressed (`file:///…/sha256/<hex>.onnx`, `s3://bucket/prefix/sha256/<hex>.onnx`). */
  uri: string;
  sha256: string;
  size: number;
  /** False when identical bytes were already stored. */
  created: boolean;
}

export interface ArtifactStore {
  readonly scheme: 'file' | 's3';
  /** Stores the bytes under their sha256 (idempotent: the same bytes give the same URI). */
  put(bytes: Uint8Array, options?: { extension?: string }): Promise<StoredArtifact>;
  /**
   * Reads the artifact at `uri` and verifies it: bytes whose sha256 (or size) differs from what was
   * registered throw ARTIFACT_INTEGRITY_FAILED; a missing or unreadable artifact ARTIFACT_UNAVAILABLE.
   */
  get(uri: string, expected: { sha256: string; size?: number }): Promise<Uint8Array>;
  /** Whether this store holds the URI (a store only reads URIs of its own scheme and location). */
  owns(uri: string): boolean;
}

export function sha256Hex(bytes: Uint8Array | string): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Throws ARTIFACT_INTEGRITY_FAILED unless `bytes` are exactly what the registry recorded. */
export function verifyArtifact(uri: string, bytes: Uint8Array, expected: { sha256: string; size?: number }): Uint8Array {
  if (expected.size !== undefined && bytes.length !== expected.size) {
    throw new RheoError(
      'ARTIFACT_INTEGRITY_FAILED',
      `artifact ${uri} is ${bytes.length} bytes, but ${expected.size} were registered (truncated or replaced)`,
      { details: { uri, expectedSize: expected.size, actualSize: bytes.length } },
    );
  }
  const actual = sha256Hex(bytes);
  if (actual !== expected.sha256) {
    throw new RheoError(
      'ARTIFACT_INTEGRITY_FAILED',
      `artifact ${uri} has sha256 ${actual}, but ${expected.sha256} was registered`,
      {
        details: { uri, expected: expected.sha256, actual },
      },
    );
  }
  return bytes;
}

/** The content-addressed key of an artifact inside a store: `sha256/<hex><extension>`. */
export function contentKey(sha256: string, extension = '.onnx'): string {
  if (!/^[0-9a-f]{64}$/.test(sha256)) throw new RheoError('BAD_REQUEST', `not a sha256 hex digest: ${sha256}`);
  if (!/^(\.[a-z0-9]{1,10})?$/.test(extension)) throw new RheoError('BAD_REQUEST', `bad artifact extension ${extension}`);
  return `sha256/${sha256}${extension}`;
}

/** Reads artifacts with whichever store owns the URI. */
export class ArtifactResolver {
  readonly stores: readonly ArtifactStore[];
  constructor(stores: readonly ArtifactStore[]) {
    this.stores = stores;
  }

  get(uri: string, expected: { sha256: string; size?: number }): Promise<Uint8Array> {
    const store = this.stores.find((s) => s.owns(uri));
    if (!store) return Promise.reject(new RheoError('ARTIFACT_UNAVAILABLE', `no artifact store is configured for ${uri}`));
    return store.get(uri, expected);
  }
}
