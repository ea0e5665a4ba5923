/** The model-management plugins declare what they need: each refuses to register without the `rheo` decorator or the access and errors plugins. */
import Fastify from 'fastify';
import fp from 'fastify-plugin';
import { describe, expect, it } from 'vitest';
import { modelLifecycleRoutes } from '../../../gateway/models/lifecycle.ts';
import { modelReadRoutes } from '../../../gateway/models/reads.ts';
import { modelTrafficRoutes } from '../../../gateway/models/traffic.ts';
import type { GatewayServices } from '../../../gateway/types.ts';
import { emptyState } from '../../../registry/index.ts';

const PLUGINS = [
  ['rheo-model-reads', modelReadRoutes],
  ['rheo-model-lifecycle', modelLifecycleRoutes],
  ['rheo-model-traffic', modelTrafficRoutes],
] as const;

/** Stand-ins under the names the real plugins carry, so only the dependency check is under test. */
const errorsStandIn = fp(async () => undefined, { name: 'rheo-errors' });
const accessStandIn = fp(
  async (app) => {
    app.decorateRequest('actor', '');
  },
  { name: 'rheo-access' },
);

/** A Fastify app with the gateway's validator options (the register schema uses union types). */
function bareApp() {
  return Fastify({ ajv: { customOptions: { allowUnionTypes: true } } });
}

function services(): GatewayServices {
  const settings = { gateway: { batchBodyLimitBytes: 1024 } } as GatewayServices['settings'];
  return { settings, follower: { state: emptyState() } } as GatewayServices;
}

describe('model-management plugins', () => {
  it.each(PLUGINS)('%s refuses to register without the rheo decorator', async (_name, plugin) => {
    const app = bareApp();
    await app.register(errorsStandIn);
    await app.register(accessStandIn);
    await expect(app.register(plugin)).rejects.toMatchObject({ code: 'FST_ERR_PLUGIN_NOT_PRESENT_IN_INSTANCE' });
  });

  it.each(PLUGINS)('%s refuses to register before the access plugin', async (_name, plugin) => {
    const app = bareApp();
    app.decorate('rheo', services());
    app.decorateRequest('actor', '');
    await app.register(errorsStandIn);
    await expect(app.register(plugin)).rejects.toMatchObject({
      code: 'FST_ERR_PLUGIN_DEPENDENCY_NOT_REGISTERED',
      message: expect.stringContaining('rheo-access'),
    });
  });

  it('register their routes once everything they depend on is there', async () => {
    const app = bareApp();
    app.decorate('rheo', services());
    await app.register(errorsStandIn);
    await app.register(accessStandIn);
    for (const [, plugin] of PLUGINS) await app.register(plugin);
    await app.ready();
    expect(app.hasRoute({ method: 'GET', url: '/v1/models' })).toBe(true);
    expect(app.hasRoute({ method: 'POST', url: '/v1/models/:name/versions/:version/archive' })).toBe(true);
    expect(app.hasRoute({ method: 'DELETE', url: '/v1/models/:name/aliases/:alias' })).toBe(true);
    const listed = await app.inject({ method: 'GET', url: '/v1/models' });
    expect(listed.json()).toEqual({ models: [] });
    await app.close();
  });
});
