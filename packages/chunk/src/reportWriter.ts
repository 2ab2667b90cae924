import { ERROR_CODES, MAX_CHUNK_DATA_BYTES } from '@rediver/core';
import type { Asset, Finding, Report } from '@rediver/core';
import type { SubmitReportResult } from './chunkStoreTypes';
import { CompressionWorkerLost } from './internal/compress';
import type { BufferPool, ChunkCompression, CompressedChunk, InlineCompression } from './internal/compress';
import type { WorkerCompression } from './internal/compress';
import { ChunkError } from './errors';
import type { ChunkCleanupEvent, ChunkEventMap } from './events';
import type { ResolvedChunkStoreOptions } from './options';
import { dropOldest, freeUploaded, storedBytes } from './internal/quota';
import type { DropRecord } from './internal/quota';
import type { Sql } from './internal/sql';
import { storageError } from './internal/sqliteErrors';
import { ChunkSplitter, chunkTail } from './internal/split';
import { base64Length } from './internal/uploadPayload';
import type { CutChunk } from './internal/split';

/** A report without its findings: what a streamed report starts with. */
export type ReportHeader = Omit<Report, 'findings'>;

/** Options of `ReportWriter.commit`. */
export interface CommitReportOptions {
  /**
   * The report's final header, when it is known only after the last finding (e.g. a scan's coverage and
   * counts): chunk 0 carries it and the content hash covers it. Same `metadata.id`; same assets as given to
   * `beginReport`, or none; no findings. Default: the header given to `beginReport`.
   */
  header?: ReportHeader;
}

/** Options of `beginReport`. */
export interface BeginReportOptions {
  /** Tenant owning the report; every later read, delete and cleanup is scoped to it. */
  tenantId: string;
  /** The report's fields but its findings (`metadata.id` is the report id). */
  header: ReportHeader;
  /** The report's assets, when not in `header.assets` (known up front: findings reference them). */
  assets?: readonly Asset[];
  /** Higher uploads first. Default 0. */
  priority?: number;
}

/** What a writer needs from its store (internal). */
export interface StoreInternals {
  readonly options: ResolvedChunkStoreOptions;
  readonly sql: Sql;
  readonly pool: BufferPool;
  readonly inline: InlineCompression;
  readonly worker: WorkerCompression | undefined;
  readonly maxStorageBytes: number;
  readonly tailReserveBytes: number;
  assertOpen(): void;
  emit<E extends keyof ChunkEventMap>(event: E, payload: Parameters<ChunkEventMap[E]>[0]): void;
  readonly counters: { quotaRejections: number; oversizeChunks: number };
  cleanupEvent(event: ChunkCleanupEvent): void;
  dropped(tenantId: string, d: DropRecord): void;
  vacuum(checkpoint?: boolean): void;
  pragmaWhile(name: 'cache_size' | 'wal_autocheckpoint', value: number): () => void;
  checkpointOffThread(): void;
  forget(writer: ReportWriter): void;
}

/** Longest tenant id accepted. */
const MAX_TENANT_ID_LENGTH = 256;
/** Chunks compressing and not yet stored, at most (bounds the memory they hold). */
const MAX_CHUNKS_IN_FLIGHT = 4;
/** Findings buffered before the splitter runs (it serialises runs of findings with one `JSON.stringify`). */
const FEED_BATCH = 256;
/** A long submit gives the event loop a turn this often, ms (timers, I/O, heartbeats keep running). */
const YIELD_EVERY_MS = 25;
/** With the worker, staged bytes between two off-thread WAL checkpoints. */
const CHECKPOINT_EVERY_BYTES = 16 * 1024 * 1024;
/** The shortest tail a chunk can get (`total_chunks` 1, final): a body that breaks a limit with it is refused early. */
const MIN_TAIL_BYTES = chunkTail(1, true).length;

const DONE = Promise.resolve();

/** Streamed reports being written by this process, by store file (`isStagingHere`). */
const LIVE = new Set<string>();
const liveKey = (path: string, tenantId: string, reportId: string): string =>
  `${path}\u0000${tenantId}\u0000${reportId}`;

/** True when this process is writing that report right now (its staging must not be discarded). */
export function isStagingHere(path: string, tenantId: string, reportId: string): boolean {
  return LIVE.has(liveKey(path, tenantId, reportId));
}

