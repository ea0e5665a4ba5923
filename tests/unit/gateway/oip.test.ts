/**
 * The Open Inference Protocol routes through Fastify's inject, as standard clients call them: bodies
 * with any content type or none, the binary tensor data extension both ways, metadata in the
 * [-1, features] form, outputs as the graph gives them, public readiness, and malformed frames
 * answered 400 `{ "error": "…" }`. The /v1 routes keep refusing non-JSON.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeTensor, parseInferResponse } from '../../../gateway/oip-binary.ts';
import { buildGatewayApp } from '../../../gateway/server.ts';
import { loadServingSettings } from '../../../gateway/settings.ts';
import type { GatewayServices } from '../../../gateway/types.ts';
import { loadConfig } from '../../../kernel/config.ts';
import { createLogger } from '../../../kernel/log.ts';
import { createRegistry } from '../../../kernel/metrics.ts';
import type { RegistryFollower } from '../../../registry/follower.ts';
import { MemoryRegistry } from '../../../registry/memory.ts';
import type { PredictionInput } from '../../../schemas/index.ts';
import { FileArtifactStore } from '../../../serving/artifacts/fs.ts';
import { ArtifactResolver } from '../../../serving/artifacts/store.ts';
import { ModelHost } from '../../../serving/host/host.ts';
import { FRAUD_FEATURES, fraudModelBytes, sklearnLikeModelBytes } from '../../support/models.ts';
import { fraudScore } from '../../support/serving.ts';

const dir = mkdtempSync(join(tmpdir(), 'rheo-oip-unit-'));
const store = new FileArtifactStore(dir);
const registry = new MemoryRegistry();
const logged: PredictionInput[] = [];
const KEY = { 'x-api-key': 'rheo-local-predict-key' };
const X = { amount: 50, hour_of_day: 2, distance_from_home_km: 10, merchant_risk: 0.4 };
const ROWS = [Object.values(X), [0, 0, 0, 0], [900, 3, 120, 0.9]];
let app: FastifyInstance;
let host: ModelHost;
let serverReady = true;

const inputs = FRAUD_FEATURES.map((name) => ({ name, type: 'DOUBLE' as const }));

beforeAll(async () => {
  const settings = loadServingSettings(loadConfig({}), {});
  const metrics = createRegistry('unit', { defaultMetrics: false });
  host = new ModelHost({ artifacts: new ArtifactResolver([store]), logger: createLogger('unit', { level: 'silent' }), metrics });
  registry.onChange((state) => void host.update(state));
  const services: GatewayServices = {
    settings: { ...settings, gateway: { ...settings.gateway, rateLimit: { perSecond: 1_000_000, burst: 1_000_000 } } },
    scoring: { host },
    host,
    follower: registry as unknown as RegistryFollower,
    registry,
    store,
    predictions: { append: (p) => void logged.push(p) },
    metrics,
    readiness: () => ({ ready: serverReady && host.status().ready, checks: {} }),
  };
  app = await buildGatewayApp(services);
  // `sk` is shaped as skl2onnx converts a classifier: input float_input [N, 4], output probabilities [N, 2].
  await registry.register(store, sklearnLikeModelBytes(), {
    model: 'sk',
    version: '1.0.0',
    actor: 'user:a',
    inputs,
    outputs: [{ name: 'probabilities', type: 'DOUBLE' }],
  });
  for (const [version, bias] of [
    ['1.0.0', -2],
    ['1.1.0', 1],
  ] as const)
    await registry.register(store, fraudModelBytes({ bias }), {
      model: 'fraud',
      version,
      actor: 'user:a',
      inputs,
      outputs: [{ name: 'probability', type: 'DOUBLE' }],
    });
  for (const model of ['sk', 'fraud']) {
    await registry.execute({ kind: 'request', model, version: '1.0.0', to: 'PRODUCTION', actor: 'user:a' });
    await registry.execute({ kind: 'approve', model, version: '1.0.0', actor: 'user:b' });
  }
  await host.update(registry.state);
});

afterAll(async () => {
  await app?.close();
  await host?.close();
  rmSync(dir, { recursive: true, force: true });
});

const f32 = (values: number[]) => Buffer.from(new Float32Array(values).buffer);
/** The positive class of `sk` (and the score of fraud@1.0.0) for a row. */
const score = (row: number[]) =>
  fraudScore(-2, Object.fromEntries(FRAUD_FEATURES.map((n, i) => [n, row[i] as number])) as typeof X);

