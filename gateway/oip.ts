/**
 * The Open Inference Protocol (KServe "V2") REST routes, so standard inference clients work:
 * health, server and model metadata, model readiness, and inference. A tabular model's inputs are
 * listed one tensor per feature (FP32, shape [-1]); an infer request may send those, or a single
 * [n, features] tensor in registered order. Entity ids, which route canary and A/B traffic, come from
 * `parameters.entity_ids` (or a BYTES input `entity_id`); without them each row is routed by
 * `<request id>:<row>`. Readiness answers 200 for true and 400 for false, as the protocol says.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { RheoError, rheoError } from '../kernel/errors.ts';
import { resolveVersion, sortedVersions } from '../registry/queries.ts';
import type { ModelState } from '../registry/types.ts';
import type { FeatureValues, Instance, Scored } from '../serving/scoring.ts';
import { scoreAndLog } from './predict.ts';

interface TensorInput {
  name: string;
  shape: number[];
  datatype: string;
  data: unknown[];
  parameters?: Record<string, unknown>;
}

interface InferBody {
  id?: string;
  parameters?: { entity_ids?: string[]; [key: string]: unknown };
  inputs: TensorInput[];
  outputs?: Array<{ name: string }>;
}

const NUMERIC = new Set([
  'FP32',
  'FP64',
  'FP16',
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
      properties: { entity_ids: { type: 'array', maxItems: 100_000, items: { type: 'string', minLength: 1, maxLength: 256 } } },
    },
    inputs: {
      type: 'array',
      minItems: 1,
      maxItems: 1024,
      items: {
        type: 'object',
        required: ['name', 'shape', 'datatype', 'data'],
        properties: {
          name: { type: 'string', minLength: 1, maxLength: 256 },
          shape: { type: 'array', minItems: 1, maxItems: 2, items: { type: 'integer', minimum: 0, maximum: 1_000_000 } },
          datatype: { type: 'string', maxLength: 16 },
          data: { type: 'array' },
          parameters: { type: 'object' },
        },
      },
    },
    outputs: { type: 'array', items: { type: 'object', required: ['name'], properties: { name: { type: 'string' } } } },
  },
};

function flatten(data: unknown[]): unknown[] {
  return data.some(Array.isArray) ? (data as unknown[]).flat(Number.POSITIVE_INFINITY) : data;
}

/** Rows of feature values from the request tensors. */
export function rowsFromTensors(
  model: ModelState,
  version: string | undefined,
  body: InferBody,
): { rows: FeatureValues[]; entityIds: string[] | undefined } {
  const spec = (version ? resolveVersion(model, version) : resolveVersion(model, model.traffic.production_version ?? 'latest'))
    .spec;
  const names = spec.inputs.map((i) => i.name);
  let entityIds = body.parameters?.entity_ids;
  const tensors = body.inputs.filter((t) => {
    if (t.name !== 'entity_id') return true;
    if (t.datatype !== 'BYTES') throw new RheoError('BAD_REQUEST', 'input entity_id must be BYTES');
    entityIds = flatten(t.data).map(String);
    return false;
  });
  for (const t of tensors)
    if (!NUMERIC.has(t.datatype)) throw new RheoError('BAD_REQUEST', `input ${t.name}: datatype ${t.datatype} is not numeric`);
  let rows: FeatureValues[];
  const single = tensors.length === 1 ? tensors[0] : undefined;
  if (single && single.shape.length === 2 && single.shape[1] === names.length && !names.includes(single.name)) {
    // One [n, features] tensor in registered order.
    const n = single.shape[0] as number;
    const data = flatten(single.data);
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
        `unknown inputs ${unknown.join(', ')}; the model takes ${names.join(', ')} (or one [n, ${names.length}] tensor)`,
      );
    const n = tensors[0]?.shape[0] ?? 0;
    rows = Array.from({ length: n }, () => ({}));
    for (const [name, t] of byName) {
      const data = flatten(t.data);
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

export async function oipRoutes(app: FastifyInstance): Promise<void> {
  const { follower, host } = app.rheo;
  const tags = ['open inference protocol v2'];
  const model = (name: string): ModelState => {
    const m = follower.state.models.get(name);
    if (!m) throw rheoError('MODEL_NOT_FOUND', { subject: `model ${name}` });
    return m;
  };

  app.get('/v2/health/live', { config: { access: 'public' }, schema: { tags } }, async () => ({ live: true }));
  app.get('/v2/health/ready', { config: { access: 'public' }, schema: { tags } }, async (_request, reply) => {
    const { ready } = app.rheo.readiness();
    return reply.code(ready ? 200 : 400).send({ ready });
  });
  app.get('/v2', { config: { access: 'predict' }, schema: { tags } }, async () => ({
    name: 'rheo',
    version: '0.1.0',
    extensions: [],
  }));

  const metadata = async (request: FastifyRequest<{ Params: { name: string; version?: string } }>) => {
    const m = model(request.params.name);
    const v = resolveVersion(m, request.params.version ?? m.traffic.production_version ?? 'latest');
    return {
      name: m.name,
      versions: request.params.version ? [v.version] : sortedVersions(m).map((x) => x.version),
      platform: 'onnxruntime_onnx',
      inputs: v.spec.inputs.map((i) => ({ name: i.name, datatype: 'FP32', shape: [-1] })),
      outputs: v.spec.outputs.map((o) => ({ name: o.name, datatype: 'FP32', shape: [-1] })),
      parameters: { version: v.version, stage: v.stage, production_version: m.traffic.production_version },
    };
  };
  app.get('/v2/models/:name', { config: { access: 'predict' }, schema: { tags } }, metadata);
  app.get('/v2/models/:name/versions/:version', { config: { access: 'predict' }, schema: { tags } }, metadata);

  const ready = async (request: FastifyRequest<{ Params: { name: string; version?: string } }>, reply: FastifyReply) => {
    const table = host.table(request.params.name);
    const version = request.params.version;
    const isReady = table !== undefined && (version === undefined || table.versions.has(version));
    return reply.code(isReady ? 200 : 400).send({ name: request.params.name, ready: isReady });
  };
  app.get('/v2/models/:name/ready', { config: { access: 'predict' }, schema: { tags } }, ready);
  app.get('/v2/models/:name/versions/:version/ready', { config: { access: 'predict' }, schema: { tags } }, ready);

  const infer = async (
    request: FastifyRequest<{ Params: { name: string; version?: string }; Body: InferBody }>,
    reply: FastifyReply,
  ) => {
    const { name, version } = request.params;
    const body = request.body;
    const requestId = body.id ?? request.id;
    const { rows, entityIds } = rowsFromTensors(model(name), version, body);
    const instances: Instance[] = rows.map((inputs, r) => ({
      entityId: entityIds?.[r] ?? `${requestId}:${r}`,
      inputs,
      requestId,
    }));
    const outcomes = (await scoreAndLog(app, request, name, version, instances)) as Scored[];
    if (reply.sent) return reply;
    const first = outcomes[0] as Scored;
    const wanted = body.outputs?.map((o) => o.name);
    const outputNames = Object.keys(first.outputs).filter((n) => !wanted || wanted.includes(n));
    const versions = [...new Set(outcomes.map((o) => o.version))];
    return {
      model_name: name,
      ...(versions.length === 1 ? { model_version: versions[0] } : {}),
      id: requestId,
      parameters: {
        versions: outcomes.map((o) => o.version),
        variants: outcomes.map((o) => o.variant),
        prediction_ids: outcomes.map((o) => o.predictionId),
      },
      outputs: outputNames.map((n) => ({
        name: n,
        datatype: 'FP32',
        shape: [outcomes.length],
        data: outcomes.map((o) => o.outputs[n] ?? null),
      })),
    };
  };
  const opts = { config: { access: 'predict' as const }, schema: { tags, body: inferSchema } };
  app.post('/v2/models/:name/infer', opts, infer);
  app.post('/v2/models/:name/versions/:version/infer', opts, infer);
}
