/**
 * Access control for every route but health: API keys (`x-api-key` or `Authorization: Bearer`),
 * scopes per route (`config.access`), a token bucket per key, and a deadline per request after which
 * the client gets 504 and any later result is discarded. One hook, at the root, so every plugin's
 * routes — the feature store's included — are covered by default.
 */
import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { RheoError } from '../kernel/errors.ts';
import type { ApiKey } from './settings.ts';
import type { Access } from './types.ts';

export interface AccessOptions {
  apiKeys: readonly ApiKey[];
  rateLimit: { perSecond: number; burst: number };
  requestTimeoutMs: number;
}

interface Bucket {
  tokens: number;
  at: number;
}

const digest = (key: string) => createHash('sha256').update(key).digest('base64');

/** Token bucket: `perSecond` refill, `burst` capacity. Returns the seconds to wait when empty, else 0. */
export function takeToken(bucket: Bucket, now: number, limit: { perSecond: number; burst: number }): number {
  bucket.tokens = Math.min(limit.burst, bucket.tokens + ((now - bucket.at) / 1000) * limit.perSecond);
  bucket.at = now;
  if (bucket.tokens >= 1) {
    bucket.tokens -= 1;
    return 0;
  }
  return Math.ceil((1 - bucket.tokens) / limit.perSecond);
}

async function access(app: FastifyInstance, options: AccessOptions): Promise<void> {
  // Keys are compared by their SHA-256, so the lookup time does not depend on how much of a key matches.
  const keys = new Map(options.apiKeys.map((k) => [digest(k.key), k]));
  // Digests of keys seen recently, so the hot path does not hash on every request; bounded against key spraying.
  const seen = new Map<string, ApiKey | undefined>();
  const lookup = (presented: string): ApiKey | undefined => {
    if (seen.has(presented)) return seen.get(presented);
    const key = keys.get(digest(presented));
    if (seen.size >= 1024) seen.clear();
    seen.set(presented, key);
    return key;
  };
  const buckets = new Map<string, Bucket>();
  app.decorateRequest('actor', '');
  app.decorateRequest('deadline', 0);

  app.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
    const needed: Access = request.routeOptions.config.access ?? 'predict';
    const timeout = deadlineFor(request, options.requestTimeoutMs);
    request.deadline = Date.now() + timeout;
    if (needed === 'public') return;
    const presented = presentedKey(request);
    if (!presented)
      throw new RheoError('UNAUTHENTICATED', 'an API key is required: send it as `x-api-key` or `Authorization: Bearer <key>`');
    const key = lookup(presented);
    if (!key) throw new RheoError('UNAUTHENTICATED', 'unknown API key');
    if (!key.scopes.includes(needed))
      throw new RheoError(
        'FORBIDDEN',
        `this route needs the ${needed} scope; the key of ${key.principal} has ${key.scopes.join(', ')}`,
      );
    request.actor = `user:${key.principal}`;
    let bucket = buckets.get(key.principal);
    if (!bucket) {
      bucket = { tokens: options.rateLimit.burst, at: Date.now() };
      buckets.set(key.principal, bucket);
    }
    const wait = takeToken(bucket, Date.now(), options.rateLimit);
    if (wait > 0) {
      reply.header('retry-after', String(wait));
      throw new RheoError(
        'RATE_LIMITED',
        `rate limit of ${options.rateLimit.perSecond} requests/s exceeded for ${key.principal}`,
      );
    }
    const timer = setTimeout(() => {
      if (!reply.sent) {
        reply.code(504);
        reply.send(new RheoError('DEADLINE_EXCEEDED', `no answer within ${timeout} ms`));
      }
    }, timeout);
    reply.raw.once('close', () => clearTimeout(timer));
  });
}

function presentedKey(request: FastifyRequest): string | undefined {
  const header = request.headers['x-api-key'];
  if (typeof header === 'string' && header) return header;
  const auth = request.headers.authorization;
  if (auth?.startsWith('Bearer ')) return auth.slice(7).trim() || undefined;
  return undefined;
}

/** The client may ask for a shorter deadline (`x-request-timeout-ms`), never a longer one. */
function deadlineFor(request: FastifyRequest, max: number): number {
  const asked = Number(request.headers['x-request-timeout-ms']);
  return Number.isFinite(asked) && asked >= 1 ? Math.min(asked, max) : max;
}

export const accessPlugin = fp(access, { name: 'rheo-access', fastify: '5.x' });
