import {
  closeSync,
  fchmodSync,
  fstatSync,
  fsync as fsyncCb,
  fsyncSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  statSync,
  writeSync,
} from 'node:fs';
import { access, unlink } from 'node:fs/promises';
import { basename } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { toRediverError } from '@rediver/core';
import type { Clock } from '@rediver/core';
import { AuditError } from '../auditError';
import { AUDIT_FAILURE_CODES } from './failureCodes';
import { chainLine, GENESIS_HASH, parseChainedLine, sealSuffix } from './hashChain';
import type { ChainState } from './hashChain';
import {
  compressFile,
  DIR_MODE,
  endOfLastCompleteLineSync,
  FILE_MODE,
  lastLineOfSync,
  listCompressionLeftovers,
  listRotated,
  listRotatedSync,
  logFamily,
  readLastLine,
  retentionVictims,
  rotatedPath,
} from './logFiles';
import type { LogFamily } from './logFiles';
import { formatVerificationKey, SealKeyFile, sealMac } from './sealKey';
import { fileStamp } from './timestamp';
import { WriteLock } from './writeLock';

/** A checkpoint: the head of the chain at a moment, as it is sent off the host. */
export interface SinkCheckpoint {
  seq: number;
  hash: string;
  /** Sealing epoch of that line (sealed chains only). */
  epoch?: number;
  /** Id of the sealing key (sealed chains only). */
  keyId?: string;
  /** When it was taken (epoch ms). */
  atMs: number;
}

/** Lines the sink writes about the log itself (rotation, retention, key, recovery). */
export type SinkRecord =
  | { kind: 'rotated'; file: string; lastSeq: number; lastHash: string }
  | {
      kind: 'removed';
      file: string;
      reason: 'age' | 'count';
      lastSeq?: number;
      lastHash?: string;
      epoch?: number;
      keyId?: string;
    }
  | { kind: 'key'; keyId: string; replaced: boolean; derived: boolean }
  | { kind: 'truncated'; checkpointSeq: number; lastSeq: number }
  | { kind: 'recovered'; file: string; truncatedBytes: number };

/** What the sink needs to know. */
export interface FileSinkConfig {
  file: string;
  maxBytes: number;
  maxAgeMs: number;
  maxFiles: number;
  compress: boolean;
  hashChain: boolean;
  /** Forward-secure sealing (with `hashChain`): the key file, and an operator secret for a new key. */
  seal: { keyFile: string; secret: string | undefined } | undefined;
  checkpointEveryLines: number;
  checkpointIntervalMs: number;
  clock: Clock;
  hooks: FileSinkHooks;
}

/** What the sink reports (never throws from background work). */
export interface FileSinkHooks {
  /** Lines reached the file (`text`: each ending in a newline, as written, seals included). */
  written(text: string, lines: number, bytes: number): void;
  /** A batch is on disk (`synced`: and fsync'd). */
  flushed(lines: number, bytes: number, synced: boolean): void;
  rotated(from: string, to: string): void;
  compressed(file: string): void;
  deleted(file: string, reason: 'age' | 'count'): void;
  recovered(file: string, truncatedBytes: number): void;
  /** Writes a line about the log itself (synchronously, through the logger's normal path). */
  record(record: SinkRecord): void;
  checkpoint(checkpoint: SinkCheckpoint): void;
  /** A new sealing key was created: its verification key, to be shown once. */
  newKey(verificationKey: string, keyFile: string, derived: boolean, replaced: boolean): void;
  failed(operation: 'open' | 'write' | 'rotate' | 'compress' | 'retention' | 'seal', error: AuditError): void;
}

/** Lines waiting for the file: text for one file, then (`rotateTo`) a rotation. */
interface Chunk {
  text: string;
  lines: number;
  /** Set once sealed and encoded; what is left of it after a partial write. */
  buf?: Buffer;
  /** The sealed text, for forwarding once written. */
  sealed?: string;
  /** Chain position of the chunk's last line (chained logs). */
  lastSeq: number;
  lastHash: string;
  /** Rotate to this path after writing the chunk. */
  rotateTo?: string;
  /** The key id and epoch it was sealed with. */
  keyId?: string;
  epoch?: number;
}

/** The head of the chain as last written: what a checkpoint names. */
interface Head {
  seq: number;
  hash: string;
  epoch?: number;
  keyId?: string;
}

