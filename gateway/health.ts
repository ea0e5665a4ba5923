/**
 * Health, readiness and metrics. `/healthz` answers while the process runs. `/readyz` says whether
 * traffic can flow: the topics exist, the registry log is folded, and every production model is
 * loaded and warmed. `/metrics` is the Prometheus text of this gateway's own registry.
 */
import type { FastifyInstance } from 'fastify';

export async function healthRoutes(app: FastifyInstance): Promise<void> {
  const tags = ['health'];
  app.get('/healthz', { config: { access: 'public' }, schema: { tags, summary: 'Liveness' } }, async () => ({ status: 'ok' }));
  app.get(
    '/readyz',
    { config: { access: 'public' }, schema: { tags, summary: 'Readiness, with each check' } },
    async (_request, reply) => {
      const readiness = app.rheo.readiness();
      return reply.code(readiness.ready ? 200 : 503).send(readiness);
    },
  );
  app.get(
    '/metrics',
    { config: { access: 'predict' }, schema: { tags, summary: 'Prometheus metrics', hide: false } },
    async (_request, reply) => {
      const registry = app.rheo.metrics;
      reply.header('content-type', registry.contentType);
      return registry.metrics();
    },
  );
}
