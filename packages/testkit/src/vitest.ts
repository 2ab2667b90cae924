// The kit's vitest-bound part (`@rediver/testkit/vitest`): per-test hooks and fake timers. Kept apart from the
// main entry, which child-process fixtures and benches import outside the vitest runner.
import { afterEach, beforeEach, vi } from 'vitest';
import { startLoopbackServer } from './loopback';
import type { LoopbackHandler, LoopbackServer, LoopbackServerOptions } from './loopback';
import { tempDir } from './tempDir';
import type { TempDir } from './tempDir';

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

/** Loopback servers started in a test are closed after it. Call at the top of a file or `describe`. */
export function useLoopbackServer(): {
  start(handler?: LoopbackHandler, options?: LoopbackServerOptions): Promise<LoopbackServer>;
} {
  const servers: LoopbackServer[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => s.close()));
  });
  return {
    async start(handler, options) {
      const server = await startLoopbackServer(handler, options);
      servers.push(server);
      return server;
    },
  };
}

/** Which timers `fakeTimers` fakes. */
export type FakeTimerSet =
  /** `setTimeout`/`clearTimeout` and `Date`: retry delays and deadlines. */
  | 'timeouts'
  /** `setInterval`/`clearInterval` only: periodic maintenance, real time otherwise. */
  | 'intervals'
  /** Both, and `Date`. */
  | 'all';

const TO_FAKE = {
  timeouts: ['setTimeout', 'clearTimeout', 'Date'],
  intervals: ['setInterval', 'clearInterval'],
  all: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'],
} as const;

/**
 * Installs vitest's fake timers for `set` (optionally with `Date.now()` at `now`); undo with `realTimers()` in
 * `afterEach`. Promises, `setImmediate` and I/O stay real.
 */
export function fakeTimers(set: FakeTimerSet, now?: number): void {
  vi.useFakeTimers({ toFake: [...TO_FAKE[set]], ...(now === undefined ? {} : { now }) });
}

/** Restores real timers (idempotent). */
export function realTimers(): void {
  vi.useRealTimers();
}
