import Fastify from 'fastify';
import type Database from 'better-sqlite3';
import type {
  EnqueueCommandInput,
  HeartbeatRecord,
  IngestStats,
  IngestStore,
  StoredCommand,
} from './ingestStore';
import { IngestStore as Store } from './ingestStore';
import { resolveIngestServerOptions } from './ingestServerOptions';
import type { FaultOptions, IngestServerOptions } from './ingestServerOptions';
import { registerAdminRoutes } from './internal/adminRoutes';
import { registerAgentRoutes } from './internal/agentRoutes';
import { mustCloseUnread, registerBodyParser } from './internal/bodyParser';
import type { FaultCounts } from './internal/faults';
import { registerHooks } from './internal/hooks';
import { sendError } from './internal/http';
import { Server } from './internal/server';

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

/** Longest path parameter (a command id): longer ones are answered 414 `VALIDATION_FAILED`. */
const MAX_PATH_PARAM_LENGTH = 100;

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
        void sendError(reply, 414, {
          code: 'VALIDATION_FAILED',
          message: `a path segment is longer than ${MAX_PATH_PARAM_LENGTH} characters (command ids are UUIDs)`,
        });
        return;
      }
      void sendError(reply, 400, {
        code: 'VALIDATION_FAILED',
        message: 'the URL is not valid (bad percent-encoding)',
      });
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
