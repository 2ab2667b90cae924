/**
 * Line-content identities that survive line moves, modelled on GitHub code scanning's `primaryLocationLineHash`
 * (github/codeql-action, `src/fingerprints.ts`): the content of a location's line(s), whitespace removed, hashed,
 * written `hash:N` where N counts the places in the file where the same content starts, up to this one. Inserting
 * or moving code elsewhere keeps a finding's value; editing its line(s) changes it.
 *
 * Differences from the original, on purpose:
 * - only the location's own lines are hashed, not the next 100 characters after the line's start: a change in a
 *   neighbouring line (a line moved next to it, an edit just below) does not change the identity;
 * - every line is masked (`SecretMasker`) before it is hashed, so that no secret is ever part of what is hashed;
 * - files are read with bounded reads; per-file results (12 bytes per line) live in a bounded cache.
 */
import { closeSync, readSync } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
import type { SecretMasker } from './masking';
import { openScannedFile } from './region';

/** Longest region whose lines are hashed; longer ones use their first lines. */
const MAX_SPAN = 200;

/** Per-line content hashes of one file. */
interface FileHashes {
  hi: Uint32Array;
  lo: Uint32Array;
  /** Occurrence of the line's content among the lines up to it (1-based). */
  occ: Uint32Array;
  lines: number;
  /** Line numbers by content hash (built on demand, for multi-line regions). */
  starts?: Map<string, number[]>;
}

/** Options of `LineHashes`. */
export interface LineHashOptions {
  /** Files larger than this are not hashed (their findings fall back to snippet or position). Default 64 MiB. */
  maxFileBytes?: number;
  /** Most bytes of per-line hashes kept across files (least recently used evicted). Default 32 MiB. */
  maxCacheBytes?: number;
  /** Read size, bytes. Default 1 MiB. */
  readBytes?: number;
}

/** Two FNV-1a hashes (different offsets) of a string's UTF-16 code units, skipping whitespace. */
function lineHash(text: string): [number, number] {
  let a = 0x811c9dc5;
  let b = 0x01000193 ^ 0x5bd1e995;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    // Whitespace (space, tab, CR, LF, VT, FF, NBSP, BOM) does not count.
    if (c === 32 || (c >= 9 && c <= 13) || c === 160 || c === 0xfeff) continue;
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x01000193) ^ (b >>> 15);
  }
  return [a >>> 0, b >>> 0];
}

function hex64(hi: number, lo: number): string {
  return hi.toString(16).padStart(8, '0') + lo.toString(16).padStart(8, '0');
}

/** Builds the per-line hashes of a file from its lines, in order. */
class FileHasher {
  #hi = new Uint32Array(1024);
  #lo = new Uint32Array(1024);
  #lines = 0;

