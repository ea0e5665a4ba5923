/**
 * The Open Inference Protocol (KServe "V2") REST routes, so standard inference clients (Triton's
 * `tritonclient`, KServe's) work as they come: health, server and model metadata, model readiness,
 * and inference, in JSON or with the binary tensor data extension (gateway/oip-binary.ts).
 *
 * - **Inputs.** Metadata lists what the graph takes: one FP32 tensor `[-1, features]` under the
 *   graph's input name, its columns in registered order (`parameters.features`). `infer` takes that
 *   `[n, features]` tensor (under any name; any numeric datatype), or one `[n]` / `[n, 1]` tensor
 *   per feature named after it. Entity ids, which route canary and A/B traffic, come from
 *   `parameters.entity_ids` or a BYTES input `entity_id`; without them each row is routed by
 *   `<request id>:<row>`.
 * - **Outputs.** One tensor per registered output, as the graph gives it: `[n]` or `[n, k]`, FP32
 *   (the serving runtime computes in float32). `outputs` may pick some; each, or the request's
 *   `parameters.binary_data_output`, may ask for binary data.
 * - **Bodies.** Infer bodies are read whatever their content type (tritonclient sends none, or
 *   `application/octet-stream`), optionally gzip/deflate encoded; a raw-body parser is registered for
 *   the infer routes alone, so every other route still refuses non-JSON with 415.
 * - **Health.** `/v2/health/live`, `/v2/health/ready` and model readiness are public, like `/healthz`
 *   and `/readyz`, so Kubernetes probes can use them: 200 when ready, 503 when not (yet), 404 for a
 *   model or version that does not exist. OIP clients read any status but 200 as false.
 * - **Errors** are `{ "error": "<message>" }`, as the protocol specifies (gateway/errors.ts).
 */
import { gunzipSync, inflateSync } from 'node:zlib';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { RheoError, rheoError } from '../kernel/errors.ts';
import { resolveVersion, sortedVersions } from '../registry/queries.ts';
import type { ModelState } from '../registry/types.ts';
import type { ModelVersionRegistered } from '../schemas/index.ts';
import type { LoadedModel } from '../serving/host/session.ts';
import type { FeatureValues, Instance, Scored } from '../serving/scoring.ts';
import {
  bindBinaryInputs,
  type RequestTensor,
  type ResponseTensor,
  serializeInferResponse,
  splitInferBody,
  type TensorValue,
} from './oip-binary.ts';
import { scoreAndLog } from './predict.ts';

interface RequestedOutput {
  name: string;
  parameters?: { binary_data?: boolean; [key: string]: unknown };
}

interface InferBody {
  id?: string;
  parameters?: { entity_ids?: string[]; binary_data_output?: boolean; [key: string]: unknown };
  inputs: RequestTensor[];
  outputs?: RequestedOutput[];
}

const NUMERIC = new Set([
  'FP32',
  'FP64',
  'FP16',
  'BF16',
  'INT8',
  'INT16',
  'INT32',
  'INT64',
  'UINT8',
  'UINT16',
  'UINT32',
  'UINT64',
  'BOOL',
]);

const inferSchema = {
  type: 'object',
  required: ['inputs'],
  additionalProperties: false,
  properties: {
    id: { type: 'string', maxLength: 256 },
    parameters: {
      type: 'object',
      properties: {
        entity_ids: { type: 'array', maxItems: 100_000, items: { type: 'string', minLength: 1, maxLength: 256 } },
        binary_data_output: { type: 'boolean' },
      },
    },
    inputs: {
      type: 'array',
      minItems: 1,
      maxItems: 1024,
      items: {
        type: 'object',
        required: ['name', 'shape', 'datatype'],
        properties: {
          name: { type: 'string', minLength: 1, maxLength: 256 },
          shape: { type: 'array', minItems: 1, maxItems: 2, items: { type: 'integer', minimum: 0, maximum: 1_000_000 } },
          datatype: { type: 'string', maxLength: 16 },
          data: { type: 'array' },
          parameters: { type: 'object', properties: { binary_data_size: { type: 'integer', minimum: 0 } } },
        },
      },
    },
    outputs: {
      type: 'array',
      maxItems: 1024,
      items: {
        type: 'object',
        required: ['name'],
        properties: {
          name: { type: 'string', maxLength: 256 },
          parameters: { type: 'object', properties: { binary_data: { type: 'boolean' } } },
        },
      },
    },
  },
};

/** The OIP datatype of a registered output: what the serving runtime returns for it (float outputs as float32). */
const OUTPUT_DATATYPE = 'FP32';

