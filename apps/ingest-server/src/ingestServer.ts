import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { availableParallelism } from 'node:os';
import { setTimeout as delay } from 'node:timers/promises';
import type Database from 'better-sqlite3';
import Fastify from 'fastify';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { API_PATHS, IDEMPOTENCY_KEY_HEADER, isRediverError } from '@rediver/core';
import type { Logger } from '@rediver/core';
import type {
  CommandAction,
  EnqueueCommandInput,
  HeartbeatRecord,
  IngestStats,
  IngestStore,
  StoredCommand,
  TenantStats,
} from './ingestStore';
import { IngestStore as Store } from './ingestStore';
import { IngestServerError } from './ingestServerError';
import { resolveFaults, resolveIngestServerOptions } from './ingestServerOptions';
import type { FaultOptions, IngestServerOptions, ResolvedIngestServerOptions } from './ingestServerOptions';
import { BodyPool } from './internal/bodyPool';
import { parseContentEncoding, readBoundedBody } from './internal/boundedDecoder';
import type { BodyEncoding } from './internal/boundedDecoder';
import {
  CHUNK_ENVELOPE_CONTENT_LIMITS,
  REPORT_CONTENT_LIMITS,
  SMALL_BODY_CONTENT_LIMITS,
} from './internal/contentLimits';
import type { ContentLimits } from './internal/contentLimits';
import { decideFault } from './internal/faults';
import type { FaultCounts } from './internal/faults';
import { JsonScanner } from './internal/jsonScanner';
import {
  agentIdFromHeader,
  isObject,
  isValidAgentId,
  parseJsonBody,
  validateFingerprintCheck,
  validateHeartbeat,
} from './internal/validation';

/** Request counters of a running server. */
export interface IngestServerMetrics {
  /** Requests answered (including refused ones). */
  requests: number;
  /** Answers by HTTP status. */
  byStatus: Record<string, number>;
  /** Faults injected. */
  faults: FaultCounts;
  /** Chunk and report bodies decoded on the main thread (small ones) and on body workers (big ones). */
  bodies: { inline: number; worker: number };
}

/** A running ingest server. */
export interface IngestServer extends AsyncDisposable {
  /** Base URL, e.g. `http://127.0.0.1:41234` (no trailing slash). */
  readonly url: string;
  /** Port it listens on. */
  readonly port: number;
  /** Host it listens on. */
  readonly host: string;
  /** The SQLite store. */
  readonly store: IngestStore;
  /** The store's better-sqlite3 database, for ad-hoc queries in tests. */
  readonly db: Database.Database;
  /** Totals per tenant and report (only `tenantId`'s when given). */
  stats(tenantId?: string): IngestStats;
  /** Queues a command for a tenant's agents (what `POST /_admin/commands` and the CLI's `enqueue` do). */
  enqueueCommand(input: EnqueueCommandInput): StoredCommand;
  /** A command of a tenant, with its lifecycle state. */
  getCommand(tenantId: string, id: string): StoredCommand | undefined;
  /** The last heartbeat an agent of a tenant sent. */
  lastHeartbeat(tenantId: string, agentId: string): HeartbeatRecord | undefined;
  /** Changes faults at runtime (merged into the current ones); returns the result. Throws INVALID_OPTION. */
  setFaults(faults: Partial<FaultOptions>): FaultOptions;
  /** The current faults. */
  getFaults(): FaultOptions;
  /** Adds or replaces an API key → tenant mapping at runtime. */
  setApiKey(apiKey: string, tenantId: string): void;
  /** Request and fault counters. */
  metrics(): IngestServerMetrics;
  /** Stops listening, closes connections and the database. Idempotent (same promise each call). */
  close(): Promise<void>;
}

declare module 'fastify' {
  interface FastifyRequest {
    tenantId: string;
  }
}