/** True when a process with this id runs (`kill(pid, 0)`); false when it is gone. */
export function processAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as { code?: string }).code === 'EPERM';
  }
}

/** Validates a tenant id (1..256 characters). */
export function checkTenant(tenantId: unknown): string {
  if (typeof tenantId !== 'string' || tenantId.length === 0 || tenantId.length > MAX_TENANT_ID_LENGTH) {
    throw new ChunkError(
      ERROR_CODES.VALIDATION_FAILED,
      `tenantId must be a string of 1..${MAX_TENANT_ID_LENGTH} characters`,
    );
  }
  return tenantId;
}

interface ExistingReport {
  status: string;
  content_hash: string;
  total_chunks: number;
  original_bytes: number;
  compressed_bytes: number;
  staged_by: number | null;
}

interface StagedChunk {
  id: number;
  bodyBytes: number;
  frameBytes: number;
  oversize: boolean;
}

interface Job {
  index: number;
  oversize: boolean;
  bodyBytes: number;
  result: Promise<CompressedChunk>;
}

/** Thrown inside a staging transaction to roll it back when the chunk cannot fit. */
class QuotaSignal extends Error {
  constructor(readonly stored: number) {
    super('quota');
  }
}

type WriterState = 'new' | 'open' | 'committed' | 'aborted' | 'failed';

/**
 * One report being written, finding by finding (`ChunkStore.beginReport`). Chunks are cut as they fill,
 * compressed (on the store's worker thread while more findings are serialised) and written to SQLite as
 * `staged` rows as they are cut: memory holds at most a few chunks, whatever the report's size. Each chunk's
 * body is one zstd frame written once; its tail (`total_chunks`, `is_final`), known only at the end, is a
 * second small frame written by `commit()`, which also finishes each chunk's SHA-256 from its open hash
 * state — nothing is compressed or hashed twice. Calls are serialised: a caller may fire `addFinding`
 * without awaiting each one (await the last, or `commit()`).
 */
export class ReportWriter {
  /** The report's tenant. */
  readonly tenantId: string;
  /** The report's id (`header.metadata.id`). */
  readonly reportId: string;
  /** The report's priority. */
  readonly priority: number;
  readonly #s: StoreInternals;
  readonly #noWorker: boolean;
  readonly #key: string;
  #splitter: ChunkSplitter;
  #header: ReportHeader;
  #existing: ExistingReport | undefined;
  #state: WriterState = 'new';
  #error: Error | undefined;
  #serial: Promise<unknown> = Promise.resolve();
  /** Calls queued or running in `#serial`. */
  #running = 0;
  #pending: unknown[] = [];
  #findings = 0;
  #backend: ChunkCompression | undefined;
  #hash = -1;
  readonly #jobs: Job[] = [];
  /** Chunk 0 as cut: compressed at commit, when the final header is known (`commit({ header })`). */
  #zero: CutChunk | undefined;
  readonly #staged: StagedChunk[] = [];
  #stagedBytes = 0;
  #sinceCheckpoint = 0;
  #yieldedAt = performance.now();
  #releaseCheckpoint: (() => void) | undefined;
  #releaseCache: (() => void) | undefined;
  #told = { freed: false, dropped: false };
  /** Set when the compression worker died with chunks of this report in it. */
  workerLost = false;

  /** @internal Use `ChunkStore.beginReport`. */
  constructor(store: StoreInternals, options: BeginReportOptions, noWorker = false) {
    this.#s = store;
    this.#noWorker = noWorker;
    if (typeof options !== 'object' || options === null) {
      throw new ChunkError(ERROR_CODES.VALIDATION_FAILED, 'beginReport needs { tenantId, header }');
    }
    this.tenantId = checkTenant(options.tenantId);
    const priority = options.priority ?? 0;
    if (!Number.isSafeInteger(priority)) {
      throw new ChunkError(
        ERROR_CODES.VALIDATION_FAILED,
        `priority must be an integer (got ${String(priority)})`,
      );
    }
    this.priority = priority;
    const header = options.header;
    if (typeof header !== 'object' || header === null) {
      throw new ChunkError(ERROR_CODES.VALIDATION_FAILED, 'report header must be an object');
    }
    if (options.assets !== undefined && header.assets !== undefined) {
      throw new ChunkError(
        ERROR_CODES.VALIDATION_FAILED,
        'give the assets in header.assets or in assets, not both',
      );
    }
    this.#header = options.assets === undefined ? header : { ...header, assets: [...options.assets] };
    this.#splitter = this.#newSplitter(false);
    this.reportId = this.#splitter.reportId;
    this.#key = liveKey(store.sql.sqlite.name, this.tenantId, this.reportId);
  }

