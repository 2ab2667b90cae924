import { close as closeCb, fsync as fsyncCb, write as writeCb } from 'node:fs';
import { access, mkdir, open, rename, unlink } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import type { Clock } from '@rediver/core';
import { AuditError } from '../auditError';
import { chainLine, GENESIS_HASH, parseChainedLine } from './hashChain';
import type { ChainState } from './hashChain';
import {
  compressFile,
  DIR_MODE,
  endOfLastCompleteLine,
  FILE_MODE,
  lastLineOf,
  listCompressionLeftovers,
  listRotated,
  logFamily,
  readLastLine,
  retentionVictims,
  rotatedPath,
} from './logFiles';
import type { LogFamily } from './logFiles';
import { fileStamp } from './timestamp';

/** What the sink needs to know. */
export interface FileSinkConfig {
  file: string;
  maxBytes: number;
  maxAgeMs: number;
  maxFiles: number;
  compress: boolean;
  hashChain: boolean;
  clock: Clock;
  hooks: FileSinkHooks;
}

/** What the sink reports (never throws from background work). */
export interface FileSinkHooks {
  /** `text` is the written lines (each ending in a newline), `lines` how many. */
  flushed(text: string, lines: number, bytes: number, synced: boolean): void;
  rotated(from: string, to: string): void;
  compressed(file: string): void;
  deleted(file: string, reason: 'age' | 'count'): void;
  recovered(file: string, truncatedBytes: number): void;
  failed(operation: 'open' | 'write' | 'rotate' | 'compress' | 'retention', error: AuditError): void;
}

interface FlushJob {
  sync: boolean;
  promise: Promise<void>;
}

function fsWrite(fd: number, buf: Buffer, offset: number): Promise<number> {
  return new Promise((resolve, reject) => {
    writeCb(fd, buf, offset, buf.length - offset, null, (err, n) => (err ? reject(err) : resolve(n)));
  });
}
function fsFsync(fd: number): Promise<void> {
  return new Promise((resolve, reject) => fsyncCb(fd, (err) => (err ? reject(err) : resolve())));
}
function fsClose(fd: number): Promise<void> {
  return new Promise((resolve, reject) => closeCb(fd, (err) => (err ? reject(err) : resolve())));
}

function asAuditError(err: unknown, what: string): AuditError {
  if (err instanceof AuditError) return err;
  const code = (err as { code?: unknown } | null)?.code;
  const quota = code === 'ENOSPC' || code === 'EDQUOT';
  return new AuditError(quota ? 'STORAGE_QUOTA' : 'INTERNAL', `audit log: ${what} failed: ${String(err)}`, {
    cause: err,
  });
}

/**
 * The local file: takes serialised lines synchronously (`write`, pino's destination), writes them in batches
 * with at most one flush running at a time (so order is the order of `write` calls), rotates by size,
 * compresses and prunes rotated files in the background, and keeps the hash chain.
 */
export class FileSink {
  private readonly family: LogFamily;
  /** Lines waiting for a flush, concatenated (cheap rope strings, like SonicBoom's buffer). */
  private pendingText = '';
  /** Lines logged before the chain position was recovered (hash chain only). */
  private pendingLines: string[] = [];
  private chainReady = false;
  private pending = 0;
  /** Already-chained lines a failed write did not start, written before anything new. */
  private retryText = '';
  /** Lines of failed flushes not yet handed to `flushed` (remote, transport), with their count. */
  private unforwarded = '';
  private unforwardedCount = 0;
  /** The unwritten rest of a line a failed write cut, written first. */
  private carry: Buffer | null = null;
  private fd = -1;
  private size = 0;
  private dirty = false;
  private lastStampMs = 0;
  private readonly chain: ChainState = { seq: 0, hash: GENESIS_HASH };
  private opening: Promise<void> | undefined;
  private running: Promise<void> = Promise.resolve();
  private queued: FlushJob | undefined;
  private background: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(private readonly config: FileSinkConfig) {
    this.family = logFamily(config.file);
  }

  /** pino's destination: keeps the line for the next flush. */
  write(line: string): void {
    // With the chain, a line is chained as it arrives once the chain position is known (after open);
    // until then it waits in `pendingLines`.
    if (!this.config.hashChain) this.pendingText += line;
    else if (this.chainReady) this.pendingText += chainLine(line, this.chain);
    else this.pendingLines.push(line);
    this.pending++;
  }

  /** Lines waiting for a flush. */
  get pendingCount(): number {
    return this.pending;
  }

  /** Whether bytes were written since the last fsync. */
  get dirtyFile(): boolean {
    return this.dirty;
  }

  /** The chain position after everything written so far. */
  get chainState(): Readonly<ChainState> {
    return this.chain;
  }