const AGENT_PREFIX = '/api/v1/agent/';
const STATS_PATH = '/api/v1/agent/_stats';
const ADMIN_PREFIX = '/_admin/';
const REFUSED = Symbol('refused');
const RAW_BODY = Symbol('rawBody');
/** Requests whose refused body was not drained: their connection closes after the answer. */
const closeAfterAnswer = new WeakSet<IncomingMessage>();
/** Requests whose body the server started to read (the body parser ran). */
const bodyRead = new WeakSet<IncomingMessage>();
/** Requests of a known tenant: a body they send is worth draining to keep their connection alive. */
const authenticated = new WeakSet<IncomingMessage>();
const MAX_COMMAND_LIMIT = 100;
/** Most bytes of a tenant's body refused before reading that are read and discarded to keep the connection alive. */
const MAX_DRAIN_BYTES = 64 * 1024 * 1024;
/**
 * Most bytes of a body read and discarded after an answer given before reading it to a caller without a valid
 * key, or for an unknown route: more and the connection is closed instead. Nobody unauthenticated gets the
 * server to read megabytes.
 */
const MAX_ANONYMOUS_DRAIN_BYTES = 64 * 1024;
const DEFAULT_COMMAND_LIMIT = 10;
/** Longest path parameter (a command id): longer ones are answered 414 `VALIDATION_FAILED`. */
const MAX_PATH_PARAM_LENGTH = 100;
/** Longest part of a request's path echoed in a message. */
const MAX_ECHOED_PATH = 200;
/**
 * Heap of one body worker, MiB: a safety net far above what any body within the content bounds needs (about 5x
 * its decoded size, at most a few hundred MiB), and far above its largest single allocation, so that a worker
 * that does run out is stopped cleanly (413) instead of taking the process down.
 */
const BODY_WORKER_HEAP_MB = 1024;
/** Bodies one tenant may have waiting for a body worker before it gets 429s. */
const MAX_QUEUED_BODIES_PER_TENANT = 64;
/**
 * Bodies (and decoded chunk data) up to this size are decoded and validated on the main thread when the machine
 * has fewer than 4 cores: about 10 ms of work, less than a trip to a worker costs when the workers would only take
 * CPU from the main thread anyway. An agent's chunk (500 findings, about 0.5 MiB) then stays on the main thread;
 * anything bigger goes to a worker, so no body holds the event loop for long. With 4 cores or more every chunk and
 * report body goes to a worker (they run in parallel with the main thread's SQLite writes).
 */
const INLINE_BODY_BYTES = availableParallelism() >= 4 ? 0 : 1024 * 1024;

interface RefusedBody {
  [REFUSED]: unknown;
}

/** A chunk or report body read and scanned on the main thread; the pool does the rest. */
interface RawBody {
  [RAW_BODY]: Buffer;
}

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

