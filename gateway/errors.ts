/**
 * One error mapping for the gateway: RheoErrors answer with their catalogue status and code;
 * Fastify's own failures (schema validation, body too large, bad JSON, wrong media type) become the
 * matching catalogue codes, so malformed input always gets a 4xx that says what is wrong. Every /v1
 * route answers `{ "error": { code, message, retriable, details? } }` (`ERROR_RESPONSE_SCHEMA`, which
 * plugins with their own error handler, such as the feature store's, answer with too); the Open
 * Inference Protocol routes answer `{ "error": "<message>" }` as that protocol specifies.
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { type ErrorCode, RheoError } from '../kernel/errors.ts';

const BY_FASTIFY_CODE: Record<string, ErrorCode> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'BAD_REQUEST',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'BAD_REQUEST',
  FST_ERR_CTP_INVALID_JSON_BODY: 'BAD_REQUEST',
  FST_ERR_VALIDATION: 'BAD_REQUEST',
};

const BY_STATUS: Record<number, ErrorCode> = {
  404: 'NOT_FOUND',
  413: 'PAYLOAD_TOO_LARGE',
  415: 'UNSUPPORTED_MEDIA_TYPE',
  429: 'RATE_LIMITED',
  504: 'DEADLINE_EXCEEDED',
};

/** The /v1 error body, as a response schema for the 4xx and 5xx of routes that declare their responses. */
export const ERROR_RESPONSE_SCHEMA = {
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message', 'retriable'],
      properties: {
        code: { type: 'string' },
        message: { type: 'string' },
        retriable: { type: 'boolean' },
        details: { type: 'object', additionalProperties: true },
      },
    },
  },
} as const;

export function toRheoError(error: unknown): RheoError {
  if (error instanceof RheoError) return error;
  const e = error as Partial<FastifyError> & { validation?: unknown; status?: number };
  if (e.validation) return new RheoError('BAD_REQUEST', e.message ?? 'invalid request');
  const byCode = e.code ? BY_FASTIFY_CODE[e.code] : undefined;
  if (byCode) return new RheoError(byCode, e.message ?? byCode);
  const status = e.statusCode ?? e.status;
  if (typeof status === 'number' && status >= 400 && status < 500)
    return new RheoError(BY_STATUS[status] ?? 'BAD_REQUEST', e.message ?? 'bad request');
  // SyntaxError from a body parser is the client's fault.
  if (error instanceof SyntaxError) return new RheoError('BAD_REQUEST', `malformed body: ${error.message}`);
  return new RheoError('PROCESSING_FAILED', 'internal error', { cause: error });
}

export function sendError(request: FastifyRequest, reply: FastifyReply, error: RheoError): FastifyReply {
  reply.code(error.status);
  if (error.code === 'DEADLINE_EXCEEDED' || error.retriable) reply.header('cache-control', 'no-store');
  if (request.url.startsWith('/v2/')) return reply.send({ error: error.message });
  return reply.send({ error: error.toJSON() });
}

async function errors(app: FastifyInstance): Promise<void> {
  app.setErrorHandler((error, request, reply) => {
    // A deadline already answered 504; whatever the handler did afterwards has no one to go to.
    if (reply.sent) return reply;
    const rheo = toRheoError(error);
    if (rheo.status >= 500 && rheo.code !== 'MODEL_NOT_SERVING' && rheo.code !== 'DEADLINE_EXCEEDED')
      request.log.error({ err: error, url: request.url }, 'request failed');
    return sendError(request, reply, rheo);
  });
  app.setNotFoundHandler((request, reply) =>
    sendError(request, reply, new RheoError('NOT_FOUND', `no route ${request.method} ${request.url.split('?')[0]}`)),
  );
}

export const errorsPlugin = fp(errors, { name: 'rheo-errors', fastify: '5.x' });