function flatten(data: unknown[]): unknown[] {
  return data.some(Array.isArray) ? (data as unknown[]).flat(Number.POSITIVE_INFINITY) : data;
}

/** The version an unpinned request is answered with when nothing else says: production, else the latest. */
function specOf(model: ModelState, version: string | undefined): ModelVersionRegistered {
  return resolveVersion(model, version ?? model.traffic.production_version ?? 'latest').spec;
}

/** Rows of feature values from the request tensors (their `data` already bound, binary or JSON). */
export function rowsFromTensors(
  spec: ModelVersionRegistered,
  body: Pick<InferBody, 'inputs' | 'parameters'>,
): { rows: FeatureValues[]; entityIds: string[] | undefined } {
  const names = spec.inputs.map((i) => i.name);
  let entityIds = body.parameters?.entity_ids;
  const tensors = body.inputs.filter((t) => {
    if (t.name !== 'entity_id') return true;
    if (t.datatype !== 'BYTES') throw new RheoError('BAD_REQUEST', 'input entity_id must be BYTES');
    entityIds = flatten(t.data ?? []).map(String);
    return false;
  });
  for (const t of tensors)
    if (!NUMERIC.has(t.datatype)) throw new RheoError('BAD_REQUEST', `input ${t.name}: datatype ${t.datatype} is not numeric`);
  let rows: FeatureValues[];
  const single = tensors.length === 1 ? tensors[0] : undefined;
  // One [n, features] tensor in registered order, under any name (a one-feature model's [n, 1] tensor
  // named after its feature reads the same either way).
  if (
    single &&
    single.shape.length === 2 &&
    single.shape[1] === names.length &&
    (names.length > 1 || !names.includes(single.name))
  ) {
    const n = single.shape[0] as number;
    const data = flatten(single.data ?? []);
    if (data.length !== n * names.length)
      throw new RheoError('BAD_REQUEST', `input ${single.name}: ${data.length} values do not fill shape [${n}, ${names.length}]`);
    rows = Array.from({ length: n }, (_, r) =>
      Object.fromEntries(names.map((name, c) => [name, toValue(data[r * names.length + c], single.name)])),
    );
  } else {
    const byName = new Map(tensors.map((t) => [t.name, t]));
    const unknown = tensors.filter((t) => !names.includes(t.name)).map((t) => t.name);
    if (unknown.length > 0)
      throw new RheoError(
        'BAD_REQUEST',
        `unknown inputs ${unknown.join(', ')}; the model takes one [n, ${names.length}] tensor (${names.join(', ')}), or one tensor per feature named after it`,
      );
    const n = tensors[0]?.shape[0] ?? 0;
    rows = Array.from({ length: n }, () => ({}));
    for (const [name, t] of byName) {
      const data = flatten(t.data ?? []);
      if (t.shape[0] !== n || data.length !== n || (t.shape.length === 2 && t.shape[1] !== 1))
        throw new RheoError(
          'BAD_REQUEST',
          `input ${name}: every per-feature tensor must be [${n}] or [${n}, 1] with ${n} values`,
        );
      for (let r = 0; r < n; r++) (rows[r] as FeatureValues)[name] = toValue(data[r], name);
    }
  }
  if (rows.length === 0) throw new RheoError('BAD_REQUEST', 'no rows to infer');
  if (entityIds && entityIds.length !== rows.length)
    throw new RheoError('BAD_REQUEST', `${entityIds.length} entity ids for ${rows.length} rows`);
  return { rows, entityIds };
}

function toValue(v: unknown, name: string): number | boolean {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'boolean') return v;
  throw new RheoError('BAD_REQUEST', `input ${name}: ${JSON.stringify(v)?.slice(0, 40)} is not a finite number`);
}

/** Extensions of the protocol that clients use and Rheo does not have: refused by name, not ignored. */
function refuseUnsupported(body: InferBody): void {
  for (const t of [...body.inputs, ...(body.outputs ?? [])])
    if (t.parameters?.shared_memory_region !== undefined)
      throw new RheoError('BAD_REQUEST', `${t.name}: the shared memory extension is not supported; send the tensor in the body`);
  for (const o of body.outputs ?? [])
    if (o.parameters?.classification !== undefined)
      throw new RheoError('BAD_REQUEST', `output ${o.name}: the classification extension is not supported`);
}

/** The outputs a request asked for (every registered one when it names none), refusing unknown names. */
function requestedOutputs(spec: ModelVersionRegistered, outputs: RequestedOutput[] | undefined): Set<string> {
  const names = spec.outputs.map((o) => o.name);
  if (!outputs || outputs.length === 0) return new Set(names);
  const unknown = outputs.filter((o) => !names.includes(o.name)).map((o) => o.name);
  if (unknown.length > 0)
    throw new RheoError('BAD_REQUEST', `unknown outputs ${unknown.join(', ')}; the model gives ${names.join(', ')}`);
  return new Set(outputs.map((o) => o.name));
}

