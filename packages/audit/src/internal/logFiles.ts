import { createReadStream, createWriteStream, readdirSync, readSync } from 'node:fs';
import type { ReadStream } from 'node:fs';
import { open, readdir, readFile, rename, unlink } from 'node:fs/promises';
import { basename, dirname, extname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGunzip, createGzip, gunzipSync } from 'node:zlib';
import { parseFileStamp } from './timestamp';

/** Mode of every file the logger creates. */
export const FILE_MODE = 0o640;
/** Mode of a folder the logger creates. */
export const DIR_MODE = 0o750;

/** The active file of a log and the naming of its rotated files (`audit.log` → `audit.<stamp>.log[.gz]`). */
export interface LogFamily {
  dir: string;
  active: string;
  stem: string;
  ext: string;
}

/** A rotated file of a family. */
export interface RotatedFile {
  name: string;
  path: string;
  stamp: string;
  stampMs: number;
  gzip: boolean;
}

/** The family of `file`. */
export function logFamily(file: string): LogFamily {
  const name = basename(file);
  const ext = extname(name);
  return { dir: dirname(file), active: file, stem: ext ? name.slice(0, -ext.length) : name, ext };
}

/** Path of the rotated file with `stamp`. */
export function rotatedPath(family: LogFamily, stamp: string): string {
  return join(family.dir, `${family.stem}.${stamp}${family.ext}`);
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Matches exactly this family's rotated names, nothing else in the folder. */
function rotatedPattern(family: LogFamily): RegExp {
  return new RegExp(`^${escapeRegExp(family.stem)}\\.(\\d{8}T\\d{9}Z)${escapeRegExp(family.ext)}(\\.gz)?$`);
}

/** The family's rotated files among `names`, oldest first (a stamp present plain and gzipped is listed once, plain). */
function matchRotated(family: LogFamily, names: readonly string[]): RotatedFile[] {
  const pattern = rotatedPattern(family);
  const byStamp = new Map<string, RotatedFile>();
  for (const name of names) {
    const m = pattern.exec(name);
    if (!m) continue;
    const stamp = m[1]!;
    const stampMs = parseFileStamp(stamp);
    if (stampMs === undefined) continue;
    const gzip = m[2] !== undefined;
    const existing = byStamp.get(stamp);
    if (existing && !existing.gzip) continue;
    byStamp.set(stamp, { name, path: join(family.dir, name), stamp, stampMs, gzip });
  }
  return [...byStamp.values()].sort((a, b) => (a.stamp < b.stamp ? -1 : a.stamp > b.stamp ? 1 : 0));
}

/** Rotated files of the family, oldest first (plain and compressed; a stamp present as both is listed once, plain). */
export async function listRotated(family: LogFamily): Promise<RotatedFile[]> {
  try {
    return matchRotated(family, await readdir(family.dir));
  } catch {
    return [];
  }
}

/** `listRotated`, synchronously (at open). */
export function listRotatedSync(family: LogFamily): RotatedFile[] {
  try {
    return matchRotated(family, readdirSync(family.dir));
  } catch {
    return [];
  }
}

/** Leftover `*.gz.tmp` files of this family (an interrupted compression). */
export async function listCompressionLeftovers(family: LogFamily): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(family.dir);
  } catch {
    return [];
  }
  const pattern = new RegExp(
    `^${escapeRegExp(family.stem)}\\.\\d{8}T\\d{9}Z${escapeRegExp(family.ext)}\\.gz\\.tmp$`,
  );
  return names.filter((n) => pattern.test(n)).map((n) => join(family.dir, n));
}

/** Reads a log file's whole text (gunzipping `.gz`). */
export async function readLogText(path: string): Promise<string> {
  const data = await readFile(path);
  return (path.endsWith('.gz') ? gunzipSync(data) : data).toString('utf8');
}

/** The last complete line (without newline) of a log file, or `undefined` when it has none (gzip streamed). */
export async function readLastLine(path: string): Promise<string | undefined> {
  if (path.endsWith('.gz')) {
    let tail = '';
    let last: string | undefined;
    const gunzip = createReadStream(path).pipe(createGunzip());
    for await (const chunk of gunzip as AsyncIterable<Buffer>) {
      tail += chunk.toString('latin1');
      const end = tail.lastIndexOf('\n');
      if (end < 0) continue;
      const start = tail.lastIndexOf('\n', end - 1) + 1;
      last = tail.slice(start, end);
      tail = tail.slice(end + 1);
    }
    return last === undefined ? undefined : Buffer.from(last, 'latin1').toString('utf8');
  }
  const fh = await open(path, 'r');
  try {
    const { size } = await fh.stat();
    return await lastLineOf(fh, size);
  } finally {
    await fh.close();
  }
}

