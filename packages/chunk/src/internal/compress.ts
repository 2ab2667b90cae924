import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { ERROR_CODES } from '@rediver/core';
import type { Logger } from '@rediver/core';
import { Compressor } from 'zstd-napi';
import { sha256Hex, sha256Stream } from './checksum';
import { ChunkError } from '../errors';

/**
 * zstd compression at a fixed level. Every output is ONE standard zstd frame with its content size and
 * XXH64 checksum in the header/footer, so any decoder (fzstd, the `zstd` CLI, the platform) reads it.
 */
export class ChunkCompressor {
  readonly #compressor = new Compressor();

  constructor(level: number) {
    this.#compressor.setParameters({ compressionLevel: level, contentSizeFlag: true, checksumFlag: true });
  }

  /** Compresses `data` into one zstd frame. */
  compress(data: Uint8Array): Buffer {
    return this.#compressor.compress(data);
  }
}

/**
 * Chunk buffers the worker handed back, reused for the next chunks: a long report then costs a few
 * buffers, not one of garbage per chunk (memory a worker frees only when its own collector runs).
 */
export class BufferPool {
  readonly #free: ArrayBuffer[] = [];
  readonly #max: number;
  readonly #maxBytes: number;

  /** Keeps at most `max` buffers of at most `maxBytes` each (a rare oversize chunk's is not kept). */
  constructor(max: number, maxBytes = Number.POSITIVE_INFINITY) {
    this.#max = max;
    this.#maxBytes = maxBytes;
  }