/** Whether an output goes back as binary: its own `binary_data`, else the request's `binary_data_output`. */
function binaryOutput(body: InferBody): (output: { name: string }) => boolean {
  const byName = new Map((body.outputs ?? []).map((o) => [o.name, o.parameters?.binary_data]));
  const fallback = body.parameters?.binary_data_output === true;
  return (output) => byName.get(output.name) ?? fallback;
}

/** Output tensors of the scored rows, one per registered output: [n] or [n, k] as the graph gives them. */
function outputTensors(
  layout: LoadedModel['layout'],
  outcomes: readonly Scored[],
  wanted: ReadonlySet<string>,
): ResponseTensor[] {
  return layout
    .filter((o) => wanted.has(o.name))
    .map(({ name, width }) => {
      const keys = width === 1 ? [name] : Array.from({ length: width }, (_, k) => `${name}_${k}`);
      const data: TensorValue[] = [];
      for (const outcome of outcomes)
        for (const key of keys) {
          const value = outcome.outputs[key];
          if (value === undefined)
            throw new RheoError(
              'PROCESSING_FAILED',
              `version ${outcome.version} does not give output ${key}; the versions serving this model differ in their outputs (pin a version)`,
            );
          data.push(value);
        }
      return {
        name,
        datatype: OUTPUT_DATATYPE,
        shape: width === 1 ? [outcomes.length] : [outcomes.length, width],
        data,
      };
    });
}