/** A request as tritonclient frames it: the JSON header, then the binary inputs, with the header's length. */
function framed(header: unknown, ...binary: Buffer[]): { body: Buffer; headers: Record<string, string> } {
  const json = Buffer.from(JSON.stringify(header));
  return {
    body: Buffer.concat([json, ...binary]),
    headers: { ...KEY, 'inference-header-content-length': String(json.length) },
  };
}

const infer = (url: string, payload: string | Buffer, headers: Record<string, string> = KEY) =>
  app.inject({ method: 'POST', url, headers, payload });

const matrixJson = {
  inputs: [{ name: 'float_input', shape: [ROWS.length, 4], datatype: 'FP32', data: ROWS.flat() }],
};

describe('metadata', () => {
  it('lists the graph input as one FP32 [-1, features] tensor and each output as the graph gives it', async () => {
    const meta = await app.inject({ method: 'GET', url: '/v2/models/sk', headers: KEY });
    expect(meta.statusCode, meta.body).toBe(200);
    expect(meta.json()).toEqual({
      name: 'sk',
      versions: ['1.0.0'],
      platform: 'onnxruntime_onnx',
      inputs: [{ name: 'float_input', datatype: 'FP32', shape: [-1, 4] }],
      outputs: [{ name: 'probabilities', datatype: 'FP32', shape: [-1, 2] }],
      parameters: { version: '1.0.0', stage: 'PRODUCTION', production_version: '1.0.0', features: [...FRAUD_FEATURES] },
    });
    const server = await app.inject({ method: 'GET', url: '/v2', headers: KEY });
    expect(server.json().extensions).toEqual(['binary_tensor_data']);
  });
});

describe('JSON bodies, whatever the content type', () => {
  it.each([
    ['application/json', { 'content-type': 'application/json' }],
    ['application/octet-stream', { 'content-type': 'application/octet-stream' }],
    ['text/plain', { 'content-type': 'text/plain' }],
    ['no content type', {}],
  ] as const)('%s: 200, outputs [n, 2] as the graph gives them', async (_label, type) => {
    const response = await infer('/v2/models/sk/infer', JSON.stringify(matrixJson), { ...KEY, ...type });
    expect(response.statusCode, response.body).toBe(200);
    expect(response.headers['content-type']).toMatch(/^application\/json/);
    const [output] = response.json().outputs;
    expect(output).toMatchObject({ name: 'probabilities', datatype: 'FP32', shape: [3, 2] });
    ROWS.forEach((row, r) => {
      expect(output.data[2 * r + 1]).toBeCloseTo(score(row), 6);
      expect(output.data[2 * r] + output.data[2 * r + 1]).toBeCloseTo(1, 6);
    });
  });

  it('reads a gzip-encoded body', async () => {
    const response = await infer('/v2/models/sk/infer', gzipSync(JSON.stringify(matrixJson)), {
      ...KEY,
      'content-encoding': 'gzip',
    });
    expect(response.statusCode, response.body).toBe(200);
    const bad = await infer('/v2/models/sk/infer', JSON.stringify(matrixJson), { ...KEY, 'content-encoding': 'br' });
    expect(bad.statusCode).toBe(415);
  });

  it('keeps the /v1 JSON routes refusing other content types with 415', async () => {
    const body = JSON.stringify({ model: 'fraud', entity_id: 'a', inputs: X });
    for (const type of ['text/plain', 'application/octet-stream']) {
      const response = await app.inject({
        method: 'POST',
        url: '/v1/predict',
        headers: { ...KEY, 'content-type': type },
        payload: body,
      });
      expect(response.statusCode, type).toBe(415);
      expect(response.json().error.code).toBe('UNSUPPORTED_MEDIA_TYPE');
    }
  });
});

