import type Database from 'better-sqlite3';
import { ClosableBase, closeOnce } from '@rediver/core';
import type {
  Asset,
  ChunkUploadResponse,
  Finding,
  IngestResponse,
  ReportMetadata,
  ToolInfo,
} from '@rediver/core';
import { IngestServerError } from './ingestServerError';
import type {
  ChunkToApply,
  CommandAction,
  EnqueueCommandInput,
  HeartbeatRecord,
  IngestStats,
  StoredAnswer,
  StoredCommand,
} from './ingestStoreTypes';
import type { PreparedChunk, PreparedReport } from './internal/bodyJobs';
import { CommandTable } from './internal/commandTable';
import { FindingIndex } from './internal/findingIndex';
import { prepareAssets, prepareFindings } from './internal/prepare';
import { ReportWrites } from './internal/reportWrites';
import { openStoreDatabase, prepareStatements } from './internal/storeSchema';
import type { Statements } from './internal/storeSchema';
import { StoreStats } from './internal/storeStats';

export { findingFingerprint } from './internal/prepare';
export type {
  ChunkToApply,
  CommandAction,
  EnqueueCommandInput,
  HeartbeatRecord,
  IngestStats,
  ReportStats,
  StoredAnswer,
  StoredCommand,
  TenantStats,
  TenantTotals,
} from './ingestStoreTypes';

/**
 * Everything the ingest server receives, in SQLite: reports, findings (upserted by fingerprint per tenant), assets,
 * chunks with their first answers, idempotency records, commands and heartbeats. Every read and write is scoped to
 * a tenant. Safe to open the same file from another process (WAL), e.g. the CLI's `stats` and `enqueue`.
 *
 * The schema and statements are in `internal/storeSchema.ts`, the writes of reports and chunks in
 * `internal/reportWrites.ts`, commands in `internal/commandTable.ts`, totals in `internal/storeStats.ts`.
 */
export class IngestStore extends ClosableBase {
  /** The underlying better-sqlite3 database, for ad-hoc queries in tests. */
  readonly db: Database.Database;
  private readonly now: () => number;
  private closed = false;
  private readonly st: Statements;
  readonly #writes: ReportWrites;
  readonly #commands: CommandTable;
  readonly #stats: StoreStats;

  constructor(databasePath: string, options: { now?: () => number } = {}) {
    super();
    this.db = openStoreDatabase(databasePath);
    this.now = options.now ?? Date.now;
    this.st = prepareStatements(this.db);
    /** Where each finding is (see `FindingIndex`); the findings table has no unique index of its own. */
    const findingIndex = new FindingIndex();
    for (const row of this.db
      .prepare('SELECT rowid AS id, tenant_id, fingerprint FROM findings')
      .iterate() as IterableIterator<{ id: number; tenant_id: string; fingerprint: string }>) {
      findingIndex.add(row.tenant_id, row.fingerprint, row.id);
    }
    this.#writes = new ReportWrites(this.db, this.st, this.now, findingIndex);
    this.#commands = new CommandTable(this.db, this.st, this.now);
    this.#stats = new StoreStats(this.db, this.#commands);
  }

  private assertOpen(): void {
    if (this.closed) throw new IngestServerError('CLOSED', 'the ingest store is closed', { status: 503 });
  }

  /**
   * Applies one chunk exactly once: a repeat (same Idempotency-Key, or same report id, index and checksum)
   * returns the first answer and changes nothing. Same report id and index with other content → 409.
   */
  applyChunk(tenantId: string, chunk: ChunkToApply): StoredAnswer<ChunkUploadResponse> {
    return this.applyPreparedChunk(tenantId, {
      ...chunk,
      assets: prepareAssets(chunk.assets),
      findings: prepareFindings(chunk.findings),
    });
  }

  /** `applyChunk` for a chunk a body worker already decoded, validated and serialised. */
  applyPreparedChunk(
    tenantId: string,
    chunk: PreparedChunk & { idempotencyKey: string | undefined },
  ): StoredAnswer<ChunkUploadResponse> {
    this.assertOpen();
    return this.#writes.applyChunk(tenantId, chunk);
  }

