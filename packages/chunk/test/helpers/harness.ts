// Opens managers on throw-away database files with test-friendly defaults (temp dirs: @rediver/testkit).
import { join } from 'node:path';
import { ChunkManager } from '../../src/chunkManager';
import type { ChunkManagerOptions } from '../../src/chunkManager';

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
