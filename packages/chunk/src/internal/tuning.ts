import type BetterSqlite3 from 'better-sqlite3';
import type { Logger } from '@rediver/core';

/* Connection tuning of the store: pragmas held for the duration of commits, and compaction. */

/** A pragma a commit may change for its duration. */
export type HeldPragma = 'cache_size' | 'wal_autocheckpoint';

/**
 * Pragmas changed for the duration of commits. Overlapping holds (concurrent commits) share one change and the last
 * release restores the value from before the first.
 */
export class PragmaHolds {
  readonly #held = new Map<string, { before: number; users: number }>();

  constructor(private readonly sqlite: BetterSqlite3.Database) {}

  /** Sets pragma `name` to `value` until the returned function is called (idempotent). */
  hold(name: HeldPragma, value: number): () => void {
    const held = this.#held.get(name);
    if (held === undefined) {
      const before = Number(this.sqlite.pragma(name, { simple: true }));
      this.sqlite.pragma(`${name} = ${value}`);
      this.#held.set(name, { before, users: 1 });
    } else held.users += 1;
    let done = false;
    return () => {
      if (done) return;
      done = true;
      const h = this.#held.get(name)!;
      if (--h.users > 0) return;
      this.#held.delete(name);
      if (this.sqlite.open) this.sqlite.pragma(`${name} = ${h.before}`);
    };
  }
}

/**
 * Returns freed pages to the OS (auto_vacuum=INCREMENTAL) and, after bulk deletions, checkpoints the WAL so the main
 * file really shrinks. Best effort: a failure (a full disk cannot checkpoint) is logged.
 */
export function vacuum(sqlite: BetterSqlite3.Database, logger: Logger, checkpoint = true): void {
  try {
    sqlite.pragma('incremental_vacuum');
    if (checkpoint) sqlite.pragma('wal_checkpoint(TRUNCATE)');
  } catch (err) {
    logger.warn({ err: (err as Error).message }, 'chunk store compaction failed');
  }
}
