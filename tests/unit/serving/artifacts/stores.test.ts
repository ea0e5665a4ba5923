/**
 * One conformance suite for every artifact store: content addressing, idempotent puts, verified reads.
 * The S3 store runs against a small in-process S3 double that checks each request's SigV4 signature.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileArtifactStore } from '../../../../serving/artifacts/fs.ts';
import { S3ArtifactStore } from '../../../../serving/artifacts/s3.ts';
import { signV4 } from '../../../../serving/artifacts/sigv4.ts';
import { ArtifactResolver, type ArtifactStore, sha256Hex } from '../../../../serving/artifacts/store.ts';

const credentials = { accessKeyId: 'AKIDTEST', secretAccessKey: 'secret/key+test' };

/** An S3 double: PUT/GET/HEAD objects in memory; refuses requests whose signature does not verify. */
function fakeS3() {
  const objects = new Map<string, Buffer>();
  const server = createServer(async (req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const url = new URL(req.url ?? '/', `http://${req.headers.host}`);
    const auth = String(req.headers.authorization ?? '');
    const signedNames = /SignedHeaders=([^,]+)/.exec(auth)?.[1]?.split(';') ?? [];
    const headers: Record<string, string> = {};
    for (const name of signedNames)
      if (name !== 'x-amz-date' && name !== 'x-amz-content-sha256') headers[name] = String(req.headers[name]);
    const stamp = String(req.headers['x-amz-date']);
    const date = new Date(
      `${stamp.slice(0, 4)}-${stamp.slice(4, 6)}-${stamp.slice(6, 8)}T${stamp.slice(9, 11)}:${stamp.slice(11, 13)}:${stamp.slice(13, 15)}Z`,
    );
    const payloadHash = String(req.headers['x-amz-content-sha256']);
    const expected = signV4({
      method: req.method ?? 'GET',
      url,
      headers,
      payloadHash,
      region: 'eu-test-1',
      service: 's3',
      credentials,
      date,
      contentSha256Header: true,
    });
    if (expected.headers.authorization !== auth || (req.method === 'PUT' && sha256Hex(body) !== payloadHash)) {
      res.writeHead(403).end('<Error><Code>SignatureDoesNotMatch</Code></Error>');
      return;
    }
    const key = decodeURIComponent(url.pathname);
    if (req.method === 'PUT') {
      objects.set(key, body);
      res.writeHead(200).end();
    } else if (!objects.has(key)) res.writeHead(404).end('<Error><Code>NoSuchKey</Code></Error>');
    else if (req.method === 'HEAD') {
      const object = objects.get(key) as Buffer;
      res.writeHead(200, { 'content-length': object.length, etag: `"${createHash('md5').update(object).digest('hex')}"` }).end();
    } else res.writeHead(200).end(objects.get(key));
  });
  return { server, objects };
}

const dir = mkdtempSync(join(tmpdir(), 'rheo-artifacts-'));
const s3 = fakeS3();
let endpoint = '';

beforeAll(async () => {
  await new Promise<void>((resolve) => s3.server.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(s3.server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  await new Promise<void>((resolve) => (s3.server as Server).close(() => resolve()));
});

interface Backend {
  name: string;
  make(): ArtifactStore;
  tamper(uri: string, bytes: Uint8Array): void;
}

const backends: Backend[] = [
  {
    name: 'filesystem',
    make: () => new FileArtifactStore(join(dir, 'fs')),
    tamper: (uri, bytes) => writeFileSync(fileURLToPath(uri), bytes),
  },
  {
    name: 's3',
    make: () => new S3ArtifactStore({ endpoint, bucket: 'models', prefix: 'rheo/artifacts', region: 'eu-test-1', credentials }),
    tamper: (uri, bytes) => s3.objects.set(`/models/${uri.slice('s3://models/'.length)}`, Buffer.from(bytes)),
  },
];

describe.each(backends)('artifact store conformance: $name', (backend) => {
  const bytes = new TextEncoder().encode(`model bytes for ${backend.name}`);

  it('stores content-addressed and idempotently', async () => {
    const store = backend.make();
    const first = await store.put(bytes);
    expect(first.sha256).toBe(sha256Hex(bytes));
    expect(first.uri).toMatch(new RegExp(`sha256/${first.sha256}\\.onnx$`));
    expect(first.created).toBe(true);
    const again = await store.put(bytes);
    expect(again).toEqual({ ...first, created: false });
    expect(store.owns(first.uri)).toBe(true);
  });

  it('reads back verified bytes', async () => {
    const store = backend.make();
    const { uri, sha256, size } = await store.put(bytes);
    expect(Buffer.from(await store.get(uri, { sha256, size })).equals(Buffer.from(bytes))).toBe(true);
    expect(Buffer.from(await new ArtifactResolver([store]).get(uri, { sha256 })).length).toBe(bytes.length);
  });

  it('refuses tampered and truncated artifacts', async () => {
    const store = backend.make();
    const original = new TextEncoder().encode(`another model for ${backend.name}`);
    const { uri, sha256, size } = await store.put(original);
    const tampered = Uint8Array.from(original);
    tampered[0] = (tampered[0] as number) ^ 0xff;
    backend.tamper(uri, tampered);
    await expect(store.get(uri, { sha256, size })).rejects.toMatchObject({
      code: 'ARTIFACT_INTEGRITY_FAILED',
      message: expect.stringMatching(/sha256/),
    });
    // Putting the right bytes again repairs a tampered copy.
    await store.put(original);
    await expect(store.get(uri, { sha256, size })).resolves.toHaveLength(size);
    backend.tamper(uri, original.subarray(0, 5));
    await expect(store.get(uri, { sha256, size })).rejects.toMatchObject({
      code: 'ARTIFACT_INTEGRITY_FAILED',
      message: expect.stringMatching(/truncated/),
    });
    // Putting the right bytes again repairs it.
    await store.put(original);
    await expect(store.get(uri, { sha256, size })).resolves.toHaveLength(size);
  });

  it('reports a missing artifact as unavailable', async () => {
    const store = backend.make();
    const { uri } = await store.put(bytes);
    const missing = uri.replace(/[0-9a-f]{64}/, '0'.repeat(64));
    await expect(store.get(missing, { sha256: '0'.repeat(64) })).rejects.toMatchObject({ code: 'ARTIFACT_UNAVAILABLE' });
  });
});

describe('S3 store', () => {
  it('turns a bad signature into ARTIFACT_UNAVAILABLE with the S3 error code', async () => {
    const store = new S3ArtifactStore({
      endpoint,
      bucket: 'models',
      region: 'eu-test-1',
      credentials: { ...credentials, secretAccessKey: 'wrong' },
    });
    await expect(store.put(new Uint8Array([1, 2, 3]))).rejects.toMatchObject({
      code: 'ARTIFACT_UNAVAILABLE',
      message: expect.stringMatching(/403 SignatureDoesNotMatch/),
    });
  });

  it('no store for a URI scheme is unavailable, not a crash', async () => {
    await expect(new ArtifactResolver([]).get('gs://x/y', { sha256: 'a'.repeat(64) })).rejects.toMatchObject({
      code: 'ARTIFACT_UNAVAILABLE',
    });
  });
});
