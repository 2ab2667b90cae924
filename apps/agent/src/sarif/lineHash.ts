/**
 * Line hashes that survive line moves, modelled on GitHub code scanning's `primaryLocationLineHash`
 * (github/codeql-action, `src/fingerprints.ts`): for every line, a rolling hash (base 37, modulo 2^64) of the next
 * 100 non-whitespace characters from the line's start (line ends normalised to `\n`), written `hash:N` where N
 * counts the lines of the file with the same hash up to this one. Inserting or moving code elsewhere keeps a line's
 * value; editing the line changes it.
 *
 * Differences from the original, on purpose: every line is masked (`SecretMasker`) before it is hashed, so that no
 * secret is ever part of what is hashed; files are read with bounded reads, and the per-file results live in a
 * bounded cache (12 bytes per line).
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
import type { SecretMasker } from './masking';

const BLOCK = 100;
const TAB = 9;
const LF = 10;
const SPACE = 32;
const EOF = 65535;
const TWO32 = 4294967296;

// 37^100 mod 2^64, as two 32-bit halves.
const FIRST_MOD = (() => {
  let m = 1n;
  for (let i = 0; i < BLOCK; i++) m = (m * 37n) % (1n << 64n);
  return { hi: Number(m >> 32n), lo: Number(m & 0xffffffffn) };
})();

/** Per-line hashes of one file. */
interface FileHashes {
  hi: Uint32Array;
  lo: Uint32Array;
  occ: Uint32Array;
  lines: number;
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

/** Computes and caches line hashes of scanned files. */
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
   * The `hash:N` of 1-based `line` of the file at `abs` (whose repository-relative path is `path`), or undefined
   * when the file cannot be hashed or has no such line.
   */
  get(abs: string, path: string, line: number): string | undefined {
    let entry = this.#cache.get(abs);
    if (entry === undefined) {
      entry = this.#hashFile(abs, path);
      this.#remember(abs, entry);
    } else {
      // Refresh its place in the LRU order.
      this.#cache.delete(abs);
      this.#cache.set(abs, entry);
    }
    if (entry === null || !Number.isInteger(line) || line < 1 || line > entry.lines) return undefined;
    const i = line - 1;
    const hi = entry.hi[i]!;
    const lo = entry.lo[i]!;
    return `${hex64(hi, lo)}:${entry.occ[i]!}`;
  }

  /** Forgets the hashes of a file (after a secret in it became known). */
  invalidate(abs: string): void {
    const e = this.#cache.get(abs);
    if (e === undefined) return;
    this.#cache.delete(abs);
    this.#cacheBytes -= e === null ? 64 : e.lines * 12 + 64;
  }

