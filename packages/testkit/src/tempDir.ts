// Throw-away folders for tests: one shape everywhere (`path`, async `cleanup`, `await using`).
import { mkdtempSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A temporary folder, removed with everything in it by `cleanup()` (idempotent) or `await using`. */
export interface TempDir {
  readonly path: string;
  cleanup(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** Creates a folder under the OS temp dir, named `<prefix><random>`. */
export function tempDir(prefix = 'rediver-test-'): TempDir {
  const path = mkdtempSync(join(tmpdir(), prefix));
  const cleanup = (): Promise<void> => rm(path, { recursive: true, force: true });
  return { path, cleanup, [Symbol.asyncDispose]: cleanup };
}