  /** Opens (creating folder and file) and recovers size, torn tail and chain; memoised. */
  open(): Promise<void> {
    this.opening ??= this.doOpen();
    return this.opening;
  }

  private async doOpen(): Promise<void> {
    const { active, dir } = this.family;
    try {
      await mkdir(dir, { recursive: true, mode: DIR_MODE });
      let created = false;
      try {
        await access(active);
      } catch {
        created = true;
      }
      const fh = await open(active, 'a+', FILE_MODE);
      if (created) await fh.chmod(FILE_MODE);
      let { size } = await fh.stat();
      if (size > 0) {
        const end = await endOfLastCompleteLine(fh, size);
        if (end < size) {
          // A crash tore the last line: it was never acknowledged by flush(); cut it and say so.
          await fh.truncate(end);
          await fh.sync();
          this.config.hooks.recovered(active, size - end);
          size = end;
        }
      }
      const rotated = await listRotated(this.family);
      const newest = rotated.at(-1);
      this.lastStampMs = newest?.stampMs ?? 0;
      if (this.config.hashChain) {
        await this.recoverChain(fh, size, newest?.path);
        // Same tick as setting chainReady: earlier lines are chained ahead of any later one.
        let text = '';
        for (const line of this.pendingLines) text += chainLine(line, this.chain);
        this.pendingLines = [];
        this.pendingText = text + this.pendingText;
        this.chainReady = true;
      }
      this.size = size;
      this.fd = fh.fd;
      // The FileHandle object is dropped on purpose: the fd is used with the callback API (cheaper per write)
      // and closed explicitly in close().
      this.keepHandle(fh);
      this.runBackground(() => this.recoverRotated());
      this.runBackground(() => this.retention());
    } catch (err) {
      // Let the next flush try again; the lines stay pending.
      this.opening = undefined;
      const e = asAuditError(err, `opening ${active}`);
      this.config.hooks.failed('open', e);
      throw e;
    }
  }

  private handle: FileHandle | undefined;
  private keepHandle(fh: FileHandle): void {
    this.handle = fh;
  }

  private async recoverChain(fh: FileHandle, size: number, newestRotated: string | undefined): Promise<void> {
    let last = size > 0 ? await lastLineOf(fh, size) : undefined;
    if (last === undefined && newestRotated !== undefined) last = await readLastLine(newestRotated);
    const parts = last === undefined ? undefined : parseChainedLine(last);
    if (parts) {
      this.chain.seq = parts.seq;
      this.chain.hash = parts.hash;
    }
  }

  /** Requests a flush; resolves when everything written before the call is on disk (and fsync'd if `sync`). */
  flush(sync: boolean): Promise<void> {
    if (this.queued) {
      this.queued.sync ||= sync;
      return this.queued.promise;
    }
    const job: FlushJob = { sync, promise: Promise.resolve() };
    job.promise = this.running.then(
      () => this.runJob(job),
      () => this.runJob(job),
    );
    this.queued = job;
    this.running = job.promise;
    return job.promise;
  }

  private async runJob(job: FlushJob): Promise<void> {
    if (this.queued === job) this.queued = undefined;
    await this.open();
    if (this.fd < 0) throw new AuditError('CLOSED', 'audit log: the file is closed');
    const count = this.pending;
    // Lines of a failed flush are forwarded with the next successful one, so remote and transport miss nothing.
    const forwardPrefix = this.unforwarded;
    const forwardPrefixCount = this.unforwardedCount;
    let text = this.pendingText;
    this.pendingText = '';
    this.pending = 0;
    if (this.retryText !== '') {
      text = this.retryText + text;
      this.retryText = '';
    }
    let bytes = 0;
    try {
      if (this.carry) {
        const carry = this.carry;
        this.carry = null;
        await this.writeBuffer(carry, '');
      }
      if (text !== '') bytes = await this.writeText(text);
      if (job.sync && this.dirty) {
        await fsFsync(this.fd);
        this.dirty = false;
      }
    } catch (err) {
      this.unforwarded = forwardPrefix + text;
      this.unforwardedCount = forwardPrefixCount + count;
      const e = asAuditError(err, 'writing');
      this.config.hooks.failed('write', e);
      throw e;
    }
    this.unforwarded = '';
    this.unforwardedCount = 0;
    const forward = forwardPrefix + text;
    if (forward !== '') this.config.hooks.flushed(forward, forwardPrefixCount + count, bytes, job.sync);
  }