/** Bytes a seal adds to a line (`,"seal":"<16>.<epoch>.<64>"` replacing nothing but extending `}`), at most. */
const SEAL_RESERVE = 9 + 16 + 1 + 15 + 1 + 64 + 1;

function asAuditError(err: unknown, what: string): AuditError {
  // The host's disk (or the user's disk quota) is full: its own code, never our STORAGE_QUOTA.
  return toRediverError(err, 'INTERNAL', {
    what: `audit log: ${what} failed`,
    codes: AUDIT_FAILURE_CODES,
    create: (code, message, options) => new AuditError(code, message, options),
  });
}

function fsyncAsync(fd: number): Promise<void> {
  return new Promise((resolve, reject) => fsyncCb(fd, (err) => (err ? reject(err) : resolve())));
}

function noop(): void {}

/** Sinks with unwritten lines, flushed synchronously when the process exits without `close()`. */
const live = new Set<FileSink>();
let exitHooked = false;
function hookExit(): void {
  if (exitHooked) return;
  exitHooked = true;
  // 'exit' also runs after an uncaught exception and on process.exit(); 'beforeExit' when the loop empties.
  process.on('beforeExit', () => {
    for (const sink of live) sink.flushAtExit(false);
  });
  process.on('exit', () => {
    for (const sink of live) sink.flushAtExit(true);
  });
}

/**
 * The local file: takes serialised lines synchronously (`write`, pino's destination) and writes them with
 * synchronous `write(2)` calls (so order is call order and nothing can interleave), in batches: when the buffer
 * fills, on the interval, and at once (with `fsync`) for durable events. `fsync` otherwise runs off the main
 * thread. Rotation is decided as lines arrive (so a rotation record can open the next file); rotated files are
 * compressed and pruned in the background, one task at a time. With the hash chain, every batch's last line is
 * sealed with the forward-secure key, and checkpoints evolve the key.
 */
export class FileSink {
  private readonly family: LogFamily;
  /** Lines logged before the file was opened (chained once the chain position is known). */
  private early: string[] = [];
  private ready = false;
  /** The open chunk (text for the active file). */
  private text = '';
  private lines = 0;
  /** Chunks closed by a rotation point, waiting to be written. */
  private queue: Chunk[] = [];
  private fd = -1;
  /** Bytes in the active file. */
  private size = 0;
  /** Bytes the file receiving the open chunk will hold once everything pending is written. */
  private projected = 0;
  private dirty = false;
  private lastStampMs = 0;
  private readonly chain: ChainState = { seq: 0, hash: GENESIS_HASH };
  private lock: WriteLock | undefined;
  private sealer: SealKeyFile | undefined;
  /** The last line written (what the next fsync makes durable). */
  private head: Head | undefined;
  private latest: SinkCheckpoint | undefined;
  private linesSinceCheckpoint = 0;
  private lastCheckpointMs = 0;
  /** Rotated-away descriptors still to be fsync'd and closed. */
  private readonly retiring = new Set<number>();
  private retired: Promise<void> = Promise.resolve();
  private syncChain: Promise<void> = Promise.resolve();
  private queuedSync: Promise<void> | undefined;
  private background: Promise<void> = Promise.resolve();
  /** Rotated files already queued for compression. */
  private readonly compressing = new Set<string>();
  private closed = false;

  constructor(private readonly config: FileSinkConfig) {
    this.family = logFamily(config.file);
  }

  /** pino's destination: keeps the line for the next write. */
  write(line: string): void {
    if (!this.ready) {
      // Kept for the exit flush too: a program may exit before anything opens the file.
      if (this.early.length === 0 && !this.closed) {
        live.add(this);
        hookExit();
      }
      this.early.push(line);
      return;
    }
    this.accept(line);
  }

  /** Lines waiting to be written. */
  get pendingCount(): number {
    let n = this.lines + this.early.length;
    for (const c of this.queue) n += c.lines;
    return n;
  }

  /** Whether bytes were written since the last fsync. */
  get dirtyFile(): boolean {
    return this.dirty;
  }

  /** The chain position after everything accepted so far. */
  get chainState(): Readonly<ChainState> {
    return this.chain;
  }

  /** The last checkpoint (from this run, or the one the key file recorded at the previous run). */
  get checkpoint(): SinkCheckpoint | undefined {
    return this.latest;
  }