  /**
   * Applies a whole report. With an Idempotency-Key, a repeat of the same body returns the first answer; without
   * one, a repeat is applied again (findings are upserted, so they count as skipped).
   */
  applyReport(
    tenantId: string,
    input: {
      report: { metadata: ReportMetadata; tool?: ToolInfo; assets?: Asset[]; findings?: Finding[] };
      idempotencyKey: string | undefined;
      bodyHash: string;
    },
  ): StoredAnswer<IngestResponse> {
    const { report } = input;
    return this.applyPreparedReport(tenantId, {
      idempotencyKey: input.idempotencyKey,
      report: {
        metadata: report.metadata,
        tool: report.tool,
        assets: prepareAssets(report.assets ?? []),
        findings: prepareFindings(report.findings ?? []),
        bodyHash: input.bodyHash,
      },
    });
  }

  /** `applyReport` for a report a body worker already validated and serialised. */
  applyPreparedReport(
    tenantId: string,
    input: { report: PreparedReport; idempotencyKey: string | undefined },
  ): StoredAnswer<IngestResponse> {
    this.assertOpen();
    return this.#writes.applyReport(tenantId, input);
  }

  /** Splits fingerprints into those the tenant has and those it has not. */
  checkFingerprints(
    tenantId: string,
    fingerprints: readonly string[],
  ): { existing: string[]; missing: string[] } {
    this.assertOpen();
    return this.#writes.checkFingerprints(tenantId, fingerprints);
  }

  /** Stores the last heartbeat of an agent. */
  recordHeartbeat(tenantId: string, agentId: string, body: Record<string, unknown>): void {
    this.assertOpen();
    this.st.putHeartbeat.run(tenantId, agentId, JSON.stringify(body), this.now());
  }

  /** The last heartbeat of an agent of a tenant. */
  lastHeartbeat(tenantId: string, agentId: string): HeartbeatRecord | undefined {
    this.assertOpen();
    const row = this.st.getHeartbeat.get(tenantId, agentId);
    if (!row) return undefined;
    return {
      tenantId,
      agentId,
      body: JSON.parse(row.data) as Record<string, unknown>,
      receivedAt: new Date(row.received_at).toISOString(),
      count: row.count,
    };
  }

  /** Queues a command for a tenant's agents. */
  enqueueCommand(input: EnqueueCommandInput): StoredCommand {
    this.assertOpen();
    return this.#commands.enqueue(input);
  }

  /** Pending, unexpired commands of a tenant for an agent (or unassigned), highest priority first. */
  pendingCommands(tenantId: string, agentId: string | undefined, limit: number): StoredCommand[] {
    this.assertOpen();
    return this.#commands.pending(tenantId, agentId, limit);
  }

  /** A command of a tenant (undefined for another tenant's). */
  getCommand(tenantId: string, id: string): StoredCommand | undefined {
    this.assertOpen();
    return this.#commands.get(tenantId, id);
  }

  /**
   * Moves a command along its lifecycle. Repeating the call that reached the current state is a no-op (a retried
   * request); any other impossible move is 409. Unknown or other-tenant ids are 404.
   */
  transitionCommand(
    tenantId: string,
    id: string,
    action: CommandAction,
    extra: { result?: Record<string, unknown>; errorMessage?: string } = {},
  ): StoredCommand {
    this.assertOpen();
    return this.#commands.transition(tenantId, id, action, extra);
  }

  /** Totals per tenant and per report; only `tenantId`'s when given (empty totals for an unknown tenant). */
  stats(tenantId?: string): IngestStats {
    this.assertOpen();
    return this.#stats.stats(tenantId);
  }

  /**
   * Closes the database (synchronously: it is closed when this returns); the same promise on every call, and
   * `await using` closes it too.
   */
  close(): Promise<void> {
    return this.#close();
  }

  readonly #close = closeOnce(() => {
    this.closed = true;
    this.db.close();
  });
}

/** Opens (creating if needed) an ingest store at `databasePath` (`':memory:'` for a throwaway one). */
export function openIngestStore(databasePath: string): IngestStore {
  return new IngestStore(databasePath);
}