  #remember(abs: string, entry: FileHashes | null): void {
    const bytes = entry === null ? 64 : entry.lines * 12 + 64;
    this.#cache.set(abs, entry);
    this.#cacheBytes += bytes;
    while (this.#cacheBytes > this.#maxCache && this.#cache.size > 1) {
      const [oldest, e] = this.#cache.entries().next().value as [string, FileHashes | null];
      this.#cache.delete(oldest);
      this.#cacheBytes -= e === null ? 64 : e.lines * 12 + 64;
      this.evictions++;
    }
  }

  #hashFile(abs: string, path: string): FileHashes | null {
    let fd: number;
    try {
      fd = openSync(abs, 'r');
    } catch {
      this.filesSkipped++;
      return null;
    }
    try {
      const st = fstatSync(fd);
      if (!st.isFile() || st.size > this.#maxFile) {
        this.filesSkipped++;
        return null;
      }
      const hasher = new RollingLineHasher();
      const mask = this.#masker.lineMasker(path);
      const decoder = new StringDecoder('utf8');
      const buf = Buffer.allocUnsafe(Math.min(this.#readBytes, Math.max(1, st.size)));
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
          if (c !== LF && c !== 13) continue;
          if (c === 13) {
            // A CR at the end of what was read may be the first half of CRLF: wait for the next read.
            if (i + 1 === pending.length) break;
            if (pending.charCodeAt(i + 1) === LF) {
              hasher.line(mask(pending.slice(start, i), lineNo++));
              i++;
              start = i + 1;
              continue;
            }
          }
          hasher.line(mask(pending.slice(start, i), lineNo++));
          start = i + 1;
        }
        pending = pending.slice(start);
      }
      pending += decoder.end();
      if (pending.endsWith('\r')) {
        hasher.line(mask(pending.slice(0, -1), lineNo++));
        pending = '';
      }
      if (pending !== '') hasher.lastLine(mask(pending, lineNo));
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

function hex64(hi: number, lo: number): string {
  return hi === 0 ? lo.toString(16) : hi.toString(16) + lo.toString(16).padStart(8, '0');
}

/** The rolling hash of codeql-action's `hash()`, fed line by line, in 64-bit arithmetic on two 32-bit halves. */
class RollingLineHasher {
  readonly #window = new Int32Array(BLOCK);
  readonly #lineAt = new Int32Array(BLOCK).fill(-1);
  #hi = 0;
  #lo = 0;
  #index = 0;
  #lineNumber = 0;
  #lineStart = true;
  #outHi = new Uint32Array(1024);
  #outLo = new Uint32Array(1024);
  #lines = 0;

  /** Feeds one line without its terminator; a `\n` follows it. */
  line(text: string): void {
    for (let i = 0; i < text.length; i++) this.#char(text.charCodeAt(i));
    this.#char(LF);
  }

  /** Feeds the file's last line (no terminator after it). */
  lastLine(text: string): void {
    for (let i = 0; i < text.length; i++) this.#char(text.charCodeAt(i));
  }

  finish(): FileHashes {
    this.#char(EOF);
    for (let i = 0; i < BLOCK; i++) {
      if (this.#lineAt[this.#index] !== -1) this.#output();
      this.#update(0);
    }
    const lines = this.#lines;
    const occ = new Uint32Array(lines);
    const counts = new Map<string, number>();
    for (let i = 0; i < lines; i++) {
      const key = `${this.#outHi[i]!}:${this.#outLo[i]!}`;
      const n = (counts.get(key) ?? 0) + 1;
      counts.set(key, n);
      occ[i] = n;
    }
    return { hi: this.#outHi.slice(0, lines), lo: this.#outLo.slice(0, lines), occ, lines };
  }

  #char(current: number): void {
    // Whitespace is skipped; line ends arrive here as LF only.
    if (current === SPACE || current === TAB) return;
    if (this.#lineAt[this.#index] !== -1) this.#output();
    if (this.#lineStart) {
      this.#lineStart = false;
      this.#lineNumber++;
      this.#lineAt[this.#index] = this.#lineNumber;
    }
    if (current === LF) this.#lineStart = true;
    this.#update(current);
  }

  #output(): void {
    const line = this.#lineAt[this.#index]!;
    this.#lineAt[this.#index] = -1;
    // Lines are output in order, once each.
    if (line - 1 >= this.#outHi.length) {
      const hi = new Uint32Array(this.#outHi.length * 2);
      const lo = new Uint32Array(this.#outLo.length * 2);
      hi.set(this.#outHi);
      lo.set(this.#outLo);
      this.#outHi = hi;
      this.#outLo = lo;
    }
    this.#outHi[line - 1] = this.#hi;
    this.#outLo[line - 1] = this.#lo;
    if (line > this.#lines) this.#lines = line;
  }

  #update(current: number): void {
    const begin = this.#window[this.#index]!;
    this.#window[this.#index] = current;
    // h = 37 * h + current - FIRST_MOD * begin  (mod 2^64)
    const lo37 = this.#lo * 37;
    let lo = lo37 % TWO32;
    let hi = (this.#hi * 37 + Math.floor(lo37 / TWO32)) % TWO32;
    lo += current;
    if (lo >= TWO32) {
      lo -= TWO32;
      hi = (hi + 1) % TWO32;
    }
    if (begin !== 0) {
      const pLoFull = FIRST_MOD.lo * begin;
      const pLo = pLoFull % TWO32;
      const pHi = (FIRST_MOD.hi * begin + Math.floor(pLoFull / TWO32)) % TWO32;
      lo -= pLo;
      let borrow = 0;
      if (lo < 0) {
        lo += TWO32;
        borrow = 1;
      }
      hi -= pHi + borrow;
      if (hi < 0) hi += TWO32;
    }
    this.#hi = hi;
    this.#lo = lo;
    this.#index = (this.#index + 1) % BLOCK;
  }
}

/** Line hashes of a text (for tests and small inputs): `hash:N` per 1-based line. */
export function lineHashesOfText(text: string, masker: SecretMasker, path = ''): string[] {
  const hasher = new RollingLineHasher();
  const mask = masker.lineMasker(path);
  const parts = text.split(/\r\n|\r|\n/);
  const last = parts.pop()!;
  parts.forEach((l, i) => hasher.line(mask(l, i + 1)));
  if (last !== '') hasher.lastLine(mask(last, parts.length + 1));
  const h = hasher.finish();
  return Array.from({ length: h.lines }, (_, i) => `${hex64(h.hi[i]!, h.lo[i]!)}:${h.occ[i]!}`);
}
