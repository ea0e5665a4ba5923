/**
 * A model version's lifecycle over HTTP (`admin` scope): register a version (ONNX bytes uploaded as
 * base64, its graph checked against the declared inputs and outputs — 422 MODEL_INVALID naming the
 * graph's outputs when they do not fit — then stored content-addressed; the answer's `scoring` says
 * which output and column the version is scored from), request a stage transition, approve or reject a pending request,
 * and archive a version that takes no traffic. Every write is a registry command: decided against the
 * folded log, refused with 404/409 and no event when illegal, otherwise produced to `models.lifecycle`
 * and read back before the answer. The actor is the API key's.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { RheoError } from '../../kernel/errors.ts';
import { requireModel, resolveVersion, versionDetail } from '../../registry/queries.ts';
import type { Stage } from '../../registry/types.ts';
import type { ModelOutput, ValueType } from '../../schemas/index.ts';
import {
  eventSummaries,
  executeCommand,
  MODEL_PLUGIN_DEPENDENCIES,
  reason,
  registryWriter,
  semver,
  tags,
  writeAccess,
} from './shared.ts';

const name = { type: 'string', pattern: '^[A-Za-z][A-Za-z0-9_.-]{0,127}$' };
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

async function modelLifecycle(app: FastifyInstance): Promise<void> {
  const { store } = app.rheo;

  app.post(
    '/v1/models/:name/versions',
    {
      ...writeAccess,
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
      const { events, state, scoring } = await registryWriter(app).register(store, bytes, {
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
        events: eventSummaries(events),
        version: versionDetail(resolveVersion(requireModel(state, request.params.name), body.version)),
        scoring,
      };
    },
  );

  app.post(
    '/v1/models/:name/transitions',
    {
      ...writeAccess,
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
      return executeCommand(app, {
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
    { ...writeAccess, schema: decisionSchema('approve') },
    async (request: FastifyRequest<{ Params: { name: string }; Body: DecisionBody }>) => {
      const b = request.body;
      return executeCommand(app, {
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
    { ...writeAccess, schema: decisionSchema('reject') },
    async (request: FastifyRequest<{ Params: { name: string }; Body: DecisionBody }>) => {
      const b = request.body;
      return executeCommand(app, {
        kind: 'reject',
        model: request.params.name,
        actor: request.actor,
        reason: b.reason ?? '',
        ...(b.request_id ? { requestId: b.request_id } : {}),
        ...(b.version ? { version: b.version } : {}),
      });
    },
  );

  app.post(
    '/v1/models/:name/versions/:version/archive',
    {
      ...writeAccess,
      schema: {
        tags,
        summary: 'Archive a version that takes no traffic',
        body: { type: 'object', additionalProperties: false, properties: { reason } },
      },
    },
    async (request: FastifyRequest<{ Params: { name: string; version: string }; Body: { reason?: string } | undefined }>) =>
      executeCommand(app, {
        kind: 'archive',
        model: request.params.name,
        version: request.params.version,
        actor: request.actor,
        ...(request.body?.reason ? { reason: request.body.reason } : {}),
      }),
  );
}

export const modelLifecycleRoutes = fp(modelLifecycle, {
  name: 'rheo-model-lifecycle',
  fastify: '5.x',
  decorators: { fastify: ['rheo'], request: ['actor'] },
  dependencies: MODEL_PLUGIN_DEPENDENCIES,
});