describe('binary tensor data', () => {
  const header = {
    id: 'bin-1',
    inputs: [{ name: 'float_input', shape: [ROWS.length, 4], datatype: 'FP32', parameters: { binary_data_size: 48 } }],
    parameters: { binary_data_output: true },
  };

  it('reads binary inputs and answers binary outputs, with the header length and octet-stream', async () => {
    const { body, headers } = framed(header, f32(ROWS.flat()));
    const response = await infer('/v2/models/sk/infer', body, { ...headers, 'content-type': 'application/octet-stream' });
    expect(response.statusCode, response.body).toBe(200);
    expect(response.headers['content-type']).toBe('application/octet-stream');
    const length = Number(response.headers['inference-header-content-length']);
    const raw = response.rawPayload;
    const head = JSON.parse(raw.subarray(0, length).toString());
    expect(head.outputs).toEqual([
      { name: 'probabilities', datatype: 'FP32', shape: [3, 2], parameters: { binary_data_size: 24 } },
    ]);
    expect(raw.length).toBe(length + 24);
    const parsed = parseInferResponse(raw, length) as { id: string; outputs: Array<{ data: number[] }> };
    expect(parsed.id).toBe('bin-1');
    for (const [r, row] of ROWS.entries()) expect(parsed.outputs[0]?.data[2 * r + 1]).toBeCloseTo(score(row), 6);
  });

  it('answers JSON when no output asks for binary, and per output when some do', async () => {
    const { parameters: _, ...jsonOut } = header;
    const plain = framed(jsonOut, f32(ROWS.flat()));
    const json = await infer('/v2/models/sk/infer', plain.body, plain.headers);
    expect(json.statusCode, json.body).toBe(200);
    expect(json.headers['inference-header-content-length']).toBeUndefined();
    expect(json.json().outputs[0].data).toHaveLength(6);
    // An output's own binary_data wins over the request's binary_data_output.
    const mixed = framed(
      { ...header, outputs: [{ name: 'probabilities', parameters: { binary_data: false } }] },
      f32(ROWS.flat()),
    );
    const answer = await infer('/v2/models/sk/infer', mixed.body, mixed.headers);
    expect(answer.headers['inference-header-content-length']).toBeUndefined();
    expect(answer.json().outputs[0].data).toHaveLength(6);
    const asked = framed({ inputs: matrixJson.inputs, outputs: [{ name: 'probabilities', parameters: { binary_data: true } }] });
    const binary = await infer('/v2/models/sk/infer', asked.body, asked.headers);
    expect(binary.headers['content-type']).toBe('application/octet-stream');
  });

  it('takes entity ids as a binary BYTES input, per-feature binary tensors, and other numeric datatypes', async () => {
    const ids = encodeTensor('BYTES', ['card-a', 'card-b', 'card-c']);
    const perFeature = FRAUD_FEATURES.map((name, c) => ({
      name,
      shape: [ROWS.length],
      datatype: 'FP64',
      parameters: { binary_data_size: 24 },
      data: ROWS.map((row) => row[c] as number),
    }));
    const bytes = perFeature.map((t) => Buffer.from(new Float64Array(t.data).buffer));
    const { body, headers } = framed(
      {
        inputs: [
          ...perFeature.map(({ data: _data, ...t }) => t),
          { name: 'entity_id', shape: [3], datatype: 'BYTES', parameters: { binary_data_size: ids.length } },
        ],
      },
      ...bytes,
      ids,
    );
    const before = logged.length;
    const response = await infer('/v2/models/fraud/infer', body, headers);
    expect(response.statusCode, response.body).toBe(200);
    expect(response.json().outputs[0]).toMatchObject({ name: 'probability', shape: [3] });
    for (const [r, row] of ROWS.entries()) expect(response.json().outputs[0].data[r]).toBeCloseTo(score(row), 6);
    expect(logged.slice(before).map((p) => p.entity_id)).toEqual(['card-a', 'card-b', 'card-c']);
  });

  it('answers malformed frames with 400 and a message saying what is wrong', async () => {
    const rows = f32(ROWS.flat());
    const cases: Array<[string, { body: Buffer; headers: Record<string, string> }, string]> = [
      [
        'header length past the body',
        { body: Buffer.from('{"inputs":[]}'), headers: { ...KEY, 'inference-header-content-length': '500' } },
        'Inference-Header-Content-Length 500 is larger than the body (13 bytes)',
      ],
      [
        'header length not a number',
        { body: Buffer.from('{}'), headers: { ...KEY, 'inference-header-content-length': 'ten' } },
        'must be a byte count',
      ],
      ['header not JSON', framedText('{"inputs":', rows), 'the inference header (the first 10 bytes) is not valid JSON'],
      [
        'size not matching shape',
        framed({ inputs: [{ ...header.inputs[0], parameters: { binary_data_size: 44 } }] }, rows.subarray(0, 44)),
        'input float_input: 44 bytes do not hold shape [3, 4] of FP32 (12 × 4 = 48 bytes)',
      ],
      ['size past the bytes', framed(header, rows.subarray(0, 40)), 'runs past the 40 bytes'],
      ['bytes no input claims', framed(header, rows, Buffer.from([1, 2])), '2 bytes of binary data after the header'],
      [
        'neither data nor size',
        framed({ inputs: [{ name: 'float_input', shape: [1, 4], datatype: 'FP32' }] }),
        'has neither data nor parameters.binary_data_size',
      ],
      [
        'an unknown output',
        framed({ ...header, outputs: [{ name: 'nope' }] }, rows),
        'unknown outputs nope; the model gives probabilities',
      ],
      [
        'classification',
        framed({ ...header, outputs: [{ name: 'probabilities', parameters: { classification: 2 } }] }, rows),
        'classification extension is not supported',
      ],
      [
        'shared memory',
        framed({
          inputs: [{ name: 'float_input', shape: [1, 4], datatype: 'FP32', parameters: { shared_memory_region: 'r' } }],
        }),
        'shared memory extension is not supported',
      ],
    ];
    for (const [label, { body, headers }, message] of cases) {
      const response = await infer('/v2/models/sk/infer', body, headers);
      expect(response.statusCode, `${label}: ${response.body}`).toBe(400);
      const answer = response.json();
      expect(typeof answer.error, label).toBe('string');
      expect(answer.error, label).toContain(message);
    }
    const empty = await infer('/v2/models/sk/infer', '', { ...KEY, 'content-type': 'application/octet-stream' });
    expect(empty.statusCode).toBe(400);
    const notJson = await infer('/v2/models/sk/infer', '{"inputs": [', { ...KEY, 'content-type': 'application/json' });
    expect(notJson.statusCode).toBe(400);
    expect(notJson.json()).toEqual({ error: 'the inference request is not valid JSON' });
  });
});

