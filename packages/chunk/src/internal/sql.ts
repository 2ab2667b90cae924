import type BetterSqlite3 from 'better-sqlite3';

/**
 * Prepared statements of one connection (prepared once, on first use) and its write transactions. Every
 * write of this package is one synchronous better-sqlite3 transaction: it never spans an `await`, so it
 * never interleaves with another caller's, and when SQLite aborts a transaction itself (a full disk) the
 * error that comes out is SQLite's, not a follow-up "cannot rollback - no transaction is active".
 */
export class Sql {
  readonly sqlite: BetterSqlite3.Database;
  readonly #cache = new Map<string, BetterSqlite3.Statement>();
  readonly #synchronous: number;
  /** Told of every error a write transaction throws (the store watches for a damaged file). */
  onError: ((err: unknown) => void) | undefined;

  constructor(sqlite: BetterSqlite3.Database) {
    this.sqlite = sqlite;
    this.#synchronous = sqlite.readonly ? 2 : (sqlite.pragma('synchronous', { simple: true }) as number);
  }

  /** The statement for `sql`, prepared once. */
  q(sql: string): BetterSqlite3.Statement {
    let s = this.#cache.get(sql);
    if (s === undefined) {
      s = this.sqlite.prepare(sql);
      this.#cache.set(sql, s);
    }
    return s;
  }

  /**
   * Runs `fn` in one IMMEDIATE transaction. `durable: false` commits WITHOUT an fsync (`synchronous =
   * NORMAL` for that commit, the connection's level restored after): for writes whose loss at power loss
   * is harmless — staged chunks (discarded at the next open anyway) and the upload engine's bookkeeping (a
   * lost ack means a deduplicated re-send). In WAL mode a later fsynced commit persists them in order.
   * Measured: an fsynced commit costs ~6 ms of blocked event loop here.
   */
  write<T>(fn: () => T, durable = true): T {
    try {
      if (this.sqlite.inTransaction || durable) return this.sqlite.transaction(fn).immediate();
      this.q('PRAGMA synchronous = NORMAL').run();
      try {
        return this.sqlite.transaction(fn).immediate();
      } finally {
        this.q(`PRAGMA synchronous = ${Math.trunc(this.#synchronous)}`).run();
      }
    } catch (err) {
      this.onError?.(err);
      throw err;
    }
  }
}