  private accept(line: string): void {
    const cfg = this.config;
    let bytes = Buffer.byteLength(line);
    if (cfg.hashChain) bytes += 81 + String(this.chain.seq + 1).length;
    const reserve = cfg.seal ? SEAL_RESERVE : 0;
    if (this.projected > 0 && this.projected + bytes + reserve > cfg.maxBytes) {
      this.rotationPoint();
      bytes = Buffer.byteLength(line) + (cfg.hashChain ? 81 + String(this.chain.seq + 1).length : 0);
    }
    this.text += cfg.hashChain ? chainLine(line, this.chain) : line;
    this.lines++;
    this.projected += bytes;
  }

  /** Closes the open chunk for the current file; the next line starts a new file (after a rotation record). */
  private rotationPoint(): void {
    const now = this.config.clock.now();
    // Strictly increasing stamps keep names unique and sortable even with several rotations per millisecond.
    const stampMs = Math.max(now, this.lastStampMs + 1);
    this.lastStampMs = stampMs;
    const to = rotatedPath(this.family, fileStamp(stampMs));
    this.queue.push({
      text: this.text,
      lines: this.lines,
      lastSeq: this.chain.seq,
      lastHash: this.chain.hash,
      rotateTo: to,
    });
    this.text = '';
    this.lines = 0;
    this.projected = 0;
    if (this.config.hashChain && this.chain.seq > 0) {
      this.writeRecord({
        kind: 'rotated',
        file: basename(to),
        lastSeq: this.chain.seq,
        lastHash: this.chain.hash,
      });
    }
  }

  private writeRecord(record: SinkRecord): void {
    this.config.hooks.record(record);
  }

  /** Opens (creating folder and file), takes the lock, recovers size, torn tail, chain and key; idempotent. */
  openSync(): void {
    if (this.fd >= 0) return;
    if (this.closed) throw new AuditError('CLOSED', 'audit log: the file is closed');
    const { active, dir } = this.family;
    let fd = -1;
    const notes: SinkRecord[] = [];
    try {
      mkdirSync(dir, { recursive: true, mode: DIR_MODE });
      // The lock comes first: the torn-tail repair below must never cut a line another live writer is writing.
      // (Not for a device or pipe given as the log file: nothing to repair there, and no folder to lock in.)
      const existing = statSync(active, { throwIfNoEntry: false });
      if (existing === undefined || existing.isFile()) this.lock ??= WriteLock.acquire(active);
      const created = existing === undefined;
      fd = openSync(active, 'a+', FILE_MODE);
      if (created) fchmodSync(fd, FILE_MODE);
      let size = fstatSync(fd).size;
      if (size > 0) {
        const end = endOfLastCompleteLineSync(fd, size);
        if (end < size) {
          // A crash tore the last line: it was never acknowledged by flush(); cut it and say so.
          ftruncateSync(fd, end);
          fsyncSync(fd);
          this.config.hooks.recovered(active, size - end);
          notes.push({ kind: 'recovered', file: active, truncatedBytes: size - end });
          size = end;
        }
      }
      const rotated = listRotatedSync(this.family);
      const newest = rotated.at(-1);
      this.lastStampMs = Math.max(this.lastStampMs, newest?.stampMs ?? 0);
      if (this.config.hashChain) {
        let last = size > 0 ? lastLineOfSync(fd, size) : undefined;
        let lastInRotated = false;
        if (last === undefined && newest !== undefined) {
          last = lastLineOfText(readNewest(newest.path));
          lastInRotated = last !== undefined;
        }
        const parts = last === undefined ? undefined : parseChainedLine(last);
        if (parts) {
          this.chain.seq = parts.seq;
          this.chain.hash = parts.hash;
          this.head = parts.seal
            ? { seq: parts.seq, hash: parts.hash, epoch: parts.seal.epoch, keyId: parts.seal.keyId }
            : { seq: parts.seq, hash: parts.hash };
          // A crash right after a rotation left an empty active file: the rotation record opens it now.
          if (lastInRotated && newest) {
            notes.push({ kind: 'rotated', file: newest.name, lastSeq: parts.seq, lastHash: parts.hash });
          }
        }
        if (this.config.seal) this.openSealer(notes);
      }
      this.fd = fd;
      this.size = size;
      this.projected = size;
      this.lastCheckpointMs = this.config.clock.now();
    } catch (err) {
      if (fd >= 0) closeSync(fd);
      this.sealer?.close();
      this.sealer = undefined;
      this.lock?.release();
      this.lock = undefined;
      const e = asAuditError(err, `opening ${active}`);
      this.config.hooks.failed('open', e);
      throw e;
    }
    live.add(this);
    hookExit();
    this.ready = true;
    const early = this.early;
    this.early = [];
    // A rotation record opens its file; the other notes follow what was logged before the open.
    for (const note of notes) if (note.kind === 'rotated') this.writeRecord(note);
    for (const line of early) this.accept(line);
    for (const note of notes) if (note.kind !== 'rotated') this.writeRecord(note);
    this.runBackground(() => this.recoverRotated());
    this.runBackground(() => this.retention());
  }