/** A request body as read off the wire: decoded per `content-encoding`, at most `limit` bytes once decoded. */
function decodedBody(request: FastifyRequest, raw: Buffer, limit: number): Buffer {
  const encoding = request.headers['content-encoding']?.trim().toLowerCase();
  if (encoding === undefined || encoding === '' || encoding === 'identity') return raw;
  try {
    if (encoding === 'gzip') return gunzipSync(raw, { maxOutputLength: limit });
    if (encoding === 'deflate') return inflateSync(raw, { maxOutputLength: limit });
  } catch (error) {
    if ((error as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE')
      throw new RheoError('PAYLOAD_TOO_LARGE', `the decoded body is over the ${limit}-byte limit`);
    throw new RheoError('BAD_REQUEST', `the body is not valid ${encoding}`);
  }
  throw new RheoError('UNSUPPORTED_MEDIA_TYPE', `content-encoding ${encoding} is not supported (gzip, deflate or none)`);
}

export async function oipRoutes(app: FastifyInstance): Promise<void> {
  const { follower, host } = app.rheo;
  const tags = ['open inference protocol v2'];
  const model = (name: string): ModelState => {
    const m = follower.state.models.get(name);
    if (!m) throw rheoError('MODEL_NOT_FOUND', { subject: `model ${name}` });
    return m;
  };
  /** A version's loaded session: the serving table's, or loaded now (pinned requests do the same). */
  const loaded = async (name: string, version: string): Promise<LoadedModel> =>
    host.table(name)?.versions.get(version) ?? host.version(name, version);
  const isLoaded = (name: string, version: string): boolean =>
    host.table(name)?.versions.has(version) === true || host.sessions().some((s) => s.model === name && s.version === version);

  app.get('/v2/health/live', { config: { access: 'public' }, schema: { tags } }, async () => ({ live: true }));
  app.get('/v2/health/ready', { config: { access: 'public' }, schema: { tags } }, async (_request, reply) => {
    const { ready } = app.rheo.readiness();
    return reply.code(ready ? 200 : 503).send({ ready });
  });
  app.get('/v2', { config: { access: 'predict' }, schema: { tags } }, async () => ({
    name: 'rheo',
    version: '0.1.0',
    extensions: ['binary_tensor_data'],
  }));

  const metadata = async (request: FastifyRequest<{ Params: { name: string; version?: string } }>) => {
    const m = model(request.params.name);
    const v = resolveVersion(m, request.params.version ?? m.traffic.production_version ?? 'latest');
    const session = await loaded(m.name, v.version);
    return {
      name: m.name,
      versions: request.params.version ? [v.version] : sortedVersions(m).map((x) => x.version),
      platform: 'onnxruntime_onnx',
      inputs: [{ name: session.inputName, datatype: 'FP32', shape: [-1, session.width] }],
      outputs: session.layout.map((o) => ({
        name: o.name,
        datatype: OUTPUT_DATATYPE,
        shape: o.width === 1 ? [-1] : [-1, o.width],
      })),
      parameters: {
        version: v.version,
        stage: v.stage,
        production_version: m.traffic.production_version,
        features: v.spec.inputs.map((i) => i.name),
      },
    };
  };
  app.get('/v2/models/:name', { config: { access: 'predict' }, schema: { tags } }, metadata);
  app.get('/v2/models/:name/versions/:version', { config: { access: 'predict' }, schema: { tags } }, metadata);

  const ready = async (request: FastifyRequest<{ Params: { name: string; version?: string } }>, reply: FastifyReply) => {
    const { name, version } = request.params;
    const m = model(name);
    if (version !== undefined && !m.versions.has(version)) throw rheoError('MODEL_NOT_FOUND', { subject: `${name}@${version}` });
    const isReady = version === undefined ? host.table(name) !== undefined : isLoaded(name, version);
    return reply.code(isReady ? 200 : 503).send({ name, ...(version ? { version } : {}), ready: isReady });
  };
  app.get('/v2/models/:name/ready', { config: { access: 'public' }, schema: { tags } }, ready);
  app.get('/v2/models/:name/versions/:version/ready', { config: { access: 'public' }, schema: { tags } }, ready);

  const infer = async (
    request: FastifyRequest<{ Params: { name: string; version?: string }; Body: InferBody }>,
    reply: FastifyReply,
  ) => {
    const { name, version } = request.params;
    const body = request.body;
    refuseUnsupported(body);
    const inputs = bindBinaryInputs(body.inputs, binaryTails.get(request) ?? NO_BYTES);
    const requestId = body.id ?? request.id;
    const spec = specOf(model(name), version);
    const wanted = requestedOutputs(spec, body.outputs);
    const { rows, entityIds } = rowsFromTensors(spec, { inputs, ...(body.parameters ? { parameters: body.parameters } : {}) });
    const instances: Instance[] = rows.map((inputs, r) => ({
      entityId: entityIds?.[r] ?? `${requestId}:${r}`,
      inputs,
      requestId,
    }));
    const outcomes = (await scoreAndLog(app, request, name, version, instances)) as Scored[];
    if (reply.sent) return reply;
    const versions = [...new Set(outcomes.map((o) => o.version))];
    const layout = (await loaded(name, (outcomes[0] as Scored).version)).layout;
    const response = {
      model_name: name,
      ...(versions.length === 1 ? { model_version: versions[0] } : {}),
      id: requestId,
      parameters: {
        versions: outcomes.map((o) => o.version),
        variants: outcomes.map((o) => o.variant),
        prediction_ids: outcomes.map((o) => o.predictionId),
      },
      outputs: outputTensors(layout, outcomes, wanted),
    };
    const serialized = serializeInferResponse(response, binaryOutput(body));
    if ('json' in serialized) return serialized.json;
    return reply
      .header('inference-header-content-length', String(serialized.headerLength))
      .type('application/octet-stream')
      .send(serialized.body);
  };
  const opts = { config: { access: 'predict' as const }, schema: { tags, body: inferSchema } };
  // Infer bodies in their own scope: its raw-body parser (any content type, the binary extension's
  // framing, then Fastify's own JSON parser with its prototype-poisoning checks) covers these routes only.
  await app.register(async (scope) => {
    const json = scope.getDefaultJsonParser('error', 'error');
    const limit = app.rheo.settings.gateway.bodyLimitBytes;
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'buffer' }, (request, raw, done) => {
      let frame: { json: Buffer; binary: Buffer };
      try {
        frame = splitInferBody(decodedBody(request, raw as Buffer, limit), request.headers['inference-header-content-length']);
      } catch (error) {
        done(error as Error, undefined);
        return;
      }
      if (frame.binary.length > 0) binaryTails.set(request, frame.binary);
      const header = request.headers['inference-header-content-length'];
      json(request, frame.json.toString('utf8'), (error, body) => {
        if (!error) return done(null, body);
        const what =
          header === undefined ? 'the inference request' : `the inference header (the first ${frame.json.length} bytes)`;
        done(
          new RheoError('BAD_REQUEST', frame.json.length === 0 ? 'the body is empty' : `${what} is not valid JSON`),
          undefined,
        );
      });
    });
    scope.post('/v2/models/:name/infer', opts, infer);
    scope.post('/v2/models/:name/versions/:version/infer', opts, infer);
  });
}

/** The binary tensor data after a request's JSON header, from the body parser to the handler. */
const binaryTails = new WeakMap<FastifyRequest, Buffer>();
const NO_BYTES = Buffer.alloc(0);