  /** Findings added so far. */
  get findings(): number {
    return this.#findings;
  }

  /** Chunks cut so far. */
  get chunks(): number {
    return this.#splitter.count;
  }

  /** `open` while findings may be added; then `committed`, `aborted` or `failed`. */
  get state(): Exclude<WriterState, 'new'> {
    return this.#state === 'new' ? 'open' : this.#state;
  }

  /** @internal Claims the report id: a staging row, or (same id stored) a hash-only pass to compare. */
  async open(): Promise<void> {
    const existing = this.#s.sql
      .q(
        `SELECT status, content_hash, total_chunks, original_bytes, compressed_bytes, staged_by FROM reports
         WHERE tenant_id = ? AND report_id = ?`,
      )
      .get(this.tenantId, this.reportId) as ExistingReport | undefined;
    if (existing !== undefined && existing.status !== 'staging') {
      // Stored before: only the content hash is needed to tell a resubmit from a conflict.
      this.#existing = existing;
      this.#splitter = this.#newSplitter(true);
      this.#state = 'open';
      return;
    }
    if (existing !== undefined) {
      // A staging row: a live writer's (here or in another process), or one a failed discard left behind.
      const mine = existing.staged_by === process.pid;
      if (isStagingHere(this.#s.sql.sqlite.name, this.tenantId, this.reportId)) this.#conflictInProgress();
      if (!mine && existing.staged_by !== null && processAlive(existing.staged_by))
        this.#conflictInProgress();
      try {
        this.#deleteStaging();
      } catch (err) {
        // A full disk left it (deleting needs WAL space too) and still refuses: DISK_FULL, not a raw SqliteError.
        throw storageError(err, `starting report ${this.reportId}`);
      }
    }
    const now = this.#s.options.clock.now();
    try {
      this.#s.sql.write(
        () =>
          this.#s.sql
            .q(
              `INSERT INTO reports (tenant_id, report_id, status, priority, total_chunks, content_hash,
                                    original_bytes, compressed_bytes, created_at, updated_at, staged_by)
               VALUES (?, ?, 'staging', ?, 0, '', 0, 0, ?, ?, ?)`,
            )
            .run(this.tenantId, this.reportId, this.priority, now, now, process.pid),
        false,
      );
    } catch (err) {
      if ((err as { code?: string }).code?.startsWith('SQLITE_CONSTRAINT')) this.#conflictInProgress();
      throw storageError(err, `starting report ${this.reportId}`);
    }
    LIVE.add(this.#key);
    // The staged inserts write megabytes of blobs that SQLite would keep in its page cache (16 MB in
    // better-sqlite3's build): 4 MiB while a report is written keeps its memory flat (measured in the bench).
    this.#releaseCache = this.#s.pragmaWhile('cache_size', -4096);
    if (this.#s.worker?.available() === true && !this.#noWorker) {
      // Staged chunks are checkpointed off this thread (see `#stage`); commits then skip the automatic one.
      this.#releaseCheckpoint = this.#s.pragmaWhile('wal_autocheckpoint', 0);
    }
    this.#state = 'open';
  }

  /** Adds one finding (buffered; chunks are cut and stored as they fill). */
  addFinding(finding: Finding): Promise<void> {
    // The common case — nothing queued, the buffer not full — costs one push: no promise chain per finding.
    if (this.#running === 0 && this.#state === 'open' && this.#pending.length + 1 < FEED_BATCH) {
      this.#pending.push(finding);
      this.#findings += 1;
      return DONE;
    }
    return this.addFindings([finding]);
  }

  /** Adds findings in order. */
  addFindings(findings: readonly Finding[]): Promise<void> {
    if (!Array.isArray(findings)) {
      return Promise.reject(new ChunkError(ERROR_CODES.VALIDATION_FAILED, 'findings must be an array'));
    }
    return this.#run(async () => {
      if (this.#pending.length + findings.length < FEED_BATCH) {
        for (const f of findings) this.#pending.push(f);
        this.#findings += findings.length;
        return;
      }
      this.#findings += findings.length;
      await this.#feed(findings);
    });
  }

