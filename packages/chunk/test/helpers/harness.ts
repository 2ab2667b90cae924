// Opens managers on throw-away database files with test-friendly defaults.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ChunkManager } from '../../src/chunkManager';
import type { ChunkManagerOptions } from '../../src/chunkManager';

/** A temporary folder removed by `cleanup()`. */
export interface TempDir {
  readonly path: string;
  cleanup(): void;
}

/** Creates a temporary folder. */
export function tempDir(prefix = 'rediver-chunk-upload-'): TempDir {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, cleanup: () => rmSync(path, { recursive: true, force: true }) };
}

/** Test defaults: no pacing, fast retries, small chunks, no cleanup timer. */
export const TEST_OPTIONS = Object.freeze({
  uploadDelayMs: 0,
  retryBaseDelayMs: 2,
  retryMaxDelayMs: 20,
  maxFindingsPerChunk: 10,
  cleanupIntervalMinutes: 0,
  closeTimeoutMs: 2000,
  uploadTimeoutMs: 10_000,
}) satisfies Partial<ChunkManagerOptions>;

/** Opens a manager on `dir/chunks.db` with the test defaults under `options`. */
export function openManager(
  dir: string,
  options: Omit<ChunkManagerOptions, 'databasePath'> & { databasePath?: string },
): ChunkManager {
  return new ChunkManager({ ...TEST_OPTIONS, databasePath: join(dir, 'chunks.db'), ...options });
}

/** Rejects after `ms` with `what` (bounds every wait in the tests). */
export function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