  /** Writes lines, rotating before a line that would push the file over `maxBytes`. */
  private async writeText(text: string): Promise<number> {
    const whole = Buffer.from(text, 'utf8');
    if (this.size + whole.length <= this.config.maxBytes) {
      await this.writeBuffer(whole, '');
      return whole.length;
    }
    // Slow path (a rotation is due): find the line boundaries in bytes.
    let segStart = 0;
    let pos = 0;
    while (pos < whole.length) {
      const nl = whole.indexOf(10, pos);
      const end = nl < 0 ? whole.length : nl + 1;
      if (this.size + (end - segStart) > this.config.maxBytes && this.size + (pos - segStart) > 0) {
        if (pos > segStart)
          await this.writeBuffer(whole.subarray(segStart, pos), whole.subarray(pos).toString());
        await this.rotate();
        segStart = pos;
      }
      pos = end;
    }
    await this.writeBuffer(whole.subarray(segStart), '');
    return whole.length;
  }

  /** Writes all of `buf`; on failure keeps its unwritten rest and `after` for the next flush. */
  private async writeBuffer(buf: Buffer, after: string): Promise<void> {
    let offset = 0;
    try {
      while (offset < buf.length) {
        offset += await fsWrite(this.fd, buf, offset);
        this.dirty = true;
      }
    } catch (err) {
      if (offset < buf.length) this.carry = buf.subarray(offset);
      this.retryText = after;
      this.size += offset;
      throw err;
    }
    this.size += buf.length;
  }

  private async rotate(): Promise<void> {
    const { active } = this.family;
    try {
      await fsFsync(this.fd);
      this.dirty = false;
      const handle = this.handle;
      this.handle = undefined;
      this.fd = -1;
      await handle?.close();
      const now = this.config.clock.now();
      // Strictly increasing stamps keep names unique and sortable even with several rotations per millisecond.
      const stampMs = Math.max(now, this.lastStampMs + 1);
      this.lastStampMs = stampMs;
      const to = rotatedPath(this.family, fileStamp(stampMs));
      await rename(active, to);
      const fh = await open(active, 'a', FILE_MODE);
      await fh.chmod(FILE_MODE);
      this.handle = fh;
      this.fd = fh.fd;
      this.size = 0;
      this.config.hooks.rotated(active, to);
      if (this.config.compress) this.runBackground(() => this.compress(to));
      this.runBackground(() => this.retention());
    } catch (err) {
      const e = asAuditError(err, 'rotating');
      this.config.hooks.failed('rotate', e);
      if (this.fd < 0) {
        // Keep logging into the active file rather than losing lines.
        const fh = await open(active, 'a', FILE_MODE);
        this.handle = fh;
        this.fd = fh.fd;
      }
      throw e;
    }
  }

  private runBackground(task: () => Promise<void>): void {
    this.background = this.background.then(task, task);
  }

  private async compress(path: string): Promise<void> {
    try {
      const gz = await compressFile(path);
      this.config.hooks.compressed(gz);
    } catch (err) {
      this.config.hooks.failed('compress', asAuditError(err, `compressing ${path}`));
    }
  }

  /** Finishes what a crash interrupted: leftover temp files, uncompressed rotated files. */
  private async recoverRotated(): Promise<void> {
    for (const tmp of await listCompressionLeftovers(this.family)) {
      await unlink(tmp).catch(() => undefined);
    }
    if (!this.config.compress) return;
    for (const file of await listRotated(this.family)) {
      if (file.gzip) continue;
      const gz = `${file.path}.gz`;
      const done = await access(gz).then(
        () => true,
        () => false,
      );
      if (done) await unlink(file.path).catch(() => undefined);
      else await this.compress(file.path);
    }
  }

  /** Deletes rotated files of this family older than `maxAgeMs` or beyond `maxFiles`; nothing else. */
  async retention(): Promise<void> {
    try {
      const files = await listRotated(this.family);
      const victims = retentionVictims(
        files,
        this.config.clock.now(),
        this.config.maxAgeMs,
        this.config.maxFiles,
      );
      for (const { file, reason } of victims) {
        await unlink(file.path);
        this.config.hooks.deleted(file.path, reason);
      }
    } catch (err) {
      this.config.hooks.failed('retention', asAuditError(err, 'retention'));
    }
  }

  /** Schedules a retention pass behind other background work. */
  scheduleRetention(): void {
    this.runBackground(() => this.retention());
  }

  /** Flushes (fsync'd), waits for background work and closes the file; idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    let failure: AuditError | undefined;
    try {
      await this.flush(true);
    } catch (err) {
      failure = asAuditError(err, 'closing');
    }
    await this.background;
    const handle = this.handle;
    this.handle = undefined;
    const fd = this.fd;
    this.fd = -1;
    if (handle) await handle.close();
    else if (fd >= 0) await fsClose(fd);
    if (failure) throw failure;
  }
}