  /** Adds every finding of a (sync or async) iterable, in order; resolves once all were taken. */
  addAll(source: Iterable<Finding> | AsyncIterable<Finding>): Promise<void> {
    return this.#run(async () => {
      for await (const f of source) {
        this.#pending.push(f);
        this.#findings += 1;
        if (this.#pending.length >= FEED_BATCH) await this.#feed([]);
        if (this.#state !== 'open') return;
      }
    });
  }

  /**
   * Cuts the last chunks, writes every chunk's tail and checksum and makes the report visible in one durable
   * transaction. Returns what `submitReport` returns. After a failure the report is discarded (nothing of it
   * stays) and the error says why: `STORAGE_QUOTA`, `DISK_FULL`, `REPORT_TOO_LARGE`, `VALIDATION_FAILED`…
   */
  commit(options: CommitReportOptions = {}): Promise<SubmitReportResult> {
    return this.#run(async () => {
      if (options?.header !== undefined) this.#splitter.setHeader(options.header);
      await this.#feed([]);
      this.#splitter.end();
      if (this.#existing !== undefined) return this.#compareWithStored();
      await this.#pump();
      while (this.#jobs.length > 0) await this.#stageOldest();
      await this.#stageZero();
      return this.#commitStaged();
    });
  }

  /** Discards the report (its staged chunks are deleted). Idempotent; a no-op after `commit()`. */
  abort(reason?: unknown): Promise<void> {
    const run = this.#serial.then(
      () => this.#discard(reason),
      () => this.#discard(reason),
    );
    this.#serial = run.catch(() => undefined);
    return run;
  }

  /** @internal On store close: wait for the call in progress, then discard the report if not committed. */
  async settleOnClose(): Promise<void> {
    await this.#serial.catch(() => undefined);
    if (this.#state === 'open' || this.#state === 'new') {
      await this.#discard(new ChunkError(ERROR_CODES.CLOSED, 'the chunk store closed before commit()'));
    }
  }

  /** Runs `fn` after the calls before it; a failure discards the report and is rethrown to every later call. */
  #run<T>(fn: () => Promise<T>): Promise<T> {
    this.#running += 1;
    const run = this.#serial.then(async () => {
      if (this.#state !== 'open') {
        throw (
          this.#error ??
          new ChunkError(ERROR_CODES.CLOSED, `report ${this.reportId} is ${this.state}: no more findings`)
        );
      }
      try {
        return await fn();
      } catch (err) {
        await this.#fail(err);
        throw this.#error ?? asError(err);
      }
    });
    this.#serial = run.then(
      () => void (this.#running -= 1),
      () => void (this.#running -= 1),
    );
    return run;
  }

  async #fail(err: unknown): Promise<void> {
    if (err instanceof CompressionWorkerLost) {
      this.workerLost = true;
      this.#error = new ChunkError(
        ERROR_CODES.INTERNAL,
        `report ${this.reportId} was discarded: the compression worker died with chunks of it (${err.message}); ` +
          'submit it again (it will be compressed on the calling thread)',
        { retryable: true, cause: err },
      );
    } else this.#error = asError(storageError(err, `storing report ${this.reportId}`));
    await this.#discard(this.#error, 'failed');
  }

  async #discard(reason: unknown, state: WriterState = 'aborted'): Promise<void> {
    if (this.#state === 'committed' || this.#state === 'aborted' || this.#state === 'failed') return;
    this.#state = state;
    this.#error ??=
      reason === undefined
        ? new ChunkError(ERROR_CODES.CLOSED, `report ${this.reportId} was aborted: no more findings`)
        : asError(reason);
    this.#zero = undefined;
    await Promise.allSettled(this.#jobs.splice(0).map((j) => j.result));
    if (this.#hash >= 0) this.#backend?.dropHash(this.#hash);
    this.#releaseCheckpoint?.();
    this.#releaseCache?.();
    if (this.#existing === undefined && LIVE.delete(this.#key)) {
      try {
        this.#deleteStaging();
        if (this.#stagedBytes > 0) this.#s.vacuum(false);
      } catch (err) {
        // Left staged: the next open discards it.
        this.#s.options.logger.warn(
          { tenantId: this.tenantId, reportId: this.reportId, err: (err as Error).message },
          'could not discard a staged report now; the next open will',
        );
      }
    }
    this.#s.forget(this);
  }

  /** Deletes this report's staging row, and with it (cascade) its staged chunks and blobs. */
  #deleteStaging(): void {
    this.#s.sql.write(
      () =>
        this.#s.sql
          .q(`DELETE FROM reports WHERE tenant_id = ? AND report_id = ? AND status = 'staging'`)
          .run(this.tenantId, this.reportId),
      false,
    );
  }

  /** Hands the buffered findings (and `more`) to the splitter and stores the chunks that filled. */
  async #feed(more: readonly unknown[]): Promise<void> {
    if (this.#pending.length > 0) {
      this.#splitter.push(this.#pending);
      this.#pending = [];
    }
    if (more.length > 0) this.#splitter.push(more);
    await this.#pump();
  }

  /** Cuts every chunk that can be cut now; compresses and stages them, a few in flight at most. */
  async #pump(): Promise<void> {
    for (let cut = this.#splitter.next(); cut !== undefined; cut = this.#splitter.next()) {
      if (this.#existing !== undefined) continue; // hash only: the splitter hashed it
      this.#compress(cut);
      while (this.#jobs.length > MAX_CHUNKS_IN_FLIGHT) await this.#stageOldest();
      if (performance.now() - this.#yieldedAt > YIELD_EVERY_MS) {
        await new Promise<void>((resolve) => setImmediate(resolve));
        this.#yieldedAt = performance.now();
      }
      if (this.#state !== 'open') return;
    }
  }

  #compress(cut: CutChunk): void {
    if (this.#backend === undefined) {
      // A report of one chunk has nothing to overlap: compressed here. Else the worker, when there is one.
      const worker = this.#s.worker;
      this.#backend = !cut.last && !this.#noWorker && worker?.available() === true ? worker : this.#s.inline;
      this.#hash = this.#backend.beginHash(this.#splitter.contentPrefix());
    }
    if (cut.index === 0) {
      // Chunk 0 carries the header, final only at commit: kept (at most one chunk) and compressed then. Its
      // findings join the content hash now, in order.
      if (cut.findingsEnd > cut.findingsAt)
        this.#backend.updateHash(this.#hash, cut.buffer.subarray(cut.findingsAt, cut.findingsEnd));
      this.#zero = cut;
      return;
    }
    this.#check(cut.index, cut.buffer.length);
    const bodyBytes = cut.buffer.length; // read before the buffer moves to the worker
    // The cut's buffer is ours alone: a worker may take it.
    const result = this.#backend.compress(cut.buffer, true, {
      hash: this.#hash,
      at: cut.findingsAt,
      end: cut.findingsEnd,
      index: cut.index,
    });
    result.catch(() => undefined); // awaited in order by #stageOldest; never unhandled meanwhile
    this.#jobs.push({ index: cut.index, oversize: cut.oversize, bodyBytes, result });
  }

  /** Chunk 0, rendered with the final header: compressed (its checksum kept open like the others) and staged. */
  async #stageZero(): Promise<void> {
    const zero = this.#zero!;
    this.#zero = undefined;
    const { buffer, oversize } = this.#splitter.chunkZero(zero);
    this.#check(0, buffer.length);
    // Not transferable: a small concatenation may sit in Buffer's shared pool.
    const result = this.#backend!.compress(buffer, false, { hash: this.#hash, at: 0, end: 0, index: 0 });
    this.#jobs.push({ index: 0, oversize, bodyBytes: buffer.length, result });
    await this.#stageOldest();
  }

  /** Refuses a chunk body that, with even the shortest tail, is over the decompression limit. */
  #check(index: number, bodyBytes: number): void {
    const limit = this.#s.options.decompressionLimits.maxDecompressedBytes;
    if (bodyBytes + MIN_TAIL_BYTES > limit) {
      this.#tooLarge(
        index,
        bodyBytes + MIN_TAIL_BYTES,
        `is over ${bodyBytes} bytes of JSON, over the ${limit}-byte decompression limit`,
      );
    }
  }

  async #stageOldest(): Promise<void> {
    const job = this.#jobs.shift()!;
    const c = await job.result;
    const frameBytes = c.data.length;
    const limits = this.#s.options.decompressionLimits;
    if (base64Length(frameBytes) > MAX_CHUNK_DATA_BYTES || frameBytes > limits.maxCompressedBytes) {
      this.#tooLarge(
        job.index,
        job.bodyBytes,
        `compresses to ${frameBytes} bytes, over the platform's ${MAX_CHUNK_DATA_BYTES}-byte base64 data limit`,
      );
    }
    this.#stage(job, c);
    this.#stagedBytes += frameBytes;
    this.#sinceCheckpoint += frameBytes;
    if (this.#releaseCheckpoint !== undefined && this.#sinceCheckpoint > CHECKPOINT_EVERY_BYTES) {
      this.#sinceCheckpoint = 0;
      this.#s.checkpointOffThread();
    }
  }

  /**
   * Writes one compressed chunk as a `staged` row (invisible) and its blob, in one transaction that is not
   * fsynced (a staged chunk lost at power loss is discarded at the next open anyway). The quota holds at every
   * step: room is made as the store's policy says, and a report that alone exceeds the quota is refused
   * before anything is deleted for it.
   */
  #stage(job: Job, c: CompressedChunk): void {
    const s = this.#s;
    const max = s.maxStorageBytes;
    const need = c.data.length + s.tailReserveBytes;
    let freed = { chunks: 0, bytes: 0 };
    let dropped: DropRecord[] = [];
    let storedBefore = 0;
    try {
      s.sql.write(() => {
        storedBefore = storedBytes(s.sql);
        if (storedBefore + need > max) {
          if (this.#stagedBytes + s.tailReserveBytes * this.#staged.length + need > max) {
            throw new QuotaSignal(storedBefore);
          }
          if (s.options.aggressiveCleanup)
            freed = freeUploaded(s.sql, this.tenantId, storedBefore + need - max);
          let stored = storedBefore - freed.bytes;
          if (stored + need > max && s.options.whenFull === 'drop-oldest') {
            dropped = dropOldest(s.sql, this.tenantId, this.reportId, stored + need - max);
            stored -= dropped.reduce((sum, d) => sum + d.bytes, 0);
          }
          if (stored + need > max) throw new QuotaSignal(stored);
        }
        const row = s.sql
          .q(
            `INSERT INTO chunks (tenant_id, report_id, chunk_index, status, has_data, checksum, frame_checksum,
                                 original_bytes, compressed_bytes, created_at)
             VALUES (?, ?, ?, 'staged', 1, '', ?, ?, ?, ?) RETURNING id`,
          )
          .get(
            this.tenantId,
            this.reportId,
            job.index,
            c.frameChecksum,
            job.bodyBytes,
            c.data.length,
            s.options.clock.now(),
          ) as { id: number };
        s.sql.q('INSERT INTO chunk_blobs (chunk_id, data) VALUES (?, ?)').run(row.id, c.data);
        const staged = {
          id: row.id,
          bodyBytes: job.bodyBytes,
          frameBytes: c.data.length,
          oversize: job.oversize,
        };
        // Chunk 0 is staged last (at commit) but listed first: `#staged[i]` is chunk i.
        if (job.index === 0) this.#staged.unshift(staged);
        else this.#staged.push(staged);
      }, false);
    } catch (err) {
      if (err instanceof QuotaSignal) this.#rejectQuota(err.stored, this.#stagedBytes + need);
      if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_FOREIGNKEY') this.#vanished();
      throw err;
    }
    if (freed.chunks > 0 || dropped.length > 0) this.#roomMade(freed, dropped, storedBefore, max);
  }

  #roomMade(
    freed: { chunks: number; bytes: number },
    dropped: DropRecord[],
    storedBefore: number,
    max: number,
  ): void {
    const s = this.#s;
    const action = dropped.length > 0 ? 'dropped' : 'freed';
    if (!this.#told[action]) {
      this.#told[action] = true;
      s.emit('storage:full', {
        tenantId: this.tenantId,
        reportId: this.reportId,
        policy: s.options.whenFull,
        action: dropped.length > 0 ? 'dropped-oldest' : 'freed-uploaded',
        neededBytes: this.#stagedBytes,
        storedBytes: storedBefore,
        maxStorageBytes: max,
      });
    }
    if (freed.chunks > 0) {
      s.cleanupEvent({
        tenantId: this.tenantId,
        reason: 'quota-free',
        chunksDeleted: 0,
        blobsFreed: freed.chunks,
        bytesFreed: freed.bytes,
        undelivered: false,
      });
    }
    for (const d of dropped) s.dropped(this.tenantId, d);
    s.vacuum(false);
  }

  /** The same id was stored before: compare content hashes (nothing is written). */
  async #compareWithStored(): Promise<SubmitReportResult> {
    while (this.#splitter.next() !== undefined);
    const existing = this.#existing!;
    this.#state = 'committed';
    this.#s.forget(this);
    const same =
      existing.content_hash === this.#splitter.contentHash() ||
      // Stored by a version that hashed chunk 0's fields first.
      existing.content_hash === this.#splitter.legacyContentHash();
    if (!same) {
      throw new ChunkError(
        ERROR_CODES.REPORT_CONFLICT,
        `report ${this.reportId} was already stored with different content; give the new scan a new report id`,
        { details: { reportId: this.reportId } },
      );
    }
    return {
      reportId: this.reportId,
      totalChunks: existing.total_chunks,
      created: false,
      originalBytes: existing.original_bytes,
      compressedBytes: existing.compressed_bytes,
    };
  }

  /** Tails, checksums, limits, then one durable transaction that makes the report visible. */
  async #commitStaged(): Promise<SubmitReportResult> {
    const s = this.#s;
    const totalChunks = this.#splitter.count;
    const tail = Buffer.from(chunkTail(totalChunks, false), 'latin1');
    const lastTail = Buffer.from(chunkTail(totalChunks, true), 'latin1');
    const tailFrame = (await s.inline.compress(tail, false)).data;
    const lastTailFrame = (await s.inline.compress(lastTail, false)).data;
    const backend = this.#backend!;
    const checksums = await backend.finishChunks(this.#hash, tail, lastTail, totalChunks - 1);
    const contentHash = await backend.endHash(this.#hash, this.#splitter.contentSuffix());
    this.#hash = -1;
    const limits = s.options.decompressionLimits;
    let originalBytes = 0;
    let compressedBytes = 0;
    const rows = this.#staged.map((c, i) => {
      const last = i === totalChunks - 1;
      const t = last ? lastTailFrame : tailFrame;
      const original = c.bodyBytes + (last ? lastTail : tail).length;
      const compressed = c.frameBytes + t.length;
      if (original > limits.maxDecompressedBytes) {
        this.#tooLarge(
          i,
          original,
          `is ${original} bytes of JSON, over the ${limits.maxDecompressedBytes}-byte decompression limit`,
        );
      }
      if (base64Length(compressed) > MAX_CHUNK_DATA_BYTES || compressed > limits.maxCompressedBytes) {
        this.#tooLarge(
          i,
          original,
          `compresses to ${compressed} bytes, over the platform's ${MAX_CHUNK_DATA_BYTES}-byte base64 data limit`,
        );
      }
      if (original > limits.maxRatio * compressed) {
        this.#tooLarge(
          i,
          original,
          `compresses ${(original / compressed).toFixed(0)}:1, over the ${limits.maxRatio}:1 decompression ratio limit`,
        );
      }
      originalBytes += original;
      compressedBytes += compressed;
      return { id: c.id, checksum: checksums[i]!, tail: t, original, compressed };
    });
    const now = s.options.clock.now();
    s.sql.write(() => {
      const chunk = s.sql.q(
        `UPDATE chunks SET status = 'pending', checksum = ?, tail = ?, original_bytes = ?, compressed_bytes = ?
         WHERE id = ? AND status = 'staged'`,
      );
      for (const r of rows) {
        if (chunk.run(r.checksum, r.tail, r.original, r.compressed, r.id).changes !== 1) this.#vanished();
      }
      const report = s.sql
        .q(
          `UPDATE reports SET status = 'pending', total_chunks = ?, content_hash = ?, original_bytes = ?,
                              compressed_bytes = ?, updated_at = ?, staged_by = NULL
           WHERE tenant_id = ? AND report_id = ? AND status = 'staging'`,
        )
        .run(totalChunks, contentHash, originalBytes, compressedBytes, now, this.tenantId, this.reportId);
      if (report.changes !== 1) this.#vanished();
    });
    this.#state = 'committed';
    LIVE.delete(this.#key);
    this.#releaseCheckpoint?.();
    this.#releaseCache?.();
    if (this.#releaseCheckpoint !== undefined) s.checkpointOffThread();
    s.forget(this);
    this.#announce(rows, totalChunks, originalBytes, compressedBytes);
    return { reportId: this.reportId, totalChunks, created: true, originalBytes, compressedBytes };
  }

  /** Committed: now tell the world (listeners run outside the transaction). */
  #announce(
    rows: { original: number; compressed: number }[],
    totalChunks: number,
    originalBytes: number,
    compressedBytes: number,
  ): void {
    const s = this.#s;
    const base = { tenantId: this.tenantId, reportId: this.reportId };
    rows.forEach((r, i) => {
      if (this.#staged[i]!.oversize) {
        s.counters.oversizeChunks += 1;
        s.options.logger.warn(
          { ...base, chunkIndex: i, bytes: r.original },
          'a single finding exceeds maxChunkSizeBytes and travels alone',
        );
        s.emit('chunk:oversize', {
          ...base,
          chunkIndex: i,
          bytes: r.original,
          maxChunkSizeBytes: s.options.maxChunkSizeBytes,
        });
      }
      s.emit('chunk:created', {
        ...base,
        chunkIndex: i,
        totalChunks,
        originalBytes: r.original,
        compressedBytes: r.compressed,
      });
    });
    s.options.logger.debug({ ...base, totalChunks, originalBytes, compressedBytes }, 'report stored');
    s.emit('report:stored', {
      ...base,
      totalChunks,
      priority: this.priority,
      originalBytes,
      compressedBytes,
    });
  }

  #rejectQuota(stored: number, needed: number): never {
    const s = this.#s;
    const max = s.maxStorageBytes;
    const details = {
      tenantId: this.tenantId,
      reportId: this.reportId,
      neededBytes: needed,
      storedBytes: stored,
      maxStorageBytes: max,
    };
    s.counters.quotaRejections += 1;
    s.options.logger.warn(details, 'chunk store full: report refused');
    s.emit('storage:full', { ...details, policy: s.options.whenFull, action: 'rejected' });
    throw new ChunkError(
      ERROR_CODES.STORAGE_QUOTA,
      `report ${this.reportId} needs at least ${needed} bytes but the chunk store holds ${stored} of its ${max}-byte ` +
        'quota (maxStorageMB); nothing of it was kept. Not retryable as is: wait for deliveries to free space, ' +
        'raise maxStorageMB, or use whenFull: "drop-oldest"',
      { details, retryable: false },
    );
  }

  #tooLarge(index: number, originalBytes: number, why: string): never {
    throw new ChunkError(ERROR_CODES.REPORT_TOO_LARGE, `chunk ${index} of report ${this.reportId} ${why}`, {
      details: { reportId: this.reportId, chunkIndex: index, originalBytes },
    });
  }

  /** Our staged rows are gone: another store on this file discarded them (it thought this writer dead). */
  #vanished(): never {
    throw new ChunkError(
      ERROR_CODES.INTERNAL,
      `the staged chunks of report ${this.reportId} were discarded by another store opened on the same file; ` +
        'submit the report again (one writer process per database file)',
      { retryable: true },
    );
  }

  #conflictInProgress(): never {
    throw new ChunkError(
      ERROR_CODES.REPORT_CONFLICT,
      `report ${this.reportId} is being written by another writer (not committed yet); wait for it or use a new id`,
      { details: { reportId: this.reportId, inProgress: true } },
    );
  }

  #newSplitter(hashOnly: boolean): ChunkSplitter {
    if (hashOnly) {
      // Every chunk cut into one reused buffer: only the content hash is wanted.
      let scratch = Buffer.allocUnsafeSlow(0);
      const allocate = (bytes: number): Buffer => {
        if (scratch.length < bytes) scratch = Buffer.allocUnsafeSlow(bytes);
        return scratch.subarray(0, bytes);
      };
      return new ChunkSplitter(this.#header, this.#s.options, {
        allocate,
        streaming: true,
        legacyHash: true,
      });
    }
    const allocate = (bytes: number): Buffer => this.#s.pool.take(bytes);
    return new ChunkSplitter(this.#header, this.#s.options, { allocate, hash: false, streaming: true });
  }
}

function asError(value: unknown): Error {
  return value instanceof Error
    ? value
    : new ChunkError(ERROR_CODES.INTERNAL, `report writer stopped: ${String(value)}`);
}