  private openSealer(notes: SinkRecord[]): void {
    const seal = this.config.seal!;
    const opened = SealKeyFile.open(seal.keyFile, seal.secret);
    this.sealer = opened.file;
    const state = opened.file.state;
    if (opened.created) {
      const derived = seal.secret !== undefined;
      const replaced = opened.replaced || this.chain.seq > 0;
      // A key that takes over an existing log (lost key file, or a log of the previous version) is announced
      // in the log, so the verifier can tell a new key from seals forged with another one.
      if (replaced) notes.push({ kind: 'key', keyId: state.keyId, replaced, derived });
      // K₀ is the key in force until the first checkpoint evolves (and erases) it.
      this.config.hooks.newKey(
        formatVerificationKey(state.keyId, opened.k0!),
        seal.keyFile,
        derived,
        replaced,
      );
    }
    const cp = state.checkpoint;
    if (cp) {
      this.latest = { seq: cp.seq, hash: cp.hash, epoch: cp.epoch, keyId: state.keyId, atMs: 0 };
      // The log ends before the last checkpoint this key recorded: lines were deleted behind the logger's back.
      if (cp.seq > this.chain.seq)
        notes.push({ kind: 'truncated', checkpointSeq: cp.seq, lastSeq: this.chain.seq });
    }
  }

  /**
   * Writes every pending line now (synchronous `write(2)`), sealing each batch's last line; rotates where due.
   * Throws `AuditError` on failure (the unwritten rest is kept for the next call).
   */
  drainSync(): { lines: number; bytes: number } {
    if (this.fd < 0) this.openSync();
    if (this.lines > 0) {
      this.queue.push({
        text: this.text,
        lines: this.lines,
        lastSeq: this.chain.seq,
        lastHash: this.chain.hash,
      });
      this.text = '';
      this.lines = 0;
    }
    let forward = '';
    let forwardLines = 0;
    let bytes = 0;
    try {
      while (this.queue.length > 0) {
        const chunk = this.queue[0]!;
        if (chunk.buf === undefined) this.encode(chunk);
        const buf = chunk.buf!;
        let offset = 0;
        try {
          while (offset < buf.length) {
            offset += writeSync(this.fd, buf, offset, buf.length - offset);
            this.dirty = true;
          }
        } finally {
          this.size += offset;
          bytes += offset;
          chunk.buf = buf.subarray(offset);
        }
        this.queue.shift();
        forward += chunk.sealed!;
        forwardLines += chunk.lines;
        this.linesSinceCheckpoint += chunk.lines;
        if (this.config.hashChain && chunk.lines > 0) this.noteHead(chunk);
        if (chunk.rotateTo !== undefined) this.rotate(chunk.rotateTo);
      }
    } catch (err) {
      const e = asAuditError(err, 'writing');
      this.config.hooks.failed('write', e);
      throw e;
    } finally {
      if (forward !== '') this.config.hooks.written(forward, forwardLines, bytes);
    }
    return { lines: forwardLines, bytes };
  }

  /** Seals the chunk's last line and encodes it, in one copy. */
  private encode(chunk: Chunk): void {
    const sealer = this.sealer;
    if (sealer === undefined || chunk.lines === 0) {
      chunk.sealed = chunk.text;
      chunk.buf = Buffer.from(chunk.text, 'utf8');
      return;
    }
    const { keyId, epoch, key } = sealer.state;
    chunk.keyId = keyId;
    chunk.epoch = epoch;
    const suffix = sealSuffix({ keyId, epoch, mac: sealMac(key, chunk.lastHash) });
    const len = Buffer.byteLength(chunk.text);
    const buf = Buffer.allocUnsafe(len - 2 + suffix.length);
    buf.write(chunk.text, 0, 'utf8');
    buf.write(suffix, len - 2, 'latin1');
    chunk.buf = buf;
    chunk.sealed = chunk.text.slice(0, -2) + suffix;
    if (chunk.rotateTo === undefined) this.projected += suffix.length - 2;
  }