function sendError(
  reply: FastifyReply,
  status: number,
  code: string,
  message: string,
  extra: Record<string, unknown> = {},
): FastifyReply {
  return reply
    .status(status)
    .send({ statusCode: status, error: statusText(status), code, message, ...extra });
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** Reads the API key from `Authorization: Bearer` or `X-API-Key`. */
function apiKeyOf(request: FastifyRequest): string | undefined {
  const auth = headerValue(request.headers.authorization);
  if (auth !== undefined) {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(auth);
    if (match) return match[1];
  }
  return headerValue(request.headers['x-api-key'])?.trim() || undefined;
}

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

function bodyOf(request: FastifyRequest): unknown {
  return request.body;
}

/** The raw bytes of a chunk or report body (scanned, not parsed). */
function rawBodyOf(request: FastifyRequest): Buffer {
  const body = request.body as Partial<RawBody> | undefined;
  const raw = typeof body === 'object' && body !== null ? body[RAW_BODY] : undefined;
  if (raw === undefined)
    throw new IngestServerError('VALIDATION_FAILED', 'a JSON body is required', { status: 400 });
  return raw;
}

function notFound(request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const path = request.url.split('?')[0]!;
  const shown = path.length > MAX_ECHOED_PATH ? `${path.slice(0, MAX_ECHOED_PATH)}…` : path;
  return sendError(reply, 404, 'NOT_FOUND', `no route ${request.method} ${shown}`);
}

/** Compares secrets in constant time (over their SHA-256, so lengths leak nothing either). */
function sameSecret(given: string | undefined, expected: string): boolean {
  if (given === undefined) return false;
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

class Server implements IngestServer {
  url = '';
  port = 0;
  readonly host: string;
  readonly store: IngestStore;
  readonly db: Database.Database;
  private faults: FaultOptions;
  private readonly apiKeys: Map<string, string>;
  private readonly counters: Omit<IngestServerMetrics, 'bodies'> = {
    requests: 0,
    byStatus: {},
    faults: { latency: 0, reset: 0, rateLimited: 0, error: 0 },
  };
  private closing: Promise<void> | undefined;
  /** Decodes, scans, parses and validates chunk and report bodies off the main thread. */
  readonly pool: BodyPool;

  constructor(
    private readonly app: FastifyInstance,
    private readonly options: ResolvedIngestServerOptions,
    store: IngestStore,
  ) {
    this.pool = new BodyPool({
      workers: options.bodyWorkers,
      maxWorkerHeapMb: BODY_WORKER_HEAP_MB,
      maxQueuedPerTenant: MAX_QUEUED_BODIES_PER_TENANT,
      inlineBytes: INLINE_BODY_BYTES,
      logger: options.logger,
    });
    this.store = store;
    this.db = store.db;
    this.faults = { ...options.faults };
    this.apiKeys = new Map(Object.entries(options.apiKeys));
    this.host = options.host;
  }

  /** Records the bound port once listening. */
  listening(port: number): void {
    this.port = port;
    const urlHost = this.host.includes(':') ? `[${this.host}]` : this.host;
    this.url = `http://${urlHost}:${port}`;
  }

  get logger(): Logger {
    return this.options.logger;
  }

  tenantOf(apiKey: string | undefined): string | undefined {
    return apiKey === undefined ? undefined : this.apiKeys.get(apiKey);
  }

  currentFaults(): FaultOptions {
    return this.faults;
  }

  count(status: number): void {
    this.counters.requests++;
    this.counters.byStatus[status] = (this.counters.byStatus[status] ?? 0) + 1;
  }

  countFault(kind: keyof FaultCounts): void {
    this.counters.faults[kind]++;
  }

  stats(tenantId?: string): IngestStats {
    return this.store.stats(tenantId);
  }

  enqueueCommand(input: EnqueueCommandInput): StoredCommand {
    return this.store.enqueueCommand(input);
  }

  getCommand(tenantId: string, id: string): StoredCommand | undefined {
    return this.store.getCommand(tenantId, id);
  }

  lastHeartbeat(tenantId: string, agentId: string): HeartbeatRecord | undefined {
    return this.store.lastHeartbeat(tenantId, agentId);
  }

  setFaults(faults: Partial<FaultOptions>): FaultOptions {
    this.faults = resolveFaults(this.faults, faults);
    this.logger.info({ faults: this.faults }, 'ingest-server: faults changed');
    return { ...this.faults };
  }

  getFaults(): FaultOptions {
    return { ...this.faults };
  }

  setApiKey(apiKey: string, tenantId: string): void {
    const resolved = resolveIngestServerOptions({ apiKeys: { [apiKey]: tenantId } });
    for (const [k, t] of Object.entries(resolved.apiKeys)) this.apiKeys.set(k, t);
  }

  metrics(): IngestServerMetrics {
    return {
      requests: this.counters.requests,
      byStatus: { ...this.counters.byStatus },
      faults: { ...this.counters.faults },
      bodies: this.pool.counts,
    };
  }

  close(): Promise<void> {
    this.closing ??= this.app
      .close()
      .finally(() => this.pool.close())
      .finally(() => this.store.close());
    return this.closing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

function limitsFor(
  options: ResolvedIngestServerOptions,
  path: string,
): ResolvedIngestServerOptions['ingestLimits'] {
  return path.startsWith(API_PATHS.ingest) ? options.ingestLimits : options.defaultLimits;
}

/** What a route's body may contain, and whether the body pool (not the main thread) parses it. */
function contentFor(path: string): { limits: ContentLimits; pooled: boolean } {
  if (path === API_PATHS.ingestChunk) return { limits: CHUNK_ENVELOPE_CONTENT_LIMITS, pooled: true };
  if (path === API_PATHS.ingest) return { limits: REPORT_CONTENT_LIMITS, pooled: true };
  return { limits: SMALL_BODY_CONTENT_LIMITS, pooled: false };
}

function isJsonContentType(header: string | undefined): boolean {
  if (header === undefined) return true;
  const media = header.split(';')[0]!.trim().toLowerCase();
  return (
    media === '' ||
    media === 'application/json' ||
    (media.startsWith('application/') && media.endsWith('+json'))
  );
}

/** Discards the rest of a refused body when its declared length is small; otherwise closes after the answer. */
function drainOrClose(request: FastifyRequest, payload: IncomingMessage): void {
  const declared = Number(headerValue(request.headers['content-length']));
  if (Number.isFinite(declared) && declared <= MAX_DRAIN_BYTES) payload.resume();
  else closeAfterAnswer.add(request.raw);
}

/**
 * True when an answer given before the body was read must close the connection: the body is unbounded
 * (chunked), or longer than what the server reads and discards for this caller.
 */
function mustCloseUnread(request: FastifyRequest): boolean {
  if (bodyRead.has(request.raw)) return false;
  const lengthHeader = headerValue(request.headers['content-length']);
  const chunked = request.headers['transfer-encoding'] !== undefined;
  if (lengthHeader === undefined && !chunked) return false;
  const declared = Number(lengthHeader);
  if (chunked || !Number.isFinite(declared)) return true;
  return declared > (authenticated.has(request.raw) ? MAX_DRAIN_BYTES : MAX_ANONYMOUS_DRAIN_BYTES);
}

function registerBodyParser(app: FastifyInstance, options: ResolvedIngestServerOptions): void {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(
    '*',
    (
      request: FastifyRequest,
      payload: IncomingMessage,
      done: (err: Error | null, body?: unknown) => void,
    ) => {
      bodyRead.add(request.raw);
      const refuse = (error: unknown): void => done(null, { [REFUSED]: error } satisfies RefusedBody);
      let encoding: BodyEncoding;
      try {
        if (!isJsonContentType(headerValue(request.headers['content-type']))) {
          throw new IngestServerError('UNSUPPORTED_ENCODING', 'Content-Type must be application/json', {
            status: 415,
          });
        }
        encoding = parseContentEncoding(headerValue(request.headers['content-encoding']));
      } catch (error) {
        drainOrClose(request, payload);
        refuse(error);
        return;
      }
      const lengthHeader = headerValue(request.headers['content-length']);
      const declared = lengthHeader === undefined ? undefined : Number(lengthHeader);
      const path = routeOf(request);
      const content = contentFor(path);
      // What the body contains is bounded while it streams in, before anything is parsed.
      const scanner = new JsonScanner(content.limits);
      void readBoundedBody(payload, {
        encoding,
        limits: limitsFor(options, path),
        declaredLength: declared !== undefined && Number.isFinite(declared) ? declared : undefined,
        observe: (part) => scanner.write(part),
      }).then((outcome) => {
        if (!outcome.ok) {
          // The rest of an unbounded body is not read: answer, then close the connection.
          if (!outcome.failure.drained) closeAfterAnswer.add(request.raw);
          refuse(outcome.failure.error);
          return;
        }
        if (content.pooled && outcome.body.length > 0) {
          done(null, { [RAW_BODY]: outcome.body } satisfies RawBody);
          return;
        }
        try {
          done(null, parseJsonBody(outcome.body, { limits: content.limits, scanned: true }));
        } catch (error) {
          refuse(error);
        }
      });
    },
  );
}

/** The matched route's pattern (e.g. `/api/v1/agent/commands/:id/start`); empty when no route matched. */
function routeOf(request: FastifyRequest): string {
  return request.routeOptions.url ?? '';
}

function registerHooks(app: FastifyInstance, server: Server, options: ResolvedIngestServerOptions): void {
  app.decorateRequest('tenantId', '');

  app.addHook('onRequest', async (request, reply) => {
    // Routing and authentication come before any byte of the body is read.
    // Classify by the matched route, not the raw URL: the router decodes `%61gent`, a prefix check on the URL does not.
    const path = routeOf(request);
    if (path === '') return notFound(request, reply);
    if (path.startsWith(ADMIN_PREFIX)) {
      if (options.adminKey !== undefined && !sameSecret(apiKeyOf(request), options.adminKey)) {
        return sendError(reply, 401, 'AUTH_FAILED', 'admin routes need Authorization: Bearer <adminKey>');
      }
      authenticated.add(request.raw);
      return;
    }
    if (!path.startsWith(AGENT_PREFIX)) return;
    const tenant = server.tenantOf(apiKeyOf(request));
    if (tenant === undefined) {
      return sendError(
        reply,
        401,
        'AUTH_FAILED',
        'missing or unknown API key (use Authorization: Bearer <key> or X-API-Key)',
      );
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
        return sendError(reply, 429, 'RATE_LIMITED', 'injected fault: rate limited');
      case 'error':
        server.countFault('error');
        return sendError(reply, 503, 'SERVER_ERROR', 'injected fault: service unavailable');
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
      return sendError(reply, status, error.code, error.message, Array.isArray(errors) ? { errors } : {});
    }
    const e = error as { statusCode?: number; code?: string; message?: string };
    if (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
      return sendError(
        reply,
        e.statusCode,
        e.statusCode === 415 ? 'UNSUPPORTED_ENCODING' : 'VALIDATION_FAILED',
        e.message ?? 'bad request',
      );
    }
    server.logger.error(
      {
        err: error instanceof Error ? { message: error.message, stack: error.stack } : String(error),
        path: request.url,
      },
      'ingest-server: internal error',
    );
    return sendError(reply, 500, 'INTERNAL', 'internal error');
  });

  app.setNotFoundHandler(notFound);
}

/** The caller's tenant; the onRequest hook set it. Defence in depth: no tenant, no access. */
function tenantOf(request: FastifyRequest): string {
  if (request.tenantId === '') {
    throw new IngestServerError('AUTH_FAILED', 'missing or unknown API key', { status: 401 });
  }
  return request.tenantId;
}

function agentIdOf(request: FastifyRequest): string | undefined {
  const id = headerValue(request.headers['x-agent-id']);
  return id === undefined ? undefined : agentIdFromHeader(id);
}

function registerAgentRoutes(
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
function toWireCommand(command: StoredCommand): Omit<StoredCommand, 'tenant_id'> {
  const { tenant_id: _tenant, ...wire } = command;
  return wire;
}

function registerAdminRoutes(app: FastifyInstance, server: Server): void {
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

/**
 * Starts the ingest server: a strict local stand-in of the platform's agent API on `host:port` (127.0.0.1, a free
 * port by default), storing what it receives in SQLite. Resolves once it listens. Throws INVALID_OPTION.
 */
export async function startIngestServer(options: IngestServerOptions = {}): Promise<IngestServer> {
  const resolved = resolveIngestServerOptions(options);
  const store = new Store(resolved.databasePath);
  const app = Fastify({
    logger: false,
    // Bodies are read by our own bounded parser; this only bounds what Fastify itself would buffer.
    bodyLimit:
      Math.max(resolved.ingestLimits.maxCompressedBytes, resolved.defaultLimits.maxCompressedBytes) + 1,
    forceCloseConnections: true,
    return503OnClosing: true,
    requestTimeout: 120_000,
    // The router's own refusals (before any route or hook runs) in our error format, with our codes.
    frameworkErrors: (error, request, reply) => {
      if (mustCloseUnread(request)) reply.header('connection', 'close');
      if (error.code === 'FST_ERR_MAX_PARAM_LENGTH') {
        void sendError(
          reply,
          414,
          'VALIDATION_FAILED',
          `a path segment is longer than ${MAX_PATH_PARAM_LENGTH} characters (command ids are UUIDs)`,
        );
        return;
      }
      void sendError(reply, 400, 'VALIDATION_FAILED', 'the URL is not valid (bad percent-encoding)');
    },
    routerOptions: { maxParamLength: MAX_PATH_PARAM_LENGTH },
  });
  const server = new Server(app, resolved, store);
  try {
    registerBodyParser(app, resolved);
    registerHooks(app, server, resolved);
    registerAgentRoutes(app, server, resolved);
    registerAdminRoutes(app, server);
    await app.listen({ host: resolved.host, port: resolved.port });
    const address = app.server.address();
    server.listening(typeof address === 'object' && address !== null ? address.port : resolved.port);
    resolved.logger.info({ url: server.url }, 'ingest-server: listening');
    return server;
  } catch (error) {
    await app.close().catch(() => {});
    void store.close();
    throw error;
  }
}