  /** A buffer of `bytes` bytes over memory of its own (never Buffer's shared pool): transferable. */
  take(bytes: number): Buffer {
    let best = -1;
    for (let i = 0; i < this.#free.length; i++) {
      const size = this.#free[i]!.byteLength;
      if (size >= bytes && (best < 0 || size < this.#free[best]!.byteLength)) best = i;
    }
    if (best >= 0) return Buffer.from(this.#free.splice(best, 1)[0]!, 0, bytes);
    // Some slack, so the next, slightly bigger chunk can reuse it.
    return Buffer.allocUnsafeSlow(Math.ceil((bytes * 1.25) / 4096) * 4096).subarray(0, bytes);
  }

  /** Takes back memory no one uses any more. */
  give(memory: ArrayBuffer): void {
    if (this.#free.length < this.#max && memory.byteLength <= this.#maxBytes) this.#free.push(memory);
  }
}

/** A compressed chunk: its frame and the SHA-256 of its JSON and of the frame. */
export interface CompressedChunk {
  data: Buffer;
  /**
   * Hex SHA-256 of the uncompressed JSON; empty when the chunk's hash was kept open (`HashRange.index`):
   * `finishChunks` gives it once the chunk's tail is known.
   */
  checksum: string;
  /** Hex SHA-256 of the frame. */
  frameChecksum: string;
  /** Bytes of the uncompressed JSON. */
  originalBytes: number;
}

/** Where a chunk's findings are in the JSON given to `compress`, for the report's content hash. */
export interface HashRange {
  /** A handle from `beginHash`. */
  readonly hash: number;
  readonly at: number;
  readonly end: number;
  /**
   * The chunk's index: its JSON's SHA-256 stays open (the tail comes later) until `finishChunks`.
   * Without it the checksum is of `json` as given.
   */
  readonly index?: number;
}

/**
 * Where chunks are compressed (and their checksums and the report's content hash computed): this
 * thread, or a worker thread. Calls for one report's hash must come in order.
 */
export interface ChunkCompression {
  /** Starts a report's content hash with `prefix`; returns its handle. */
  beginHash(prefix: Buffer): number;
  /**
   * Compresses `json` (and adds `json[range.at..range.end]` and a comma to the content hash). With
   * `transferable`, the memory under `json` belongs to the caller alone (not Buffer's shared pool) and a
   * worker may take it: `json` is unusable afterwards.
   */
  compress(json: Buffer, transferable: boolean, range?: HashRange): Promise<CompressedChunk>;
  /** Adds `findings` and a comma to the content hash (a chunk compressed later: chunk 0), in order. */
  updateHash(hash: number, findings: Uint8Array): void;
  /** The content hash (hex) with `suffix` appended last, after every chunk's `compress` call. */
  endHash(hash: number, suffix?: Buffer): Promise<string>;
  /** Forgets a content hash (and the chunk hashes kept open with it) that will not be finished. */
  dropHash(hash: number): void;
  /**
   * Finishes the SHA-256 of every chunk kept open under `hash` (indices 0..lastIndex): `tail` appended to
   * each, `lastTail` to the last. Returns the hex checksums by index. The open hashes are then forgotten.
   */
  finishChunks(hash: number, tail: Buffer, lastTail: Buffer, lastIndex: number): Promise<string[]>;
  close(): Promise<void>;
}

/**
 * Per-chunk SHA-256 states kept open until the report's end: a few hundred bytes each, at most
 * `MAX_TOTAL_CHUNKS` of them per report (measured: 20,000 open states hold ~18 MB of native memory, so a
 * 2,000-chunk report ~3.5 MB). This is what lets a chunk be hashed and compressed once, when it is cut,
 * although its tail is written only at the end.
 */
class OpenHashes {
  readonly #open = new Map<number, Map<number, ReturnType<typeof sha256Stream>>>();

  keep(hash: number, index: number, json: Uint8Array): void {
    let chunks = this.#open.get(hash);
    if (chunks === undefined) this.#open.set(hash, (chunks = new Map()));
    chunks.set(index, sha256Stream().update(json));
  }

  finish(hash: number, tail: Uint8Array, lastTail: Uint8Array, lastIndex: number): string[] {
    const chunks = this.#open.get(hash) ?? new Map<number, ReturnType<typeof sha256Stream>>();
    this.#open.delete(hash);
    const out: string[] = [];
    for (let i = 0; i <= lastIndex; i++) {
      const h = chunks.get(i);
      if (h === undefined) throw new ChunkError(ERROR_CODES.INTERNAL, `no open hash for chunk ${i}`);
      out.push(h.update(i === lastIndex ? lastTail : tail).digest('hex'));
    }
    return out;
  }

  drop(hash: number): void {
    this.#open.delete(hash);
  }
}

/** Compression on the calling thread. */
export class InlineCompression implements ChunkCompression {
  readonly #compressor: ChunkCompressor;
  readonly #hashes = new Map<number, ReturnType<typeof sha256Stream>>();
  readonly #open = new OpenHashes();
  #nextHash = 0;

  constructor(level: number) {
    this.#compressor = new ChunkCompressor(level);
  }

  beginHash(prefix: Buffer): number {
    const id = this.#nextHash++;
    this.#hashes.set(id, sha256Stream().update(prefix));
    return id;
  }

  compress(json: Buffer, _transferable: boolean, range?: HashRange): Promise<CompressedChunk> {
    try {
      if (range !== undefined && range.end > range.at) {
        this.#hash(range.hash).update(json.subarray(range.at, range.end)).update(',');
      }
      const data = this.#compressor.compress(json);
      let checksum = '';
      if (range?.index === undefined) checksum = sha256Hex(json);
      else this.#open.keep(range.hash, range.index, json);
      return Promise.resolve({
        data,
        checksum,
        frameChecksum: sha256Hex(data),
        originalBytes: json.length,
      });
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
  }

  updateHash(hash: number, findings: Uint8Array): void {
    this.#hash(hash).update(findings).update(',');
  }

  endHash(hash: number, suffix?: Buffer): Promise<string> {
    try {
      const h = this.#hash(hash);
      if (suffix !== undefined) h.update(suffix);
      const hex = h.digest('hex');
      this.#hashes.delete(hash);
      return Promise.resolve(hex);
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
  }

  dropHash(hash: number): void {
    this.#hashes.delete(hash);
    this.#open.drop(hash);
  }

  finishChunks(hash: number, tail: Buffer, lastTail: Buffer, lastIndex: number): Promise<string[]> {
    try {
      return Promise.resolve(this.#open.finish(hash, tail, lastTail, lastIndex));
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
  }

  close(): Promise<void> {
    this.#hashes.clear();
    return Promise.resolve();
  }

  #hash(id: number): ReturnType<typeof sha256Stream> {
    const h = this.#hashes.get(id);
    if (h === undefined) throw new ChunkError(ERROR_CODES.INTERNAL, `no content hash ${id}`);
    return h;
  }
}

/**
 * The worker's program (CommonJS, evaluated): the same zstd parameters as `ChunkCompressor`, the same
 * checksums. It loads zstd-napi from the path the main thread resolved, so it works from sources, from
 * `dist/` (ESM or CJS) and whatever the process's working directory.
 */
const WORKER_SOURCE = `'use strict';
const { parentPort, workerData } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const binding = require(workerData.bindingPath);
// zstd-napi's binding with one reused output buffer: its Compressor allocates a fresh compressBound-sized
// buffer for every input over 128 KiB, garbage this thread would hold until its collector runs.
const cctx = new binding.CCtx();
cctx.setParameter(binding.CParameter.compressionLevel, workerData.level);
cctx.setParameter(binding.CParameter.contentSizeFlag, 1);
cctx.setParameter(binding.CParameter.checksumFlag, 1);
let out = Buffer.allocUnsafeSlow(0);
const compress = (src) => {
  const bound = binding.compressBound(src.length);
  if (out.length < bound) out = Buffer.allocUnsafeSlow(bound);
  return out.subarray(0, cctx.compress2(out, src));
};
const sha = (b) => createHash('sha256').update(b).digest('hex');
const hashes = new Map();
// Chunk hashes kept open until the report's tail is known: content hash id -> (index -> Hash).
const open = new Map();
let db;
const hashOf = (id) => {
  const h = hashes.get(id);
  if (h === undefined) throw new Error('no content hash ' + id);
  return h;
};
parentPort.on('message', (m) => {
  if (m.kind === 'begin') return void hashes.set(m.hash, createHash('sha256').update(m.prefix));
  if (m.kind === 'update') {
    const h = hashes.get(m.hash);
    return void (h && h.update(m.bytes).update(','));
  }
  if (m.kind === 'drop') {
    hashes.delete(m.hash);
    return void open.delete(m.hash);
  }
  try {
    if (m.kind === 'checkpoint') {
      // A connection of its own, in WAL mode already: a PASSIVE checkpoint never waits for (or blocks) the
      // owner's readers and writers, and its I/O (WAL pages copied into the file, fsync) stays off that thread.
      if (db === undefined || db.name !== m.path) {
        db?.close();
        db = new (require(workerData.sqlitePath))(m.path, { fileMustExist: true });
      }
      const [r] = db.pragma('wal_checkpoint(PASSIVE)');
      return void parentPort.postMessage({ id: m.id, ok: true, checkpoint: r });
    }
    if (m.kind === 'close-db') {
      db?.close();
      db = undefined;
      return void parentPort.postMessage({ id: m.id, ok: true });
    }
    if (m.kind === 'finish') {
      const chunks = open.get(m.hash) || new Map();
      open.delete(m.hash);
      const checksums = [];
      for (let i = 0; i <= m.lastIndex; i++) {
        const h = chunks.get(i);
        if (h === undefined) throw new Error('no open hash for chunk ' + i);
        checksums.push(h.update(i === m.lastIndex ? m.lastTail : m.tail).digest('hex'));
      }
      return void parentPort.postMessage({ id: m.id, ok: true, checksums });
    }
    if (m.kind === 'end') {
      const h = hashOf(m.hash);
      if (m.suffix !== undefined) h.update(m.suffix);
      const hex = h.digest('hex');
      hashes.delete(m.hash);
      return void parentPort.postMessage({ id: m.id, ok: true, hex });
    }
    const json = new Uint8Array(m.buffer, m.offset, m.length);
    if (m.hash !== undefined && m.end > m.at) hashOf(m.hash).update(json.subarray(m.at, m.end)).update(',');
    let checksum = '';
    if (m.index === undefined) checksum = sha(json);
    else {
      let chunks = open.get(m.hash);
      if (chunks === undefined) open.set(m.hash, (chunks = new Map()));
      chunks.set(m.index, createHash('sha256').update(json));
    }
    // A copy with its own memory, so it can be transferred back; the input's memory goes back too.
    const data = new Uint8Array(compress(json));
    const reply = { id: m.id, ok: true, data, checksum, frameChecksum: sha(data), originalBytes: json.length, input: m.buffer };
    parentPort.postMessage(reply, [data.buffer, m.buffer]);
  } catch (err) {
    parentPort.postMessage({ id: m.id, ok: false, message: err instanceof Error ? err.message : String(err) });
  }
});
`;

interface WorkerReply {
  id: number;
  ok: boolean;
  data?: Uint8Array;
  checksum?: string;
  frameChecksum?: string;
  originalBytes?: number;
  hex?: string;
  checksums?: string[];
  checkpoint?: { busy: number; log: number; checkpointed: number };
  input?: ArrayBuffer;
  message?: string;
}

interface Pending {
  resolve(r: WorkerReply): void;
  reject(e: unknown): void;
}

/** The worker died or could not start: the work it held is lost and must be redone on this thread. */
export class CompressionWorkerLost extends ChunkError {
  constructor(message: string) {
    super(ERROR_CODES.INTERNAL, message, { retryable: true });
  }
}

/**
 * Where a package's file is: as this module resolves `request`, else (an application bundle that keeps the
 * package external by absolute path) where the already loaded copy came from (`loaded` matches its path in
 * Node's module cache, which holds CommonJS modules also when imported from ESM). Undefined when neither.
 */
function locate(request: string, loaded: RegExp): string | undefined {
  try {
    return createRequire(import.meta.url).resolve(request);
  } catch {
    // Not resolvable from here, or no `import.meta.url` at all (a CommonJS bundle of ESM code). Any
    // require shares the one module cache.
    const cache = createRequire(join(process.cwd(), 'noop.js')).cache;
    return Object.keys(cache).find((p) => loaded.test(p));
  }
}

/** Absolute paths of the native packages the worker loads, or undefined (then no worker). */
function workerPaths(): { zstdPath: string; bindingPath: string; sqlitePath: string } | undefined {
  const zstdPath = locate('zstd-napi', /[\\/]zstd-napi[\\/]dist[\\/]index\.js$/);
  const sqlitePath = locate('better-sqlite3', /[\\/]better-sqlite3[\\/]lib[\\/]index\.js$/);
  if (zstdPath === undefined || sqlitePath === undefined) return undefined;
  return { zstdPath, bindingPath: join(dirname(dirname(zstdPath)), 'binding.js'), sqlitePath };
}

/**
 * Compression in one worker thread, so a report's chunks are compressed (and checksummed, and the
 * report's content hashed) while the calling thread serialises the next ones. Started on first use;
 * keeps the process alive only while it holds work; `close()` terminates it. `available()` is false
 * once no worker can run (zstd-napi or better-sqlite3 not locatable, or the worker died). It also runs the
 * store's WAL checkpoints after big submits (`checkpoint`), off the owner's thread.
 */
export class WorkerCompression implements ChunkCompression {
  readonly #level: number;
  readonly #logger: Logger;
  readonly #pool: BufferPool | undefined;
  readonly #pending = new Map<number, Pending>();
  #worker: Worker | undefined;
  #nextId = 0;
  #nextHash = 0;
  #broken: string | undefined;

  /** `pool` receives the memory of every chunk the worker is done with. */
  constructor(level: number, logger: Logger, pool?: BufferPool) {
    this.#level = level;
    this.#logger = logger;
    this.#pool = pool;
  }

  /** False once the worker failed (or could not be created): use `InlineCompression` instead. */
  available(): boolean {
    return this.#broken === undefined;
  }

  beginHash(prefix: Buffer): number {
    const hash = this.#nextHash++;
    this.#start()?.postMessage({ kind: 'begin', hash, prefix });
    return hash;
  }

  async compress(json: Buffer, transferable: boolean, range?: HashRange): Promise<CompressedChunk> {
    const hash =
      range === undefined ? {} : { hash: range.hash, at: range.at, end: range.end, index: range.index };
    return chunkOf(await this.#request({ kind: 'chunk', ...hash }, json, transferable));
  }

  updateHash(hash: number, findings: Uint8Array): void {
    // A copy of exactly these bytes (a view would send its whole underlying buffer).
    this.#start()?.postMessage({ kind: 'update', hash, bytes: new Uint8Array(findings) });
  }

  async endHash(hash: number, suffix?: Buffer): Promise<string> {
    const reply = await this.#request(
      suffix === undefined ? { kind: 'end', hash } : { kind: 'end', hash, suffix },
    );
    return reply.hex!;
  }

  dropHash(hash: number): void {
    this.#worker?.postMessage({ kind: 'drop', hash });
  }

  async finishChunks(hash: number, tail: Buffer, lastTail: Buffer, lastIndex: number): Promise<string[]> {
    const reply = await this.#request({ kind: 'finish', hash, tail, lastTail, lastIndex });
    return reply.checksums!;
  }

  /**
   * Runs a PASSIVE WAL checkpoint of the database at `path` on the worker thread (its own connection).
   * Resolves with SQLite's `{busy, log, checkpointed}` (frames); rejects when the worker cannot.
   */
  async checkpoint(path: string): Promise<{ busy: number; log: number; checkpointed: number }> {
    const reply = await this.#request({ kind: 'checkpoint', path });
    return reply.checkpoint!;
  }

  async close(): Promise<void> {
    const w = this.#worker;
    if (w !== undefined && this.#broken === undefined) {
      // Close the worker's connection before the owner's, so the owner's close is the last one (it
      // checkpoints and removes the WAL file).
      await this.#request({ kind: 'close-db' }).catch(() => undefined);
    }
    this.#worker = undefined;
    this.#broken ??= 'closed';
    if (w !== undefined) await w.terminate();
    this.#failAll('the compression worker was closed');
  }

  #request(message: Record<string, unknown>, bytes?: Buffer, transferable = false): Promise<WorkerReply> {
    const worker = this.#start();
    if (worker === undefined) {
      return Promise.reject(new CompressionWorkerLost(`no compression worker: ${this.#broken ?? 'unknown'}`));
    }
    const id = this.#nextId++;
    const promise = new Promise<WorkerReply>((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
    });
    if (this.#pending.size === 1) worker.ref(); // holds work: keep the process alive until it is done
    try {
      if (bytes === undefined) worker.postMessage({ ...message, id });
      else {
        // Move the memory when it is ours alone (never Buffer's shared pool); copy otherwise.
        const view = transferable ? bytes : new Uint8Array(bytes);
        const buffer = view.buffer as ArrayBuffer;
        worker.postMessage({ ...message, id, buffer, offset: view.byteOffset, length: view.byteLength }, [
          buffer,
        ]);
      }
    } catch (err) {
      this.#settle(id)?.reject(err);
    }
    return promise;
  }

  #start(): Worker | undefined {
    if (this.#broken !== undefined) return undefined;
    if (this.#worker !== undefined) return this.#worker;
    let paths: ReturnType<typeof workerPaths>;
    try {
      paths = workerPaths();
    } catch {
      paths = undefined;
    }
    if (paths === undefined) {
      this.#fail('zstd-napi or better-sqlite3 cannot be located from this module (bundled?)');
      return undefined;
    }
    let worker: Worker;
    try {
      // No execArgv: the program is plain JavaScript; loaders of the parent (tsx, …) would only slow it.
      worker = new Worker(WORKER_SOURCE, {
        eval: true,
        workerData: { ...paths, level: this.#level },
        execArgv: [],
        // Its JavaScript only moves buffers and hashes: a small heap is plenty.
        resourceLimits: { maxYoungGenerationSizeMb: 2, maxOldGenerationSizeMb: 32 },
      });
    } catch (err) {
      this.#fail(`cannot start a worker thread: ${(err as Error).message}`);
      return undefined;
    }
    worker.unref();
    worker.on('message', (m: WorkerReply) => {
      if (m.input !== undefined) this.#pool?.give(m.input);
      const p = this.#settle(m.id);
      if (p === undefined) return;
      if (m.ok) p.resolve(m);
      else
        p.reject(new ChunkError(ERROR_CODES.INTERNAL, `chunk compression failed: ${m.message ?? 'unknown'}`));
    });
    worker.on('error', (err) => this.#fail(`the compression worker failed: ${err.message}`));
    worker.on('exit', (code) => {
      if (this.#worker === worker) this.#fail(`the compression worker exited (code ${code})`);
    });
    this.#worker = worker;
    return worker;
  }

  #settle(id: number): Pending | undefined {
    const p = this.#pending.get(id);
    if (p === undefined) return undefined;
    this.#pending.delete(id);
    if (this.#pending.size === 0) this.#worker?.unref();
    return p;
  }

  #fail(reason: string): void {
    if (this.#broken === undefined) {
      this.#broken = reason;
      this.#logger.warn({ reason }, 'chunk compression moves to the main thread');
    }
    const w = this.#worker;
    this.#worker = undefined;
    if (w !== undefined) void w.terminate();
    this.#failAll(reason);
  }

  #failAll(reason: string): void {
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    for (const p of pending) p.reject(new CompressionWorkerLost(reason));
  }
}

function chunkOf(m: WorkerReply): CompressedChunk {
  const data = m.data!;
  return {
    data: Buffer.from(data.buffer, data.byteOffset, data.byteLength),
    checksum: m.checksum!,
    frameChecksum: m.frameChecksum!,
    originalBytes: m.originalBytes!,
  };
}