/** A frame whose header is the given (possibly broken) JSON text. */
function framedText(text: string, ...binary: Buffer[]) {
  const json = Buffer.from(text);
  return { body: Buffer.concat([json, ...binary]), headers: { ...KEY, 'inference-header-content-length': String(json.length) } };
}

describe('readiness for probes', () => {
  it('answers without a key: 200 when ready, 503 when not, 404 for what does not exist', async () => {
    expect((await app.inject({ method: 'GET', url: '/v2/health/live' })).statusCode).toBe(200);
    expect((await app.inject({ method: 'GET', url: '/v2/health/ready' })).statusCode).toBe(200);
    serverReady = false;
    const starting = await app.inject({ method: 'GET', url: '/v2/health/ready' });
    serverReady = true;
    expect(starting.statusCode).toBe(503);
    expect(starting.json()).toEqual({ ready: false });
    expect((await app.inject({ method: 'GET', url: '/v2/models/sk/ready' })).statusCode).toBe(200);
    expect((await app.inject({ method: 'GET', url: '/v2/models/sk/versions/1.0.0/ready' })).statusCode).toBe(200);
    expect((await app.inject({ method: 'GET', url: '/v2/models/nope/ready' })).statusCode).toBe(404);
    expect((await app.inject({ method: 'GET', url: '/v2/models/sk/versions/9.9.9/ready' })).statusCode).toBe(404);
    // A registered version nothing has loaded yet is not ready; a pinned request loads it.
    const cold = await app.inject({ method: 'GET', url: '/v2/models/fraud/versions/1.1.0/ready' });
    expect(cold.statusCode).toBe(503);
    expect(cold.json()).toEqual({ name: 'fraud', version: '1.1.0', ready: false });
    const pinned = await infer('/v2/models/fraud/versions/1.1.0/infer', JSON.stringify(matrixJson));
    expect(pinned.statusCode, pinned.body).toBe(200);
    expect(pinned.json()).toMatchObject({ model_version: '1.1.0', parameters: { variants: ['PINNED', 'PINNED', 'PINNED'] } });
    expect(pinned.json().outputs[0].data[0]).toBeCloseTo(fraudScore(1, X), 5);
    expect((await app.inject({ method: 'GET', url: '/v2/models/fraud/versions/1.1.0/ready' })).statusCode).toBe(200);
  });
});
