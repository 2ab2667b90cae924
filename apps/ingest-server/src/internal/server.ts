import { availableParallelism } from 'node:os';
import type Database from 'better-sqlite3';
import type { FastifyInstance } from 'fastify';
import type { Logger } from '@rediver/core';
import type { IngestServer, IngestServerMetrics } from '../ingestServer';
import type {
  EnqueueCommandInput,
  HeartbeatRecord,
  IngestStats,
  IngestStore,
  StoredCommand,
} from '../ingestStore';
import { resolveFaults, resolveIngestServerOptions } from '../ingestServerOptions';
import type { FaultOptions, ResolvedIngestServerOptions } from '../ingestServerOptions';
import { BodyPool } from './bodyPool';
import type { FaultCounts } from './faults';

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

export class Server implements IngestServer {
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
