import type { FastifyReply, FastifyRequest } from 'fastify';

/* Paths, replies and request headers of the ingest server. */

export const AGENT_PREFIX = '/api/v1/agent/';
export const STATS_PATH = '/api/v1/agent/_stats';
export const ADMIN_PREFIX = '/_admin/';
/** Longest part of a request's path echoed in a message. */
const MAX_ECHOED_PATH = 200;

function statusText(status: number): string {
  const texts: Record<number, string> = {
    400: 'Bad Request',
    401: 'Unauthorized',
    403: 'Forbidden',
    404: 'Not Found',
    409: 'Conflict',
    413: 'Payload Too Large',
    414: 'URI Too Long',
    415: 'Unsupported Media Type',
    429: 'Too Many Requests',
    500: 'Internal Server Error',
    503: 'Service Unavailable',
  };
  return texts[status] ?? (status < 500 ? 'Bad Request' : 'Internal Server Error');
}

/** What an error answer carries besides its status: the stable code, the message, and any per-item `errors`. */
export interface ErrorBody {
  code: string;
  message: string;
  errors?: unknown[];
}

/** Answers `status` with the server's error format: `{ statusCode, error, code, message[, errors] }`. */
export function sendError(reply: FastifyReply, status: number, body: ErrorBody): FastifyReply {
  const { code, message, ...extra } = body;
  return reply
    .status(status)
    .send({ statusCode: status, error: statusText(status), code, message, ...extra });
}

export function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

export function notFound(request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const path = request.url.split('?')[0]!;
  const shown = path.length > MAX_ECHOED_PATH ? `${path.slice(0, MAX_ECHOED_PATH)}…` : path;
  return sendError(reply, 404, { code: 'NOT_FOUND', message: `no route ${request.method} ${shown}` });
}

/** The matched route's pattern (e.g. `/api/v1/agent/commands/:id/start`); empty when no route matched. */
export function routeOf(request: FastifyRequest): string {
  return request.routeOptions.url ?? '';
}
