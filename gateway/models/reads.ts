/**
 * Registry reads over HTTP (`predict` scope): list models, describe a model (versions, requests,
 * traffic, history) or a version (by number, alias, `production` or `latest`), and ask who was in
 * production at a time. Answers come from the gateway's folded view of `models.lifecycle`.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { modelDetail, modelSummary, productionAt, requireModel, resolveVersion, versionDetail } from '../../registry/queries.ts';
import { MODEL_PLUGIN_DEPENDENCIES, readAccess, tags } from './shared.ts';

async function modelReads(app: FastifyInstance): Promise<void> {
  const { follower } = app.rheo;
  type Named = FastifyRequest<{ Params: { name: string } }>;

  app.get('/v1/models', { ...readAccess, schema: { tags, summary: 'List models' } }, async () => ({
    models: [...follower.state.models.values()].map(modelSummary),
  }));
  app.get(
    '/v1/models/:name',
    { ...readAccess, schema: { tags, summary: 'Describe a model: versions, requests, traffic, history' } },
    async (request: Named) => modelDetail(requireModel(follower.state, request.params.name)),
  );
  app.get(
    '/v1/models/:name/versions/:version',
    { ...readAccess, schema: { tags, summary: 'Describe a version (number, alias, production or latest)' } },
    async (request: FastifyRequest<{ Params: { name: string; version: string } }>) =>
      versionDetail(resolveVersion(requireModel(follower.state, request.params.name), request.params.version)),
  );
  app.get(
    '/v1/models/:name/production',
    {
      ...readAccess,
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
}

export const modelReadRoutes = fp(modelReads, {
  name: 'rheo-model-reads',
  fastify: '5.x',
  decorators: { fastify: ['rheo'] },
  dependencies: MODEL_PLUGIN_DEPENDENCIES,
});
