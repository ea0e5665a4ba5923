/**
 * Online feature reads over HTTP (the gateway's `features` area), as one Fastify plugin:
 *
 *   GET  /v1/features/:group/:entity[?features=a,b]   one entity's current vector
 *   POST /v1/features/:group  { entity_ids: [...], features?: [...] }   many entities, one store round trip
 *
 * The online store and the feature registry come in as plugin options (the gateway registers it
 * with its shared Redis store). Every route has a JSON schema; bad input answers 400, an unknown
 * group or feature 404/400, a store outage 503 — bodies are the gateway's one /v1 error shape,
 * `{ error: { code, message, retriable } }` from the error catalogue, also when the plugin is
 * registered on its own. Values are served with their event time and staleness, and `missing` lists the
 * requested features without a value (entity unknown or expired, or the value is null).
 */
import type { FastifyPluginAsync } from 'fastify';
import type { FeatureGroupDecl, FeatureValue } from '../features/declaration.ts';
import { getOnlineFeatures } from '../features/online/read.ts';
import type { OnlineStore } from '../features/online/store.ts';
import type { FeatureRegistry } from '../features/registry.ts';
import { ERROR_RESPONSE_SCHEMA, sendError, toRheoError } from './errors.ts';

export interface FeaturesRoutesOptions {
  online: OnlineStore;
  registry: FeatureRegistry;
  /** Most entities one POST may ask for; default 1000. */
  maxEntities?: number;
  now?: () => number;
}

export interface EntityFeatures {
  entity_id: string;
  found: boolean;
  /** Epoch ms of the values served; null when not found. */
  event_time: number | null;
  staleness_ms: number | null;
  features: Record<string, FeatureValue>;
  missing: string[];
}

const NAME = '^[a-z][a-z0-9_]*$';

const entityFeaturesSchema = {
  type: 'object',
  required: ['entity_id', 'found', 'event_time', 'staleness_ms', 'features', 'missing'],
  properties: {
    entity_id: { type: 'string' },
    found: { type: 'boolean' },
    event_time: { type: ['integer', 'null'] },
    staleness_ms: { type: ['integer', 'null'] },
    features: { type: 'object', additionalProperties: { type: ['number', 'string', 'boolean', 'null'] } },
    missing: { type: 'array', items: { type: 'string' } },
  },
} as const;

const errorSchema = ERROR_RESPONSE_SCHEMA;

export const featuresRoutes: FastifyPluginAsync<FeaturesRoutesOptions> = async (app, options) => {
  const { online, registry } = options;
  const maxEntities = options.maxEntities ?? 1000;
  const now = options.now ?? Date.now;

  app.setErrorHandler((error, request, reply) => {
    const rheo = toRheoError(error);
    if (rheo.status >= 500) request.log.error({ err: error, url: request.url }, 'feature read failed');
    return sendError(request, reply, rheo);
  });

  const read = async (group: FeatureGroupDecl, entityIds: readonly string[], features?: readonly string[]) => {
    const names = features && features.length > 0 ? features : group.features.map((f) => f.name);
    const refs = names.map((name) => `${group.name}:${name}`);
    const at = now();
    const vectors = await getOnlineFeatures(online, registry, entityIds, refs, { now: at });
    return vectors.map((vector, i): EntityFeatures => {
      const freshness = vector.groups[group.name];
      const values: Record<string, FeatureValue> = {};
      for (const name of names) values[name] = vector.values[`${group.name}:${name}`] ?? null;
      return {
        entity_id: entityIds[i] as string,
        found: freshness?.found ?? false,
        event_time: freshness?.eventTime ?? null,
        staleness_ms: freshness?.stalenessMs ?? null,
        features: values,
        missing: vector.missing.map((ref) => ref.slice(group.name.length + 1)),
      };
    });
  };

  app.get<{ Params: { group: string; entity: string }; Querystring: { features?: string } }>(
    '/v1/features/:group/:entity',
    {
      schema: {
        params: {
          type: 'object',
          required: ['group', 'entity'],
          properties: { group: { type: 'string', pattern: NAME }, entity: { type: 'string', minLength: 1, maxLength: 512 } },
        },
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { features: { type: 'string', pattern: '^[a-z][a-z0-9_]*(,[a-z][a-z0-9_]*)*$' } },
        },
        response: {
          200: {
            type: 'object',
            required: ['group', ...entityFeaturesSchema.required],
            properties: { group: { type: 'string' }, ...entityFeaturesSchema.properties },
          },
          '4xx': errorSchema,
          '5xx': errorSchema,
        },
      },
    },
    async (request) => {
      const group = registry.get(request.params.group);
      const [vector] = await read(group, [request.params.entity], request.query.features?.split(','));
      return { group: group.name, ...(vector as EntityFeatures) };
    },
  );

  app.post<{ Params: { group: string }; Body: { entity_ids: string[]; features?: string[] } }>(
    '/v1/features/:group',
    {
      schema: {
        params: { type: 'object', required: ['group'], properties: { group: { type: 'string', pattern: NAME } } },
        body: {
          type: 'object',
          required: ['entity_ids'],
          additionalProperties: false,
          properties: {
            entity_ids: {
              type: 'array',
              minItems: 1,
              maxItems: maxEntities,
              items: { type: 'string', minLength: 1, maxLength: 512 },
            },
            features: { type: 'array', minItems: 1, maxItems: 500, uniqueItems: true, items: { type: 'string', pattern: NAME } },
          },
        },
        response: {
          200: {
            type: 'object',
            required: ['group', 'entities'],
            properties: { group: { type: 'string' }, entities: { type: 'array', items: entityFeaturesSchema } },
          },
          '4xx': errorSchema,
          '5xx': errorSchema,
        },
      },
    },
    async (request) => {
      const group = registry.get(request.params.group);
      return { group: group.name, entities: await read(group, request.body.entity_ids, request.body.features) };
    },
  );
};

// Encapsulated on purpose (no fastify-plugin): the error handler above covers these routes only.
Object.assign(featuresRoutes, { [Symbol.for('fastify.display-name')]: 'rheo-features' });
