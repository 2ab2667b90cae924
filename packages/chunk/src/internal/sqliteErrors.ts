import { ERROR_CODES, isRediverError, systemErrorCode } from '@rediver/core';
import { ChunkError } from '../errors';

function codeOf(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : '';
}

/**
 * True when `err` says the disk (or the file system holding the store, or the user's disk quota) is full:
 * core's one mapping of ENOSPC, EDQUOT, SQLITE_FULL and SQLite's write/fsync I/O errors that say so.
 */
export function isDiskFull(err: unknown): boolean {
  return isRediverError(err, 'DISK_FULL') || systemErrorCode(err) === 'DISK_FULL';
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