  line(text: string): void {
    if (this.#lines === this.#hi.length) {
      const hi = new Uint32Array(this.#hi.length * 2);
      const lo = new Uint32Array(this.#lo.length * 2);
      hi.set(this.#hi);
      lo.set(this.#lo);
      this.#hi = hi;
      this.#lo = lo;
    }
    const [h, l] = lineHash(text);
    this.#hi[this.#lines] = h;
    this.#lo[this.#lines] = l;
    this.#lines++;
  }

  finish(): FileHashes {
    const lines = this.#lines;
    const hi = this.#hi.slice(0, lines);
    const lo = this.#lo.slice(0, lines);
    const occ = new Uint32Array(lines);
    const counts = new Map<string, number>();
    for (let i = 0; i < lines; i++) {
      const key = `${hi[i]!}:${lo[i]!}`;
      const n = (counts.get(key) ?? 0) + 1;
      counts.set(key, n);
      occ[i] = n;
    }
    return { hi, lo, occ, lines };
  }
}

/** The `hash:N` of lines `start..end` (1-based, inclusive) of a hashed file. */
function spanValue(f: FileHashes, start: number, end: number): string | undefined {
  if (!Number.isInteger(start) || start < 1 || start > f.lines) return undefined;
  const last = Math.min(f.lines, Math.max(start, Number.isInteger(end) ? end : start), start + MAX_SPAN - 1);
  const s = start - 1;
  if (last === start) return `${hex64(f.hi[s]!, f.lo[s]!)}:${f.occ[s]!}`;
  // A span: the hashes of its lines, mixed; N counts earlier places where the same lines start.
  const len = last - start + 1;
  let a = 0x811c9dc5;
  let b = 0x9e3779b9;
  for (let i = s; i < s + len; i++) {
    a = Math.imul(a ^ f.hi[i]!, 0x01000193);
    b = Math.imul(b ^ f.lo[i]!, 0x85ebca6b) ^ (b >>> 13);
  }
  if (f.starts === undefined) {
    f.starts = new Map();
    for (let i = 0; i < f.lines; i++) {
      const key = `${f.hi[i]!}:${f.lo[i]!}`;
      const list = f.starts.get(key);
      if (list === undefined) f.starts.set(key, [i]);
      else list.push(i);
    }
  }
  let n = 0;
  for (const i of f.starts.get(`${f.hi[s]!}:${f.lo[s]!}`) ?? []) {
    if (i > s) break;
    if (i + len > f.lines) continue;
    let same = true;
    for (let k = 1; k < len && same; k++) same = f.hi[i + k] === f.hi[s + k] && f.lo[i + k] === f.lo[s + k];
    if (same) n++;
  }
  return `${hex64(a >>> 0, b >>> 0)}x${len}:${n}`;
}

/** Computes and caches the line hashes of scanned files. */
export class LineHashes {
  readonly #masker: SecretMasker;
  readonly #maxFile: number;
  readonly #maxCache: number;
  readonly #readBytes: number;
  readonly #cache = new Map<string, FileHashes | null>();
  #cacheBytes = 0;
  /** Files hashed (a file evicted and hashed again counts twice). */
  filesHashed = 0;
  /** Files that could not be hashed (unreadable, not a file, too large). */
  filesSkipped = 0;
  /** Cache evictions. */
  evictions = 0;

  constructor(masker: SecretMasker, options: LineHashOptions = {}) {
    this.#masker = masker;
    this.#maxFile = options.maxFileBytes ?? 64 * 1024 * 1024;
    this.#maxCache = options.maxCacheBytes ?? 32 * 1024 * 1024;
    this.#readBytes = options.readBytes ?? 1024 * 1024;
  }

  /**
   * The `hash:N` of lines `start..end` of the file at `abs` (whose repository-relative path is `path`), or
   * undefined when the file cannot be hashed or has no such line.
   */
  get(abs: string, path: string, start: number, end: number = start): string | undefined {
    let entry = this.#cache.get(abs);
    if (entry === undefined) {
      entry = this.#hashFile(abs, path);
      this.#remember(abs, entry);
    } else {
      // Refresh its place in the LRU order.
      this.#cache.delete(abs);
      this.#cache.set(abs, entry);
    }
    return entry === null ? undefined : spanValue(entry, start, end);
  }

  /** Forgets the hashes of a file (after a secret in it became known). */
  invalidate(abs: string): void {
    const e = this.#cache.get(abs);
    if (e === undefined) return;
    this.#cache.delete(abs);
    this.#cacheBytes -= bytesOf(e);
  }

  #remember(abs: string, entry: FileHashes | null): void {
    this.#cache.set(abs, entry);
    this.#cacheBytes += bytesOf(entry);
    while (this.#cacheBytes > this.#maxCache && this.#cache.size > 1) {
      const [oldest, e] = this.#cache.entries().next().value as [string, FileHashes | null];
      this.#cache.delete(oldest);
      this.#cacheBytes -= bytesOf(e);
      this.evictions++;
    }
  }

  #hashFile(abs: string, path: string): FileHashes | null {
    const file = openScannedFile(abs, this.#maxFile);
    if (file === undefined) {
      this.filesSkipped++;
      return null;
    }
    const { fd, size } = file;
    try {
      const hasher = new FileHasher();
      const mask = this.#masker.lineMasker(path);
      const decoder = new StringDecoder('utf8');
      const buf = Buffer.allocUnsafe(Math.min(this.#readBytes, Math.max(1, size)));
      let pending = '';
      let lineNo = 1;
      let total = 0;
      for (;;) {
        const n = readSync(fd, buf, 0, buf.length, null);
        if (n === 0) break;
        total += n;
        if (total > this.#maxFile) {
          // Grew while being read.
          this.filesSkipped++;
          return null;
        }
        pending += decoder.write(buf.subarray(0, n));
        let start = 0;
        for (let i = 0; i < pending.length; i++) {
          const c = pending.charCodeAt(i);
          if (c !== 10 && c !== 13) continue;
          // A CR at the end of what was read may be the first half of CRLF: wait for the next read.
          if (c === 13 && i + 1 === pending.length) break;
          hasher.line(mask(pending.slice(start, i), lineNo++));
          if (c === 13 && pending.charCodeAt(i + 1) === 10) i++;
          start = i + 1;
        }
        pending = pending.slice(start);
      }
      pending += decoder.end();
      if (pending.endsWith('\r')) pending = pending.slice(0, -1);
      hasher.line(mask(pending, lineNo));
      this.filesHashed++;
      return hasher.finish();
    } catch {
      this.filesSkipped++;
      return null;
    } finally {
      closeSync(fd);
    }
  }
}

function bytesOf(e: FileHashes | null): number {
  return e === null ? 64 : e.lines * 12 + 64;
}

/** Line values (`hash:N`) of a text, one per 1-based line (for tests and small inputs). */
export function lineHashesOfText(text: string, masker: SecretMasker, path = ''): string[] {
  const hasher = new FileHasher();
  const mask = masker.lineMasker(path);
  text.split(/\r\n|\r|\n/).forEach((l, i) => hasher.line(mask(l, i + 1)));
  const f = hasher.finish();
  return Array.from({ length: f.lines }, (_, i) => spanValue(f, i + 1, i + 1)!);
}