  private noteHead(chunk: Chunk): void {
    this.head =
      chunk.epoch === undefined
        ? { seq: chunk.lastSeq, hash: chunk.lastHash }
        : { seq: chunk.lastSeq, hash: chunk.lastHash, epoch: chunk.epoch, keyId: chunk.keyId! };
  }

  private rotate(to: string): void {
    const { active } = this.family;
    try {
      renameSync(active, to);
    } catch (err) {
      // Keep logging into the active file rather than losing lines.
      this.config.hooks.failed('rotate', asAuditError(err, 'rotating'));
      return;
    }
    const old = this.fd;
    try {
      const fd = openSync(active, 'a', FILE_MODE);
      fchmodSync(fd, FILE_MODE);
      this.fd = fd;
      this.size = 0;
    } catch (err) {
      // The old descriptor still points at the renamed file: keep writing there.
      this.config.hooks.failed('rotate', asAuditError(err, 'opening the new active file'));
      return;
    }
    this.retire(old);
    this.config.hooks.rotated(active, to);
    if (this.config.compress) {
      this.compressing.add(to);
      this.runBackground(() => this.compress(to));
    }
    this.runBackground(() => this.retention());
  }

  /** fsyncs and closes a rotated-away descriptor off the main thread (compression waits for it). */
  private retire(fd: number): void {
    this.retiring.add(fd);
    const done = (): void => {
      if (this.retiring.delete(fd)) closeSync(fd);
    };
    this.retired = this.retired.then(() => fsyncAsync(fd).then(done, done));
  }

  /** fsync of everything written so far, on the main thread (durable events, exit). */
  private fsyncNow(): void {
    for (const fd of this.retiring) fsyncSync(fd);
    if (this.fd >= 0 && this.dirty) {
      fsyncSync(this.fd);
      this.dirty = false;
    }
  }

  /** Durable write: everything pending is written and fsync'd before this returns; a checkpoint may follow. */
  writeDurable(): void {
    const { lines, bytes } = this.drainSync();
    this.fsyncNow();
    if (lines > 0) this.config.hooks.flushed(lines, bytes, true);
    this.afterSync(this.head);
  }

  /** Writes everything pending now and (if `sync`) fsyncs it off the main thread; resolves when done. */
  async flush(sync: boolean): Promise<void> {
    const { lines, bytes } = this.drainSync();
    if (sync) await this.syncAsync();
    if (lines > 0) this.config.hooks.flushed(lines, bytes, sync);
  }

  private syncAsync(): Promise<void> {
    if (this.queuedSync) return this.queuedSync;
    const run = async (): Promise<void> => {
      this.queuedSync = undefined;
      const head = this.head;
      const fd = this.fd;
      if (fd >= 0 && this.dirty) {
        this.dirty = false;
        try {
          await fsyncAsync(fd);
        } catch (err) {
          this.dirty = true;
          throw asAuditError(err, 'fsync');
        }
      }
      await this.retired;
      this.afterSync(head);
    };
    const p = this.syncChain.then(run, run);
    this.queuedSync = p;
    this.syncChain = p.catch(noop);
    return p;
  }

  /** After `head` is durable: takes a checkpoint if one is due (and evolves the sealing key). */
  private afterSync(head: Head | undefined, force = false): void {
    if (head === undefined || !this.config.hashChain) return;
    if (this.latest !== undefined && head.seq <= this.latest.seq) return;
    const now = this.config.clock.now();
    const due =
      force ||
      this.linesSinceCheckpoint >= this.config.checkpointEveryLines ||
      now - this.lastCheckpointMs >= this.config.checkpointIntervalMs;
    if (!due) return;
    const sealer = this.sealer;
    if (sealer && head.epoch === sealer.state.epoch && head.keyId === sealer.state.keyId) {
      try {
        sealer.evolve({ seq: head.seq, hash: head.hash, epoch: head.epoch });
      } catch (err) {
        this.config.hooks.failed('seal', asAuditError(err, 'evolving the sealing key'));
        return;
      }
    }
    this.linesSinceCheckpoint = 0;
    this.lastCheckpointMs = now;
    const cp: SinkCheckpoint = { seq: head.seq, hash: head.hash, atMs: now };
    if (head.epoch !== undefined) cp.epoch = head.epoch;
    if (head.keyId !== undefined) cp.keyId = head.keyId;
    this.latest = cp;
    this.config.hooks.checkpoint(cp);
  }

