/**
 * Model management over HTTP (admin scope): list and describe models, register a version (ONNX bytes
 * uploaded as base64, stored content-addressed), request / approve / reject stage transitions, set
 * traffic, roll back, archive, set aliases, and ask who was in production when. Every write is a
 * registry command: decided against the folded log, refused with 404/409 and no event when illegal,
 * otherwise produced to `models.lifecycle` and read back before the answer. The actor is the API key's.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { RheoError } from '../kernel/errors.ts';
import type { RegistryClient } from '../registry/client.ts';
import type { RegistryCommand } from '../registry/commands.ts';
import { modelDetail, modelSummary, productionAt, requireModel, resolveVersion, versionDetail } from '../registry/queries.ts';
import type { Stage } from '../registry/types.ts';
import type { ModelOutput, ValueType } from '../schemas/index.ts';

const name = { type: 'string', pattern: '^[A-Za-z][A-Za-z0-9_.-]{0,127}$' };
const semver = { type: 'string', minLength: 5, maxLength: 64 };
const reason = { type: 'string', maxLength: 2000 };
const stage = { type: 'string', enum: ['DEVELOPMENT', 'STAGING', 'PRODUCTION', 'ARCHIVED'] };
const valueType = { type: 'string', enum: ['DOUBLE', 'LONG', 'BOOLEAN'] };

interface RegisterBody {
  version: string;
  artifact_base64: string;
  inputs: Array<{ name: string; type: ValueType; feature_group?: string | null }>;
  outputs: ModelOutput[];
  metrics?: Record<string, number>;
  params?: Record<string, number | string | boolean | null>;
  model_card?: string;
  reason?: string;
  lineage?: {
    training_set_query?: string;
    training_set_hash?: string;
    row_count?: number;
    run_id?: string;
    parent_version?: string;
    code_version?: string;
  };
}

export async function modelRoutes(app: FastifyInstance): Promise<void> {
  const { follower, store } = app.rheo;
  const tags = ['models'];
  const read = { config: { access: 'predict' as const } };
  const write = { config: { access: 'admin' as const } };
  const client = (): RegistryClient => {
    const registry = app.rheo.registry;
    if (!registry) throw new RheoError('MODEL_NOT_SERVING', 'this gateway runs without registry write access');
    return registry;
  };
  const execute = async (command: RegistryCommand) => {
    const { events, state } = await client().execute(command);
    return {
      events: events.map((e) => ({ event_id: e.event_id, event_type: e.event_type, event_time: e.event_time })),
      model: modelSummary(requireModel(state, command.model)),
    };
  };
  type Named = FastifyRequest<{ Params: { name: string } }>;

  app.get('/v1/models', { ...read, schema: { tags, summary: 'List models' } }, async () => ({
    models: [...follower.state.models.values()].map(modelSummary),
  }));
  app.get(
    '/v1/models/:name',
    { ...read, schema: { tags, summary: 'Describe a model: versions, requests, traffic, history' } },
    async (request: Named) => modelDetail(requireModel(follower.state, request.params.name)),
  );
  app.get(
    '/v1/models/:name/versions/:version',
    { ...read, schema: { tags, summary: 'Describe a version (number, alias, production or latest)' } },
    async (request: FastifyRequest<{ Params: { name: string; version: string } }>) =>
      versionDetail(resolveVersion(requireModel(follower.state, request.params.name), request.params.version)),
  );
  app.get(
    '/v1/models/:name/production',
    {
      ...read,
      schema: {
        tags,
        summary: 'Which version was in production at a time, and who approved it',
        querystring: { type: 'object', properties: { at: { type: 'integer', minimum: 0 } }, additionalProperties: false },
      },
    },
    async (request: FastifyRequest<{ Params: { name: string }; Querystring: { at?: number } }>) => {
      const model = requireModel(follower.state, request.params.name);
      const at = request.query.at ?? Date.now();
      return { at, period: productionAt(follower.state, model.name, at) ?? null, history: model.productionHistory };
    },
  );

  app.post(
    '/v1/models/:name/versions',
    {
      ...write,
      bodyLimit: app.rheo.settings.gateway.batchBodyLimitBytes,
      schema: {
        tags,
        summary: 'Register a version: upload the ONNX artifact (base64) with its input and output schema',
        params: { type: 'object', properties: { name } },
        body: {
          type: 'object',
          required: ['version', 'artifact_base64', 'inputs', 'outputs'],
          additionalProperties: false,
          properties: {
            version: semver,
            artifact_base64: { type: 'string', minLength: 4 },
            inputs: {
              type: 'array',
              minItems: 1,
              maxItems: 4096,
              items: {
                type: 'object',
                required: ['name', 'type'],
                additionalProperties: false,
                properties: {
                  name: { type: 'string', minLength: 1, maxLength: 256 },
                  type: valueType,
                  feature_group: { type: ['string', 'null'], maxLength: 128 },
                },
              },
            },
            outputs: {
              type: 'array',
              minItems: 1,
              maxItems: 64,
              items: {
                type: 'object',
                required: ['name', 'type'],
                additionalProperties: false,
                properties: { name: { type: 'string', minLength: 1 }, type: valueType },
              },
            },
            metrics: { type: 'object', additionalProperties: { type: 'number' } },
            params: { type: 'object', additionalProperties: { type: ['number', 'string', 'boolean', 'null'] } },
            model_card: { type: 'string', maxLength: 100_000 },
            reason,
            lineage: {
              type: 'object',
              additionalProperties: false,
              properties: {
                training_set_query: { type: 'string' },
                training_set_hash: { type: 'string' },
                row_count: { type: 'integer', minimum: 0 },
                run_id: { type: 'string' },
                parent_version: { type: 'string' },
                code_version: { type: 'string' },
              },
            },
          },
        },
      },
    },
    async (request: FastifyRequest<{ Params: { name: string }; Body: RegisterBody }>, reply) => {
      const body = request.body;
      if (!/^[A-Za-z0-9+/]+={0,2}$/.test(body.artifact_base64))
        throw new RheoError('BAD_REQUEST', 'artifact_base64 is not base64');
      const bytes = Buffer.from(body.artifact_base64, 'base64');
      const { events, state } = await client().register(store, bytes, {
        model: request.params.name,
        version: body.version,
        actor: request.actor,
        inputs: body.inputs,
        outputs: body.outputs,
        ...(body.metrics ? { metrics: body.metrics } : {}),
        ...(body.params ? { params: body.params } : {}),
        ...(body.model_card ? { modelCard: body.model_card } : {}),
        ...(body.reason ? { reason: body.reason } : {}),
        ...(body.lineage ? { lineage: body.lineage } : {}),
      });
      reply.code(201);
      return {
        events: events.map((e) => ({ event_id: e.event_id, event_type: e.event_type, event_time: e.event_time })),
        version: versionDetail(resolveVersion(requireModel(state, request.params.name), body.version)),
      };
    },
  );

  app.post(
    '/v1/models/:name/transitions',
    {
      ...write,
      schema: {
        tags,
        summary: 'Request a stage transition (protected stages then need another person’s approval)',
        body: {
          type: 'object',
          required: ['version', 'to'],
          additionalProperties: false,
          properties: {
            version: semver,
            to: stage,
            reason,
            checklist: { type: 'array', maxItems: 50, items: { type: 'string', minLength: 1, maxLength: 500 } },
          },
        },
      },
    },
    async (
      request: FastifyRequest<{
        Params: { name: string };
        Body: { version: string; to: Stage; reason?: string; checklist?: string[] };
      }>,
    ) => {
      const { version, to, reason: why, checklist } = request.body;
      return execute({
        kind: 'request',
        model: request.params.name,
        version,
        to,
        actor: request.actor,
        ...(why ? { reason: why } : {}),
        ...(checklist ? { checklist } : {}),
      });
    },
  );

  const decisionSchema = (kind: 'approve' | 'reject') => ({
    tags,
    summary:
      kind === 'approve'
        ? 'Approve a pending transition request (by request id or version)'
        : 'Reject a pending transition request',
    body: {
      type: 'object',
      additionalProperties: false,
      ...(kind === 'reject' ? { required: ['reason'] } : {}),
      properties: {
        request_id: { type: 'string', minLength: 1, maxLength: 64 },
        version: semver,
        reason,
        ...(kind === 'approve'
          ? {
              confirm: {
                anyOf: [
                  { type: 'boolean', const: true },
                  { type: 'array', items: { type: 'string' } },
                ],
              },
            }
          : {}),
      },
    },
  });
  type DecisionBody = { request_id?: string; version?: string; reason?: string; confirm?: true | string[] };
  app.post(
    '/v1/models/:name/approve',
    { ...write, schema: decisionSchema('approve') },
    async (request: FastifyRequest<{ Params: { name: string }; Body: DecisionBody }>) => {
      const b = request.body;
      return execute({
        kind: 'approve',
        model: request.params.name,
        actor: request.actor,
        ...(b.request_id ? { requestId: b.request_id } : {}),
        ...(b.version ? { version: b.version } : {}),
        ...(b.reason ? { reason: b.reason } : {}),
        ...(b.confirm ? { confirm: b.confirm } : {}),
      });
    },
  );
  app.post(
    '/v1/models/:name/reject',
    { ...write, schema: decisionSchema('reject') },
    async (request: FastifyRequest<{ Params: { name: string }; Body: DecisionBody }>) => {
      const b = request.body;
      return execute({
        kind: 'reject',
        model: request.params.name,
        actor: request.actor,
        reason: b.reason ?? '',
        ...(b.request_id ? { requestId: b.request_id } : {}),
        ...(b.version ? { version: b.version } : {}),
      });
    },
  );

  app.put(
    '/v1/models/:name/traffic',
    {
      ...write,
      schema: {
        tags,
        summary: 'Set canary, A/B split and shadow versions (omitted fields keep their value, null removes)',
        body: {
          type: 'object',
          additionalProperties: false,
          properties: {
            canary: {
              anyOf: [
                { type: 'null' },
                {
                  type: 'object',
                  required: ['version', 'percent'],
                  additionalProperties: false,
                  properties: { version: semver, percent: { type: 'number', exclusiveMinimum: 0, maximum: 100 } },
                },
              ],
            },
            ab: {
              anyOf: [
                { type: 'null' },
                {
                  type: 'object',
                  required: ['version', 'percent'],
                  additionalProperties: false,
                  properties: {
                    version: semver,
                    percent: { type: 'number', exclusiveMinimum: 0, exclusiveMaximum: 100 },
                    salt: { type: 'string', minLength: 1, maxLength: 128 },
                  },
                },
              ],
            },
            shadow: { type: 'array', maxItems: 8, items: semver },
            reason,
          },
        },
      },
    },
    async (
      request: FastifyRequest<{
        Params: { name: string };
        Body: {
          canary?: { version: string; percent: number } | null;
          ab?: { version: string; percent: number; salt?: string } | null;
          shadow?: string[];
          reason?: string;
        };
      }>,
    ) => {
      const b = request.body;
      return execute({
        kind: 'traffic',
        model: request.params.name,
        actor: request.actor,
        ...(b.canary !== undefined ? { canary: b.canary } : {}),
        ...(b.ab !== undefined ? { ab: b.ab } : {}),
        ...(b.shadow !== undefined ? { shadow: b.shadow } : {}),
        ...(b.reason ? { reason: b.reason } : {}),
      });
    },
  );

  app.post(
    '/v1/models/:name/rollback',
    {
      ...write,
      schema: {
        tags,
        summary: 'Roll production back (to the previous production version by default); clears canary, A/B and shadows',
        body: { type: 'object', additionalProperties: false, properties: { to: semver, reason } },
      },
    },
    async (request: FastifyRequest<{ Params: { name: string }; Body: { to?: string; reason?: string } | undefined }>) =>
      execute({
        kind: 'rollback',
        model: request.params.name,
        actor: request.actor,
        ...(request.body?.to ? { to: request.body.to } : {}),
        ...(request.body?.reason ? { reason: request.body.reason } : {}),
      }),
  );

  app.post(
    '/v1/models/:name/versions/:version/archive',
    {
      ...write,
      schema: {
        tags,
        summary: 'Archive a version that takes no traffic',
        body: { type: 'object', additionalProperties: false, properties: { reason } },
      },
    },
    async (request: FastifyRequest<{ Params: { name: string; version: string }; Body: { reason?: string } | undefined }>) =>
      execute({
        kind: 'archive',
        model: request.params.name,
        version: request.params.version,
        actor: request.actor,
        ...(request.body?.reason ? { reason: request.body.reason } : {}),
      }),
  );

  app.put(
    '/v1/models/:name/aliases/:alias',
    {
      ...write,
      schema: {
        tags,
        summary: 'Point an alias at a version',
        body: { type: 'object', required: ['version'], additionalProperties: false, properties: { version: semver } },
      },
    },
    async (request: FastifyRequest<{ Params: { name: string; alias: string }; Body: { version: string } }>) =>
      execute({
        kind: 'alias',
        model: request.params.name,
        alias: request.params.alias,
        version: request.body.version,
        actor: request.actor,
      }),
  );
  app.delete(
    '/v1/models/:name/aliases/:alias',
    { ...write, schema: { tags, summary: 'Remove an alias' } },
    async (request: FastifyRequest<{ Params: { name: string; alias: string } }>) =>
      execute({ kind: 'alias', model: request.params.name, alias: request.params.alias, version: null, actor: request.actor }),
  );
}
