/**
 * Predictions: `POST /v1/predict` (one instance, or up to RHEO_GATEWAY_MAX_INSTANCES) and
 * `POST /v1/predict/batch` (many, with a larger body limit). Inputs come inline and/or from the online
 * feature store by entity id; the model's traffic policy (or a pinned version) picks the version per
 * entity; the answer names model, version and variant. Every prediction, shadows included, is
 * handed to the prediction log, which never delays the reply.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { RheoError } from '../kernel/errors.ts';
import { type FeatureValues, type Instance, type ScoreOutcome, scoreMany } from '../serving/scoring.ts';

interface InstanceBody {
  entity_id: string;
  entities?: Record<string, string>;
  inputs?: FeatureValues;
  request_time?: number;
}

export interface PredictBody {
  model: string;
  version?: string;
  instances?: InstanceBody[];
  entity_id?: string;
  entities?: Record<string, string>;
  inputs?: FeatureValues;
  request_time?: number;
}

const featureValue = { type: ['number', 'boolean', 'null'] };
const inputs = {
  type: 'object',
  maxProperties: 1024,
  propertyNames: { maxLength: 256 },
  additionalProperties: featureValue,
  description: 'Request-time feature values by name; they win over online features of the same name.',
};
const entityId = {
  type: 'string',
  minLength: 1,
  maxLength: 256,
  description: 'Entity to score (e.g. a card id); routes canary and A/B splits.',
};
const entities = {
  type: 'object',
  maxProperties: 16,
  additionalProperties: { type: 'string', minLength: 1, maxLength: 256 },
  description: 'Ids by entity name for online features of other entities (e.g. `{ "merchant": "merchant-7" }`).',
};
const requestTime = { type: 'integer', minimum: 0, description: 'When the scored event happened, epoch ms (default: now).' };

export function predictBodySchema(maxInstances: number) {
  return {
    type: 'object',
    required: ['model'],
    additionalProperties: false,
    properties: {
      model: { type: 'string', minLength: 1, maxLength: 128 },
      version: {
        type: 'string',
        minLength: 1,
        maxLength: 64,
        description: 'Pin a version, alias, `production` or `latest`; by default the traffic policy decides.',
      },
      instances: {
        type: 'array',
        minItems: 1,
        maxItems: maxInstances,
        items: {
          type: 'object',
          required: ['entity_id'],
          additionalProperties: false,
          properties: { entity_id: entityId, inputs, request_time: requestTime },
        },
      },
      entity_id: entityId,
      entities,
      inputs,
      request_time: requestTime,
    },
  };
}

export const predictionsResponse = {
  type: 'object',
  properties: {
    model: { type: 'string' },
    request_id: { type: 'string' },
    predictions: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          prediction_id: { type: 'string' },
          entity_id: { type: 'string' },
          version: { type: 'string' },
          variant: { type: 'string' },
          score: { type: ['number', 'null'] },
          label: { type: ['string', 'null'] },
          outputs: { type: 'object', additionalProperties: { type: 'number' } },
        },
      },
    },
  },
};

/** The instances of a body, in order, whichever form it uses. */
export function instancesOf(body: PredictBody, requestId: string): Instance[] {
  if (body.instances && (body.entity_id !== undefined || body.inputs !== undefined))
    throw new RheoError('BAD_REQUEST', 'give either `instances` or a single `entity_id` with `inputs`, not both');
  const list =
    body.instances ??
    (body.entity_id !== undefined
      ? [{ entity_id: body.entity_id, inputs: body.inputs ?? {}, request_time: body.request_time }]
      : undefined);
  if (!list) throw new RheoError('BAD_REQUEST', 'body needs `instances` (an array) or an `entity_id`');
  return list.map((i) => ({
    entityId: i.entity_id,
    inputs: i.inputs ?? {},
    requestId,
    ...(i.entities ? { entities: i.entities } : {}),
    ...(i.request_time !== undefined ? { requestTime: i.request_time } : {}),
  }));
}

/** Scores instances and logs their predictions; throws the first instance failure (with its index). */
export async function scoreAndLog(
  app: FastifyInstance,
  request: FastifyRequest,
  model: string,
  version: string | undefined,
  instances: Instance[],
) {
  const { scoring, predictions } = app.rheo;
  const receivedAt = performance.now();
  const result = await scoreMany(scoring, instances, {
    model,
    source: 'ONLINE',
    receivedAt,
    shadows: 'background',
    ...(version ? { version } : {}),
  });
  const failed = firstFailure(result.outcomes);
  if (failed) {
    const { index, error } = failed;
    throw instances.length > 1
      ? new RheoError(error.code, `instances[${index}]: ${error.message}`, {
          ...(error.details ? { details: error.details } : {}),
        })
      : error;
  }
  if (Date.now() > request.deadline) throw new RheoError('DEADLINE_EXCEEDED', 'the request outlived its deadline');
  for (const outcome of result.outcomes) if (outcome.ok) predictions.append(outcome.prediction);
  result.shadows.then(
    (shadows) => {
      for (const p of shadows) predictions.append(p);
    },
    (error: unknown) => request.log.warn({ err: error }, 'shadow scoring failed'),
  );
  return result.outcomes;
}

function firstFailure(outcomes: ScoreOutcome[]): { index: number; error: RheoError } | undefined {
  for (let i = 0; i < outcomes.length; i++) {
    const o = outcomes[i] as ScoreOutcome;
    if (!o.ok) return { index: i, error: o.error };
  }
  return undefined;
}

export async function predictRoutes(app: FastifyInstance): Promise<void> {
  const { maxInstances, maxBatchInstances, batchBodyLimitBytes } = app.rheo.settings.gateway;
  const handler = async (request: FastifyRequest<{ Body: PredictBody }>, reply: FastifyReply) => {
    const body = request.body;
    const outcomes = await scoreAndLog(app, request, body.model, body.version, instancesOf(body, request.id));
    if (reply.sent) return reply;
    return {
      model: body.model,
      request_id: request.id,
      predictions: outcomes.map((o) =>
        o.ok
          ? {
              prediction_id: o.predictionId,
              entity_id: o.entityId,
              version: o.version,
              variant: o.variant,
              score: o.score,
              label: o.label,
              outputs: o.outputs,
            }
          : undefined,
      ),
    };
  };
  const tags = ['predict'];
  app.post<{ Body: PredictBody }>(
    '/v1/predict',
    {
      config: { access: 'predict' },
      schema: {
        summary: 'Score one instance or a few',
        description:
          'Inline inputs and/or online features by entity id; the traffic policy (production, canary, A/B) picks the version.',
        tags,
        body: predictBodySchema(maxInstances),
        response: { 200: predictionsResponse },
      },
    },
    handler,
  );
  app.post<{ Body: PredictBody }>(
    '/v1/predict/batch',
    {
      config: { access: 'predict' },
      bodyLimit: batchBodyLimitBytes,
      schema: {
        summary: 'Score many instances in one call',
        tags,
        body: predictBodySchema(maxBatchInstances),
        response: { 200: predictionsResponse },
      },
    },
    handler,
  );
}
