/**
 * Where a model's traffic goes, over HTTP (`admin` scope): set canary, A/B split and shadow versions,
 * roll production back, and point or remove aliases. Every write is a registry command: decided
 * against the folded log, refused with 404/409 and no event when illegal, otherwise produced to
 * `models.lifecycle` and read back before the answer. The actor is the API key's.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { executeCommand, MODEL_PLUGIN_DEPENDENCIES, reason, semver, tags, writeAccess } from './shared.ts';

async function modelTraffic(app: FastifyInstance): Promise<void> {
  app.put(
    '/v1/models/:name/traffic',
    {
      ...writeAccess,
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
      return executeCommand(app, {
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
      ...writeAccess,
      schema: {
        tags,
        summary: 'Roll production back (to the previous production version by default); clears canary, A/B and shadows',
        body: { type: 'object', additionalProperties: false, properties: { to: semver, reason } },
      },
    },
    async (request: FastifyRequest<{ Params: { name: string }; Body: { to?: string; reason?: string } | undefined }>) =>
      executeCommand(app, {
        kind: 'rollback',
        model: request.params.name,
        actor: request.actor,
        ...(request.body?.to ? { to: request.body.to } : {}),
        ...(request.body?.reason ? { reason: request.body.reason } : {}),
      }),
  );

  app.put(
    '/v1/models/:name/aliases/:alias',
    {
      ...writeAccess,
      schema: {
        tags,
        summary: 'Point an alias at a version',
        body: { type: 'object', required: ['version'], additionalProperties: false, properties: { version: semver } },
      },
    },
    async (request: FastifyRequest<{ Params: { name: string; alias: string }; Body: { version: string } }>) =>
      executeCommand(app, {
        kind: 'alias',
        model: request.params.name,
        alias: request.params.alias,
        version: request.body.version,
        actor: request.actor,
      }),
  );
  app.delete(
    '/v1/models/:name/aliases/:alias',
    { ...writeAccess, schema: { tags, summary: 'Remove an alias' } },
    async (request: FastifyRequest<{ Params: { name: string; alias: string } }>) =>
      executeCommand(app, {
        kind: 'alias',
        model: request.params.name,
        alias: request.params.alias,
        version: null,
        actor: request.actor,
      }),
  );
}

export const modelTrafficRoutes = fp(modelTraffic, {
  name: 'rheo-model-traffic',
  fastify: '5.x',
  decorators: { fastify: ['rheo'], request: ['actor'] },
  dependencies: MODEL_PLUGIN_DEPENDENCIES,
});