interface ReadableHandle {
  read(buffer: Buffer, offset: number, length: number, position: number): Promise<{ bytesRead: number }>;
}

/** Position just after the last `\n` before `size` (0 when there is none), reading backwards in blocks. */
export async function endOfLastCompleteLine(fh: ReadableHandle, size: number): Promise<number> {
  const block = Buffer.allocUnsafe(64 * 1024);
  let pos = size;
  while (pos > 0) {
    const start = Math.max(0, pos - block.length);
    const { bytesRead } = await fh.read(block, 0, pos - start, start);
    const i = block.subarray(0, bytesRead).lastIndexOf(10);
    if (i >= 0) return start + i + 1;
    pos = start;
  }
  return 0;
}

/** The last complete line of the first `size` bytes of an open file. */
export async function lastLineOf(fh: ReadableHandle, size: number): Promise<string | undefined> {
  const end = await endOfLastCompleteLine(fh, size);
  if (end === 0) return undefined;
  const start = await endOfLastCompleteLine(fh, end - 1);
  const buf = Buffer.allocUnsafe(end - 1 - start);
  await fh.read(buf, 0, buf.length, start);
  return buf.toString('utf8');
}

/** `endOfLastCompleteLine` on a file descriptor, synchronously. */
export function endOfLastCompleteLineSync(fd: number, size: number): number {
  const block = Buffer.allocUnsafe(64 * 1024);
  let pos = size;
  while (pos > 0) {
    const start = Math.max(0, pos - block.length);
    const bytesRead = readSync(fd, block, 0, pos - start, start);
    const i = block.subarray(0, bytesRead).lastIndexOf(10);
    if (i >= 0) return start + i + 1;
    pos = start;
  }
  return 0;
}

/** `lastLineOf` on a file descriptor, synchronously. */
export function lastLineOfSync(fd: number, size: number): string | undefined {
  const end = endOfLastCompleteLineSync(fd, size);
  if (end === 0) return undefined;
  const start = endOfLastCompleteLineSync(fd, end - 1);
  const buf = Buffer.allocUnsafe(end - 1 - start);
  readSync(fd, buf, 0, buf.length, start);
  return buf.toString('utf8');
}

function opened(stream: ReadStream): Promise<void> {
  return new Promise((resolve, reject) => {
    stream.once('open', () => resolve());
    stream.once('error', reject);
  });
}

/**
 * Gzips `path` to `path.gz` (through `.gz.tmp`, renamed when complete), then removes `path`. Resolves `undefined`
 * when `path` is gone (compressed or deleted meanwhile): the temp file is only created once the source is open,
 * and removed on any failure, so no empty `.gz.tmp` is ever left behind.
 */
export async function compressFile(path: string): Promise<string | undefined> {
  const tmp = `${path}.gz.tmp`;
  const target = `${path}.gz`;
  const source = createReadStream(path);
  try {
    await opened(source);
  } catch (err) {
    source.destroy();
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  try {
    await pipeline(source, createGzip(), createWriteStream(tmp, { mode: FILE_MODE }));
    const fh = await open(tmp, 'r+');
    try {
      await fh.chmod(FILE_MODE);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, target);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
  await unlink(path);
  return target;
}

/** A rotated file chosen for deletion, and why. */
export interface RetentionVictim {
  file: RotatedFile;
  reason: 'age' | 'count';
}

/** Rotated files older than `maxAgeMs` or beyond the newest `maxFiles`. */
export function retentionVictims(
  files: readonly RotatedFile[],
  nowMs: number,
  maxAgeMs: number,
  maxFiles: number,
): RetentionVictim[] {
  const victims: RetentionVictim[] = [];
  const keepFrom = Math.max(0, files.length - maxFiles);
  files.forEach((file, i) => {
    if (nowMs - file.stampMs > maxAgeMs) victims.push({ file, reason: 'age' });
    else if (i < keepFrom) victims.push({ file, reason: 'count' });
  });
  return victims;
}