  /** Takes a checkpoint now if lines were written since the last one (at close). */
  checkpointNow(): void {
    if (this.fd >= 0 && this.linesSinceCheckpoint > 0 && !this.dirty) this.afterSync(this.head, true);
  }

  /** The synchronous flush of the exit handlers (never throws: the process is going away). */
  flushAtExit(exiting: boolean): void {
    try {
      if (this.fd < 0 && !this.ready && this.early.length === 0) return;
      this.drainSync();
      this.fsyncNow();
      this.afterSync(this.head);
    } catch {
      // reported through 'error' by drainSync; nothing else can be done at exit
    }
    if (exiting) {
      this.sealer?.close();
      this.lock?.release();
    }
  }

  private runBackground(task: () => Promise<void>): void {
    this.background = this.background.then(task, task);
  }

  private async compress(path: string): Promise<void> {
    try {
      await this.retired;
      const gz = await compressFile(path);
      if (gz !== undefined) this.config.hooks.compressed(gz);
    } catch (err) {
      this.config.hooks.failed('compress', asAuditError(err, `compressing ${path}`));
    } finally {
      this.compressing.delete(path);
    }
  }

  /** Finishes what a crash interrupted: leftover temp files, uncompressed rotated files. */
  private async recoverRotated(): Promise<void> {
    for (const tmp of await listCompressionLeftovers(this.family)) {
      await unlink(tmp).catch(() => undefined);
    }
    if (!this.config.compress) return;
    for (const file of await listRotated(this.family)) {
      if (file.gzip || this.compressing.has(file.path)) continue;
      const gz = `${file.path}.gz`;
      const done = await access(gz).then(
        () => true,
        () => false,
      );
      if (done) await unlink(file.path).catch(() => undefined);
      else await this.compress(file.path);
    }
  }

  /**
   * Deletes rotated files of this family older than `maxAgeMs` or beyond `maxFiles`; nothing else. Each deletion
   * is preceded by a durable record naming the file's last `seq` and `hash`, so the verifier can tell retention
   * from a file deleted by hand.
   */
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
        if (this.config.hashChain && this.fd >= 0) {
          const last = await readLastLine(file.path).catch(() => undefined);
          const parts = last === undefined ? undefined : parseChainedLine(last);
          const record: SinkRecord = { kind: 'removed', file: file.name, reason };
          if (parts) {
            record.lastSeq = parts.seq;
            record.lastHash = parts.hash;
            if (parts.seal) {
              record.epoch = parts.seal.epoch;
              record.keyId = parts.seal.keyId;
            }
          }
          this.writeRecord(record);
          this.writeDurable();
        }
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

  /** Writes and fsyncs everything, takes a final checkpoint, waits for background work, closes; idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    let failure: AuditError | undefined;
    const attempt = async (step: () => unknown): Promise<void> => {
      try {
        await step();
      } catch (err) {
        failure ??= asAuditError(err, 'closing');
      }
    };
    await attempt(() => this.flush(true));
    await this.background;
    if (this.fd >= 0) await attempt(() => this.flush(true));
    this.closed = true;
    if (this.fd >= 0) this.afterSync(this.head, this.linesSinceCheckpoint > 0);
    await this.retired;
    live.delete(this);
    const fd = this.fd;
    this.fd = -1;
    if (fd >= 0) await attempt(() => closeSync(fd));
    this.sealer?.close();
    this.lock?.release();
    if (failure) throw failure;
  }
}

function readNewest(path: string): string {
  const data = readFileSync(path);
  return (path.endsWith('.gz') ? gunzipSync(data) : data).toString('utf8');
}

function lastLineOfText(text: string): string | undefined {
  const end = text.lastIndexOf('\n');
  if (end <= 0) return undefined;
  return text.slice(text.lastIndexOf('\n', end - 1) + 1, end);
}
