import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { IngestServerError } from '../ingestServerError';
import { headerValue } from './http';
import { agentIdFromHeader } from './validation';

/* Who is calling: the API key, the admin key, the tenant and the agent id of a request. */

/** Reads the API key from `Authorization: Bearer` or `X-API-Key`. */
export function apiKeyOf(request: FastifyRequest): string | undefined {
  const auth = headerValue(request.headers.authorization);
  if (auth !== undefined) {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(auth);
    if (match) return match[1];
  }
  return headerValue(request.headers['x-api-key'])?.trim() || undefined;
}

/** Compares secrets in constant time (over their SHA-256, so lengths leak nothing either). */
export function sameSecret(given: string | undefined, expected: string): boolean {
  if (given === undefined) return false;
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

/** The caller's tenant; the onRequest hook set it. Defence in depth: no tenant, no access. */
export function tenantOf(request: FastifyRequest): string {
  if (request.tenantId === '') {
    throw new IngestServerError('AUTH_FAILED', 'missing or unknown API key', { status: 401 });
  }
  return request.tenantId;
}

export function agentIdOf(request: FastifyRequest): string | undefined {
  const id = headerValue(request.headers['x-agent-id']);
  return id === undefined ? undefined : agentIdFromHeader(id);
}
