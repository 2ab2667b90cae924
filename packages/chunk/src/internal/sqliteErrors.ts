import { ERROR_CODES, isRediverError } from '@rediver/core';
import { ChunkError } from '../errors';

/** SQLite's (and the OS's) way of saying the disk is full. */
const DISK_FULL_CODES = new Set(['SQLITE_FULL', 'ENOSPC', 'SQLITE_IOERR_WRITE', 'SQLITE_IOERR_FSYNC']);

function codeOf(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : '';
}

/** True when `err` says the disk (or the file system holding the store) is full. */
export function isDiskFull(err: unknown): boolean {
  if (isRediverError(err, 'DISK_FULL')) return true;
  const code = codeOf(err);
  if (DISK_FULL_CODES.has(code)) {
    // An I/O error on write is a full disk only when the OS said so (SQLite keeps errno out of its code).
    return code === 'SQLITE_FULL' || code === 'ENOSPC' || /ENOSPC|no space|disk is full/i.test(String(err));
  }
  return /database or disk is full/i.test(String((err as Error | null)?.message ?? ''));
}

/** True when `err` says the database file is damaged (or not a database at all). */
export function isCorrupt(err: unknown): boolean {
  const code = codeOf(err);
  return code.startsWith('SQLITE_CORRUPT') || code === 'SQLITE_NOTADB';
}

/**
 * The error a caller sees for a failed write: `DISK_FULL` (its own code, never `STORAGE_QUOTA`: the quota is
 * ours, a full disk is the host's) with SQLite's error as `cause`; anything else as it came.
 */
export function storageError(err: unknown, what: string): unknown {
  if (isRediverError(err)) return err;
  if (isDiskFull(err)) {
    return new ChunkError(
      ERROR_CODES.DISK_FULL,
      `${what}: the disk holding the chunk store is full (${(err as Error).message}); nothing was written, ` +
        'what was stored before is intact — free disk space, then retry',
      { cause: err },
    );
  }
  return err;
}
