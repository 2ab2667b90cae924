import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import type { SarifRegion } from './types';

// A FIFO planted in a scanned repository must not block the agent: open without waiting, then check it is a file.
const READ_NONBLOCK = constants.O_RDONLY | constants.O_NONBLOCK;

/**
 * Opens a scanned file for reading if it is a regular file of at most `maxBytes` (never blocks on a FIFO or a
 * device); the caller closes `fd`. Undefined when it cannot be read.
 */
export function openScannedFile(abs: string, maxBytes: number): { fd: number; size: number } | undefined {
  let fd: number;
  try {
    fd = openSync(abs, READ_NONBLOCK);
  } catch {
    return undefined;
  }
  try {
    const st = fstatSync(fd);
    if (st.isFile() && st.size <= maxBytes) return { fd, size: st.size };
  } catch {
    // unreadable: closed below
  }
  closeSync(fd);
  return undefined;
}

/** Options of `RegionReader`. */
export interface RegionReaderOptions {
  /** Files larger than this are not read. Default 8 MiB. */
  maxFileBytes?: number;
  /** Most bytes of file text kept across files (least recently used evicted). Default 32 MiB. */
  maxCacheBytes?: number;
  /** Longest text returned for one region, characters. Default 4096. */
  maxRegionChars?: number;
}

/**
 * Reads the text of regions of scanned files (a secret's value, to mask it and to know it), with bounded reads and
 * a bounded cache of whole small files split into lines. Columns are 1-based UTF-16 code units (as JavaScript tools
 * write them); the end column is exclusive.
 */
export class RegionReader {
  readonly #maxFile: number;
  readonly #maxCache: number;
  readonly #maxChars: number;
  readonly #cache = new Map<string, { lines: string[] | null; bytes: number }>();
  #bytes = 0;

  constructor(options: RegionReaderOptions = {}) {
    this.#maxFile = options.maxFileBytes ?? 8 * 1024 * 1024;
    this.#maxCache = options.maxCacheBytes ?? 32 * 1024 * 1024;
    this.#maxChars = options.maxRegionChars ?? 4096;
  }

  #lines(abs: string): string[] | null {
    const hit = this.#cache.get(abs);
    if (hit !== undefined) {
      this.#cache.delete(abs);
      this.#cache.set(abs, hit);
      return hit.lines;
    }
    let lines: string[] | null = null;
    let size = 0;
    const file = openScannedFile(abs, this.#maxFile);
    if (file !== undefined) {
      try {
        const buf = Buffer.allocUnsafe(file.size);
        let off = 0;
        while (off < buf.length) {
          const n = readSync(file.fd, buf, off, buf.length - off, off);
          if (n === 0) break;
          off += n;
        }
        size = off;
        lines = buf
          .subarray(0, off)
          .toString('utf8')
          .split(/\r\n|\r|\n/);
      } catch {
        lines = null;
      } finally {
        closeSync(file.fd);
      }
    }
    const bytes = size * 2 + 64;
    this.#cache.set(abs, { lines, bytes });
    this.#bytes += bytes;
    while (this.#bytes > this.#maxCache && this.#cache.size > 1) {
      const [oldest, v] = this.#cache.entries().next().value as [string, { bytes: number }];
      this.#cache.delete(oldest);
      this.#bytes -= v.bytes;
    }
    return lines;
  }

  /** The text of `region` in the file at `abs`, or undefined when it cannot be read. */
  read(abs: string, region: SarifRegion | undefined): string | undefined {
    if (region?.startLine === undefined || !Number.isInteger(region.startLine) || region.startLine < 1)
      return undefined;
    const lines = this.#lines(abs);
    if (lines === null) return undefined;
    const first = region.startLine - 1;
    const endLine =
      region.endLine !== undefined && Number.isInteger(region.endLine) && region.endLine >= region.startLine
        ? Math.min(region.endLine, region.startLine + 200)
        : region.startLine;
    const picked = lines.slice(first, endLine);
    if (picked.length === 0) return undefined;
    const startCol = Math.max(1, region.startColumn ?? 1) - 1;
    const last = picked.length - 1;
    if (region.endColumn !== undefined && region.endColumn >= 1) {
      picked[last] = picked[last]!.slice(0, region.endColumn - 1);
    }
    picked[0] = picked[0]!.slice(startCol);
    const text = picked.join('\n');
    return text.length > this.#maxChars ? text.slice(0, this.#maxChars) : text;
  }
}
