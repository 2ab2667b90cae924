import { setTimeout as delay } from 'node:timers/promises';
import type { FastifyInstance } from 'fastify';
import { isRediverError } from '@rediver/core';
import type { ResolvedIngestServerOptions } from '../ingestServerOptions';
import { apiKeyOf, sameSecret } from './auth';
import { authenticated, closeAfterAnswer, mustCloseUnread, REFUSED } from './bodyParser';
import type { RefusedBody } from './bodyParser';
import { decideFault } from './faults';
import { ADMIN_PREFIX, AGENT_PREFIX, notFound, routeOf, sendError, STATS_PATH } from './http';
import type { Server } from './server';

/** Routing, authentication and injected faults before a body is read; answers and errors in one format. */
export function registerHooks(
  app: FastifyInstance,
  server: Server,
  options: ResolvedIngestServerOptions,
): void {
  app.decorateRequest('tenantId', '');

  app.addHook('onRequest', async (request, reply) => {
    // Routing and authentication come before any byte of the body is read.
    // Classify by the matched route, not the raw URL: the router decodes `%61gent`, a prefix check on the URL does not.
    const path = routeOf(request);
    if (path === '') return notFound(request, reply);
    if (path.startsWith(ADMIN_PREFIX)) {
      if (options.adminKey !== undefined && !sameSecret(apiKeyOf(request), options.adminKey)) {
        return sendError(reply, 401, {
          code: 'AUTH_FAILED',
          message: 'admin routes need Authorization: Bearer <adminKey>',
        });
      }
      authenticated.add(request.raw);
      return;
    }
    if (!path.startsWith(AGENT_PREFIX)) return;
    const tenant = server.tenantOf(apiKeyOf(request));
    if (tenant === undefined) {
      return sendError(reply, 401, {
        code: 'AUTH_FAILED',
        message: 'missing or unknown API key (use Authorization: Bearer <key> or X-API-Key)',
      });
    }
    request.tenantId = tenant;
    authenticated.add(request.raw);
    if (path === STATS_PATH) return;
    const faults = server.currentFaults();
    if (faults.latencyMs > 0) {
      server.countFault('latency');
      await delay(faults.latencyMs, undefined, { ref: false });
    }
    switch (decideFault(faults, options.random)) {
      case 'reset':
        server.countFault('reset');
        server.logger.debug({ path }, 'ingest-server: injected connection reset');
        reply.hijack();
        request.raw.socket.destroy();
        return reply;
      case 'rateLimited':
        server.countFault('rateLimited');
        reply.header('retry-after', String(faults.retryAfterSeconds));
        return sendError(reply, 429, { code: 'RATE_LIMITED', message: 'injected fault: rate limited' });
      case 'error':
        server.countFault('error');
        return sendError(reply, 503, {
          code: 'SERVER_ERROR',
          message: 'injected fault: service unavailable',
        });
      case 'none':
        return;
    }
  });

  app.addHook('preValidation', async (request) => {
    const body = request.body as Partial<RefusedBody> | undefined;
    if (typeof body === 'object' && body !== null && REFUSED in body) throw body[REFUSED];
  });

  app.addHook('onSend', async (request, reply, payload) => {
    if (closeAfterAnswer.has(request.raw) || mustCloseUnread(request)) reply.header('connection', 'close');
    return payload;
  });

  app.addHook('onResponse', async (request, reply) => {
    server.count(reply.statusCode);
    server.logger.debug(
      {
        method: request.method,
        path: request.url.split('?')[0],
        status: reply.statusCode,
        tenant: request.tenantId || undefined,
      },
      'ingest-server: request',
    );
  });

  app.setErrorHandler((error: unknown, request, reply) => {
    if (isRediverError(error)) {
      const status = error.status ?? 400;
      if (status >= 500)
        server.logger.error({ err: error.toJSON(), path: request.url }, 'ingest-server: server error');
      const errors = error.details?.errors;
      return sendError(reply, status, {
        code: error.code,
        message: error.message,
        ...(Array.isArray(errors) ? { errors } : {}),
      });
    }
    const e = error as { statusCode?: number; code?: string; message?: string };
    if (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
      return sendError(reply, e.statusCode, {
        code: e.statusCode === 415 ? 'UNSUPPORTED_ENCODING' : 'VALIDATION_FAILED',
        message: e.message ?? 'bad request',
      });
    }
    server.logger.error(
      {
        err: error instanceof Error ? { message: error.message, stack: error.stack } : String(error),
        path: request.url,
      },
      'ingest-server: internal error',
    );
    return sendError(reply, 500, { code: 'INTERNAL', message: 'internal error' });
  });

  app.setNotFoundHandler(notFound);
}
