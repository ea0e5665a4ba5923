import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { isRetriable } from '../../../kernel/errors.ts';
import {
  SchemaIncompatibleError,
  SchemaInvalidError,
  SchemaRegistryRejectedError,
  SchemaRegistryUnavailableError,
} from '../../../schemas/errors.ts';
import { HttpSchemaRegistry, registryMessages } from '../../../schemas/registry-client.ts';

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: unknown;
}

type Handler = (req: Seen, res: ServerResponse) => void;

let server: Server;
let base: string;
let handler: Handler;
const seen: Seen[] = [];

function reply(res: ServerResponse, status: number, body?: unknown): void {
  res.writeHead(status, { 'content-type': 'application/vnd.schemaregistry.v1+json' });
  res.end(body === undefined ? '' : JSON.stringify(body));
}

beforeAll(async () => {
  server = createServer((req, res) => {
    let raw = '';
    req.on('data', (chunk) => {
      raw += chunk;
    });
    req.on('end', () => {
      const entry = {
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: raw ? JSON.parse(raw) : undefined,
      };
      seen.push(entry);
      handler(entry, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/apis/ccompat/v7`;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

beforeEach(() => {
  seen.length = 0;
  handler = (_, res) => reply(res, 500, { error_code: 50001, message: 'no handler' });
});

function client(options: { timeoutMs?: number; auth?: { username: string; password: string } } = {}): HttpSchemaRegistry {
  return new HttpSchemaRegistry({ url: `${base}/`, ...options });
}

describe('HttpSchemaRegistry', () => {
  it('speaks the Confluent API: paths, content type, encoded subjects, basic auth', async () => {
    handler = (_, res) => reply(res, 200, { id: 5 });
    const id = await client({ auth: { username: 'rheo', password: 's3cret' } }).register(
      'features.card/activity-value',
      '"string"',
    );
    expect(id).toBe(5);
    const [request] = seen;
    expect(request?.method).toBe('POST');
    expect(request?.url).toBe('/apis/ccompat/v7/subjects/features.card%2Factivity-value/versions');
    expect(request?.headers['content-type']).toBe('application/vnd.schemaregistry.v1+json');
    expect(request?.headers.authorization).toBe(`Basic ${Buffer.from('rheo:s3cret').toString('base64')}`);
    expect(request?.body).toEqual({ schema: '"string"' });
  });

  it('answers undefined or empty for what does not exist', async () => {
    handler = (_, res) => reply(res, 404, { error_code: 40403, message: 'Schema not found' });
    const registry = client();
    expect(await registry.schemaById(9)).toBeUndefined();
    expect(await registry.versions('nope-value')).toEqual([]);
    expect(await registry.subjectVersion('nope-value', 'latest')).toBeUndefined();
    expect(await registry.lookup('nope-value', '"string"')).toBeUndefined();
    expect(await registry.getCompatibility('nope-value')).toBeUndefined();
  });

  it('reads schemas by id, defaulting the type to AVRO', async () => {
    handler = (req, res) => reply(res, 200, req.url.endsWith('/1') ? { schema: '"long"' } : { schema: '{}', schemaType: 'json' });
    expect(await client().schemaById(1)).toEqual({ schema: '"long"', schemaType: 'AVRO' });
    expect(await client().schemaById(2)).toEqual({ schema: '{}', schemaType: 'JSON' });
  });

  it('reads and writes subject compatibility (both field spellings)', async () => {
    handler = (req, res) => {
      if (req.method === 'PUT') reply(res, 200, req.body);
      else reply(res, 200, req.url.includes('a-value') ? { compatibilityLevel: 'BACKWARD' } : { compatibility: 'full' });
    };
    const registry = client();
    expect(await registry.getCompatibility('a-value')).toBe('BACKWARD');
    expect(await registry.getCompatibility('b-value')).toBe('FULL');
    await registry.setCompatibility('a-value', 'BACKWARD');
    expect(seen.at(-1)).toMatchObject({
      method: 'PUT',
      url: '/apis/ccompat/v7/config/a-value',
      body: { compatibility: 'BACKWARD' },
    });
  });

  it('tests compatibility verbosely and returns the messages', async () => {
    handler = (_, res) =>
      reply(res, 200, { is_compatible: false, messages: ['reader type: DOUBLE not compatible with writer type: STRING'] });
    const result = await client().testCompatibility('a-value', '"double"');
    expect(result).toEqual({ compatible: false, messages: ['reader type: DOUBLE not compatible with writer type: STRING'] });
    expect(seen[0]?.url).toBe('/apis/ccompat/v7/compatibility/subjects/a-value/versions/latest?verbose=true');
  });

  it('turns 409 on register into SchemaIncompatibleError and 422 into SchemaInvalidError', async () => {
    handler = (_, res) =>
      reply(res, 409, { error_code: 409, message: 'Schema being registered is incompatible with an earlier schema' });
    const error = await client()
      .register('a-value', '"int"')
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SchemaIncompatibleError);
    expect((error as SchemaIncompatibleError).message).toContain('"a-value"');
    expect((error as SchemaIncompatibleError).reasons).toEqual([
      'Schema being registered is incompatible with an earlier schema',
    ]);
    handler = (_, res) => reply(res, 422, { error_code: 42201, message: 'Invalid schema' });
    await expect(client().register('a-value', '"int"')).rejects.toBeInstanceOf(SchemaInvalidError);
  });

  it('makes 5xx and 429 retriable SchemaRegistryUnavailableError', async () => {
    for (const status of [500, 503, 429]) {
      handler = (_, res) => reply(res, status, { error_code: 50001, message: 'storage down' });
      const error = await client()
        .subjects()
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(SchemaRegistryUnavailableError);
      expect(isRetriable(error)).toBe(true);
      expect((error as Error).message).toContain('storage down');
    }
  });

  it('makes refusals retrying cannot fix non-retriable, with a hint for credentials', async () => {
    handler = (_, res) => reply(res, 401, { error_code: 40101, message: 'Unauthorized' });
    const error = await client()
      .subjects()
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SchemaRegistryRejectedError);
    expect(isRetriable(error)).toBe(false);
    expect((error as SchemaRegistryRejectedError).httpStatus).toBe(401);
    expect((error as SchemaRegistryRejectedError).registryCode).toBe(40101);
    expect((error as Error).message).toContain('RHEO_SCHEMA_REGISTRY_USERNAME');
  });

  it('reports a registry that does not answer in time, or at all, as unavailable', async () => {
    handler = () => {
      // never answers
    };
    const slow = await client({ timeoutMs: 100 })
      .subjects()
      .catch((e: unknown) => e);
    expect(slow).toBeInstanceOf(SchemaRegistryUnavailableError);
    expect((slow as Error).message).toContain('no answer within 100 ms');
    const spare = createServer();
    await new Promise<void>((resolve) => spare.listen(0, '127.0.0.1', resolve));
    const port = (spare.address() as AddressInfo).port;
    await new Promise((resolve) => spare.close(resolve));
    const closed = new HttpSchemaRegistry({ url: `http://127.0.0.1:${port}/apis/ccompat/v7` });
    const refused = await closed.subjects().catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(SchemaRegistryUnavailableError);
    expect((refused as Error).message).toContain('ECONNREFUSED');
  });
});

describe('registryMessages', () => {
  it('reads Confluent, Apicurio and plain bodies', () => {
    expect(registryMessages({ error_code: 409, message: 'incompatible' })).toEqual(['incompatible']);
    expect(
      registryMessages({
        title: 'Conflict',
        detail: 'Incompatible artifact',
        causes: [{ description: 'field removed', context: '/fields/1' }],
      }),
    ).toEqual(['Incompatible artifact', 'field removed at /fields/1']);
    expect(registryMessages({ is_compatible: false, messages: ['a', 'b'] })).toEqual(['a', 'b']);
    expect(registryMessages('plain text')).toEqual(['plain text']);
    expect(registryMessages(undefined)).toEqual([]);
  });
});
