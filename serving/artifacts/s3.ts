/**
 * The S3-compatible artifact store (AWS S3, MinIO, Ceph RGW, R2): objects at
 * `<prefix>/sha256/<hex>.onnx` in one bucket, requests signed with SigV4 (`sigv4.ts`) and sent with
 * the built-in fetch. Path-style addressing by default, which every S3-compatible server accepts.
 */
import { createHash } from 'node:crypto';
import { errorMessage, RheoError } from '../../kernel/errors.ts';
import { type SigV4Credentials, signV4 } from './sigv4.ts';
import { type ArtifactStore, contentKey, type StoredArtifact, sha256Hex, verifyArtifact } from './store.ts';

export interface S3StoreOptions {
  /** e.g. `https://s3.eu-west-1.amazonaws.com` or `http://127.0.0.1:9000`. */
  endpoint: string;
  bucket: string;
  /** Key prefix inside the bucket, without leading or trailing slash (may be empty). */
  prefix?: string;
  region: string;
  credentials: SigV4Credentials;
  /** Virtual-hosted style (`bucket.host`) instead of path style (`host/bucket`). */
  virtualHosted?: boolean;
  timeoutMs?: number;
  fetch?: typeof fetch;
  now?: () => Date;
}

export class S3ArtifactStore implements ArtifactStore {
  readonly scheme = 's3';
  readonly #options: S3StoreOptions;
  readonly #prefix: string;

  constructor(options: S3StoreOptions) {
    if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(options.bucket))
      throw new RheoError('CONFIG_INVALID', `not an S3 bucket name: ${options.bucket}`);
    this.#options = options;
    this.#prefix = (options.prefix ?? '').replace(/^\/+|\/+$/g, '');
  }

  #key(key: string): string {
    return this.#prefix ? `${this.#prefix}/${key}` : key;
  }

  uriFor(key: string): string {
    return `s3://${this.#options.bucket}/${this.#key(key)}`;
  }

  owns(uri: string): boolean {
    return uri.startsWith(`s3://${this.#options.bucket}/`);
  }

  #objectUrl(objectKey: string): URL {
    const endpoint = new URL(this.#options.endpoint);
    const path = objectKey.split('/').map(encodeURIComponent).join('/');
    if (this.#options.virtualHosted) {
      endpoint.host = `${this.#options.bucket}.${endpoint.host}`;
      endpoint.pathname = `/${path}`;
    } else endpoint.pathname = `${endpoint.pathname.replace(/\/+$/, '')}/${this.#options.bucket}/${path}`;
    return endpoint;
  }

  async #send(method: 'GET' | 'PUT' | 'HEAD', objectKey: string, body?: Uint8Array): Promise<Response> {
    const url = this.#objectUrl(objectKey);
    const signed = signV4({
      method,
      url,
      headers: body ? { 'content-length': String(body.length), 'content-type': 'application/octet-stream' } : {},
      payloadHash: body ? sha256Hex(body) : sha256Hex(''),
      region: this.#options.region,
      service: 's3',
      credentials: this.#options.credentials,
      date: (this.#options.now ?? (() => new Date()))(),
      contentSha256Header: true,
    });
    const { host: _host, 'content-length': _length, ...headers } = signed.headers;
    try {
      return await (this.#options.fetch ?? fetch)(url, {
        method,
        headers,
        ...(body ? { body } : {}),
        signal: AbortSignal.timeout(this.#options.timeoutMs ?? 30_000),
      });
    } catch (error) {
      throw new RheoError('ARTIFACT_UNAVAILABLE', `S3 ${method} ${this.uriFor(objectKey)} failed: ${errorMessage(error)}`, {
        cause: error,
      });
    }
  }

  async put(bytes: Uint8Array, options: { extension?: string } = {}): Promise<StoredArtifact> {
    const sha256 = sha256Hex(bytes);
    const key = this.#key(contentKey(sha256, options.extension));
    const uri = `s3://${this.#options.bucket}/${key}`;
    // Same key means same content, unless the object was tampered with: its ETag (the MD5 of a
    // single-part upload) tells, so only an intact copy is kept; anything else is overwritten.
    const head = await this.#send('HEAD', key);
    if (head.ok && head.headers.get('etag')?.replace(/"/g, '') === createHash('md5').update(bytes).digest('hex')) {
      return { uri, sha256, size: bytes.length, created: false };
    }
    const response = await this.#send('PUT', key, bytes);
    if (!response.ok) throw await s3Error('PUT', uri, response);
    return { uri, sha256, size: bytes.length, created: true };
  }

  async get(uri: string, expected: { sha256: string; size?: number }): Promise<Uint8Array> {
    if (!this.owns(uri)) throw new RheoError('ARTIFACT_UNAVAILABLE', `${uri} is not in bucket ${this.#options.bucket}`);
    const key = uri.slice(`s3://${this.#options.bucket}/`.length);
    const response = await this.#send('GET', key);
    if (!response.ok) throw await s3Error('GET', uri, response);
    return verifyArtifact(uri, new Uint8Array(await response.arrayBuffer()), expected);
  }
}

async function s3Error(method: string, uri: string, response: Response): Promise<RheoError> {
  const text = (await response.text().catch(() => '')).slice(0, 500);
  const code = /<Code>([^<]+)<\/Code>/.exec(text)?.[1] ?? response.statusText;
  return new RheoError('ARTIFACT_UNAVAILABLE', `S3 ${method} ${uri} answered ${response.status} ${code}`, {
    details: { status: response.status },
  });
}

/** `s3://bucket/prefix` → bucket and prefix. */
export function parseS3Location(location: string): { bucket: string; prefix: string } {
  const match = /^s3:\/\/([^/]+)\/?(.*)$/.exec(location);
  if (!match) throw new RheoError('CONFIG_INVALID', `not an s3:// location: ${location}`);
  return { bucket: match[1] as string, prefix: (match[2] ?? '').replace(/\/+$/, '') };
}
