import type { FastifyInstance } from 'fastify';
import { IngestServerError } from '../ingestServerError';
import { bodyOf } from './bodyParser';
import { ADMIN_PREFIX } from './http';
import type { Server } from './server';
import { isObject, isValidAgentId } from './validation';

/** The test harness's routes: stats, faults, and commands to queue for agents. */
export function registerAdminRoutes(app: FastifyInstance, server: Server): void {
  app.get(`${ADMIN_PREFIX}stats`, async (request) => {
    const tenant = (request.query as Record<string, unknown>).tenant;
    return server.stats(typeof tenant === 'string' && tenant.length > 0 ? tenant : undefined);
  });
  app.get(`${ADMIN_PREFIX}faults`, async () => server.getFaults());
  app.put(`${ADMIN_PREFIX}faults`, async (request) => {
    const body = bodyOf(request);
    if (!isObject(body))
      throw new IngestServerError('VALIDATION_FAILED', 'body must be a JSON object of fault options', {
        status: 400,
      });
    return server.setFaults(body);
  });
  app.post(`${ADMIN_PREFIX}commands`, async (request, reply) => {
    const body = bodyOf(request);
    if (!isObject(body))
      throw new IngestServerError('VALIDATION_FAILED', 'body must be a JSON object', { status: 400 });
    const expiresIn = body.expires_in_seconds;
    if (
      expiresIn !== undefined &&
      (typeof expiresIn !== 'number' || !Number.isFinite(expiresIn) || expiresIn <= 0)
    ) {
      throw new IngestServerError('VALIDATION_FAILED', 'expires_in_seconds must be a positive number', {
        status: 400,
      });
    }
    if (body.agent_id !== undefined && !isValidAgentId(body.agent_id)) {
      throw new IngestServerError('VALIDATION_FAILED', 'agent_id must be 1..256 printable characters', {
        status: 400,
      });
    }
    const command = server.enqueueCommand({
      tenantId: body.tenant_id as string,
      type: body.type as string,
      ...(body.payload === undefined ? {} : { payload: body.payload as Record<string, unknown> }),
      ...(body.priority === undefined ? {} : { priority: body.priority as number }),
      ...(body.agent_id === undefined ? {} : { agentId: body.agent_id }),
      ...(expiresIn === undefined ? {} : { expiresAt: Date.now() + expiresIn * 1000 }),
    });
    return reply.status(201).send(command);
  });
}
