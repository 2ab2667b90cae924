import type { FastifyInstance, FastifyRequest } from 'fastify';
import { API_PATHS, IDEMPOTENCY_KEY_HEADER } from '@rediver/core';
import { IngestServerError } from '../ingestServerError';
import type { ResolvedIngestServerOptions } from '../ingestServerOptions';
import type { CommandAction, StoredCommand, TenantStats } from '../ingestStore';
import { agentIdOf, tenantOf } from './auth';
import { bodyOf, rawBodyOf } from './bodyParser';
import { headerValue, STATS_PATH } from './http';
import type { Server } from './server';
import { isObject, isValidAgentId, validateFingerprintCheck, validateHeartbeat } from './validation';

/* The platform's agent API: ingest (reports, chunks, fingerprint checks), heartbeats and commands. */

const MAX_COMMAND_LIMIT = 100;
const DEFAULT_COMMAND_LIMIT = 10;

function idempotencyKeyOf(request: FastifyRequest): string | undefined {
  const key = headerValue(request.headers[IDEMPOTENCY_KEY_HEADER.toLowerCase()]);
  if (key === undefined) return undefined;
  if (key.length === 0 || key.length > 256) {
    throw new IngestServerError('VALIDATION_FAILED', 'Idempotency-Key must be 1..256 characters', {
      status: 400,
    });
  }
  return key;
}

export function registerAgentRoutes(
  app: FastifyInstance,
  server: Server,
  options: ResolvedIngestServerOptions,
): void {
  app.post(API_PATHS.ingest, async (request, reply) => {
    const tenant = tenantOf(request);
    const idempotencyKey = idempotencyKeyOf(request);
    const job = await server.pool.run(tenant, { kind: 'report', body: rawBodyOf(request), scanned: true });
    if (job.kind !== 'report') throw new IngestServerError('INTERNAL', 'body worker answered another job');
    const answer = server.store.applyPreparedReport(tenant, { report: job.report, idempotencyKey });
    return reply.status(answer.statusCode).send(answer.body);
  });

  app.post(API_PATHS.ingestChunk, async (request, reply) => {
    const tenant = tenantOf(request);
    const idempotencyKey = idempotencyKeyOf(request);
    const job = await server.pool.run(tenant, {
      kind: 'chunk',
      body: rawBodyOf(request),
      scanned: true,
      chunkDataLimits: options.chunkDataLimits,
    });
    if (job.kind !== 'chunk') throw new IngestServerError('INTERNAL', 'body worker answered another job');
    const answer = server.store.applyPreparedChunk(tenant, { ...job.chunk, idempotencyKey });
    if (answer.replayed)
      server.logger.debug(
        { reportId: job.chunk.reportId, index: job.chunk.chunkIndex },
        'ingest-server: duplicate chunk answered from store',
      );
    return reply.status(answer.statusCode).send(answer.body);
  });

  app.post(API_PATHS.ingestCheck, async (request) => {
    const fingerprints = validateFingerprintCheck(bodyOf(request));
    return server.store.checkFingerprints(tenantOf(request), fingerprints);
  });

  app.post(API_PATHS.heartbeat, async (request) => {
    const body = validateHeartbeat(bodyOf(request));
    const agentId = agentIdOf(request) ?? (isValidAgentId(body.name) ? body.name : undefined);
    if (agentId === undefined) {
      throw new IngestServerError(
        'VALIDATION_FAILED',
        'heartbeat needs an agent id: send X-Agent-ID (or a name)',
        { status: 400 },
      );
    }
    server.store.recordHeartbeat(tenantOf(request), agentId, body);
    return { status: 'ok', agent_id: agentId, tenant_id: tenantOf(request) };
  });

  app.get(API_PATHS.commands, async (request) => {
    const query = request.query as Record<string, unknown>;
    let limit = DEFAULT_COMMAND_LIMIT;
    if (query.limit !== undefined) {
      const raw = Array.isArray(query.limit) ? query.limit[0] : query.limit;
      limit = typeof raw === 'string' && /^\d{1,6}$/.test(raw) ? Number(raw) : Number.NaN;
      if (!Number.isInteger(limit) || limit < 1 || limit > MAX_COMMAND_LIMIT) {
        throw new IngestServerError(
          'VALIDATION_FAILED',
          `limit must be an integer from 1 to ${MAX_COMMAND_LIMIT}`,
          { status: 400 },
        );
      }
    }
    return server.store.pendingCommands(tenantOf(request), agentIdOf(request), limit).map(toWireCommand);
  });

  const lifecycle = (action: CommandAction) => async (request: FastifyRequest) => {
    const { id } = request.params as { id: string };
    const body = bodyOf(request);
    if (body !== undefined && !isObject(body)) {
      throw new IngestServerError('VALIDATION_FAILED', 'body must be a JSON object', { status: 400 });
    }
    const extra: { result?: Record<string, unknown>; errorMessage?: string } = {};
    if (action === 'complete' && body?.result !== undefined && body.result !== null) {
      if (!isObject(body.result))
        throw new IngestServerError('VALIDATION_FAILED', 'result must be a JSON object', { status: 400 });
      extra.result = body.result;
    }
    if (action === 'fail') {
      const message = body?.error_message;
      if (typeof message !== 'string' || message.length === 0 || message.length > 65_536) {
        throw new IngestServerError(
          'VALIDATION_FAILED',
          'error_message must be a string of 1..65536 characters',
          { status: 400 },
        );
      }
      extra.errorMessage = message;
    }
    return toWireCommand(server.store.transitionCommand(tenantOf(request), id, action, extra));
  };
  for (const action of ['acknowledge', 'start', 'complete', 'fail'] as const) {
    app.post(`${API_PATHS.commands}/:id/${action}`, lifecycle(action));
  }

  app.get(
    STATS_PATH,
    async (request): Promise<TenantStats> => server.store.stats(tenantOf(request)).tenants[0]!,
  );
}

/** The wire form of a command: core `Command` plus its lifecycle fields, without the tenant. */
export function toWireCommand(command: StoredCommand): Omit<StoredCommand, 'tenant_id'> {
  const { tenant_id: _tenant, ...wire } = command;
  return wire;
}
