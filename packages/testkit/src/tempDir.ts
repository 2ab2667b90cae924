// Throw-away folders for tests: one shape everywhere (`path`, async `cleanup`, `await using`).
import { mkdtempSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach } from 'vitest';

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

/** A fresh temp folder per test (`tmp.path`), removed after it. Call at the top of a file or `describe`. */
export function useTempDir(prefix?: string): { readonly path: string } {
  let current: TempDir | undefined;
  beforeEach(() => {
    current = tempDir(prefix);
  });
  afterEach(async () => {
    await current?.cleanup();
    current = undefined;
  });
  return {
    get path(): string {
      if (current === undefined) throw new Error('useTempDir: only inside a test');
      return current.path;
    },
  };
}
