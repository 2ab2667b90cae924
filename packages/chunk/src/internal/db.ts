import {
  chmodSync,
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { homedir, tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { expandHome } from '@rediver/core';
import Database from 'better-sqlite3';
import type BetterSqlite3 from 'better-sqlite3';
import type * as KyselyModule from 'kysely';
import type { Kysely } from 'kysely';
import { MIGRATIONS, migrate } from './migrations';
import type { ChunkDatabase } from './schema';
import { isCorrupt } from './sqliteErrors';
import type { SetAsideFile } from '../chunkStoreTypes';

export type { SetAsideFile } from '../chunkStoreTypes';

/** An open chunk database: the raw handle (pragmas, migrations, vacuum, queries). */
export interface OpenDatabase {
  readonly sqlite: BetterSqlite3.Database;
  readonly path: string;
  readonly schemaVersion: number;
}

/** Suffix of a set-aside file: `chunks.db.corrupt-2026-12-03T16-20-00-000Z`. */
const SET_ASIDE_INFIX = '.corrupt-';

/** Expands a leading `~` to the home directory and resolves to an absolute path. */
export function expandPath(path: string): string {
  return resolve(expandHome(path, homedir()));
}

/** How to open. */
export interface OpenOptions {
  /** Inspection only: no pragma that writes, no migration, no file created; works on a read-only file or folder. */
  readonly readOnly?: boolean;
  /** Called when a damaged file was moved aside and a fresh one created. */
  readonly onSetAside?: (file: SetAsideFile) => void;
}

/**
 * Opens (creating when needed) the database at `path`: folder created (0700), file created 0600 before
 * SQLite touches it (its -wal/-shm files inherit the main file's mode), pragmas set, migrations applied,
 * integrity checked. A damaged file (truncated, garbage, a torn WAL) is moved aside with a timestamped
 * name, `onSetAside` told, and a fresh database opened in its place so new reports can be stored.
 */
export function openDatabase(path: string, now: number, options: OpenOptions = {}): OpenDatabase {
  const file = expandPath(path);
  if (options.readOnly) return openReadOnly(file, now);
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  try {
    return openReadWrite(file, now);
  } catch (err) {
    if (!isCorrupt(err)) throw err;
    const movedTo = setAside(file, now);
    options.onSetAside?.({ path: file, movedTo, at: now, reason: describe(err) });
    return openReadWrite(file, now);
  }
}

function openReadWrite(file: string, now: number): OpenDatabase {
  // Create the file with the right mode first so no other process ever sees a world-readable chunk store.
  closeSync(openSync(file, 'a', 0o600));
  chmodSync(file, 0o600);
  const sqlite = new Database(file);
  try {
    applyPragmas(sqlite);
    checkIntegrity(sqlite);
    const schemaVersion = migrate(sqlite, now);
    return { sqlite, path: file, schemaVersion };
  } catch (err) {
    sqlite.close();
    throw err;
  }
}

/**
 * Read-only: `readonly` connection, no pragma that writes (journal mode, auto_vacuum), no migration. A file
 * of an older schema is copied (`VACUUM INTO`, which only reads the original) to a private temporary file
 * that is upgraded and opened instead, so an inspection never changes the store a running agent uses.
 */
function openReadOnly(file: string, now: number): OpenDatabase {
  let sqlite = new Database(file, { readonly: true, fileMustExist: true });
  try {
    sqlite.pragma('busy_timeout = 5000');
    const current = MIGRATIONS[MIGRATIONS.length - 1]!.version;
    if (schemaVersionOf(sqlite) < current) {
      const copyDir = mkdtempSync(join(tmpdir(), 'rediver-chunks-ro-'));
      const copy = join(copyDir, basename(file));
      sqlite.prepare('VACUUM INTO ?').run(copy);
      sqlite.close();
      const upgraded = new Database(copy);
      migrate(upgraded, now);
      upgraded.close();
      sqlite = new Database(copy, { readonly: true, fileMustExist: true });
      // The copy is ours alone and only read: gone from the folder now, alive while open (POSIX).
      rmSync(copyDir, { recursive: true, force: true });
    }
    return { sqlite, path: file, schemaVersion: schemaVersionOf(sqlite) };
  } catch (err) {
    sqlite.close();
    throw err;
  }
}

/**
 * A Kysely instance over `sqlite`, for this package's tools. Kysely is loaded here, on first use, never at open:
 * its ~260 modules cost ~12 MB RSS (measured with `bench:idle`), and the store's own queries do not use it.
 */
export function kyselyOf(sqlite: BetterSqlite3.Database): Kysely<ChunkDatabase> {
  const { Kysely: K, SqliteDialect } = createRequire(import.meta.url)('kysely') as typeof KyselyModule;
  return new K<ChunkDatabase>({ dialect: new SqliteDialect({ database: sqlite }) });
}

function schemaVersionOf(sqlite: BetterSqlite3.Database): number {
  const exists = sqlite
    .prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'")
    .get();
  if (exists === undefined) return 0;
  return (
    (sqlite.prepare('SELECT MAX(version) AS v FROM schema_migrations').get() as { v: number | null }).v ?? 0
  );
}

/**
 * `PRAGMA quick_check`: walks every b-tree page (not the indexes' content), so a truncated file, garbage
 * pages or a torn WAL are found at open rather than in the middle of a delivery. Measured on this machine:
 * ~0.1 s per 100 MB of store, once per open.
 */
function checkIntegrity(sqlite: BetterSqlite3.Database): void {
  const rows = sqlite.pragma('quick_check(1)') as { quick_check: string }[];
  const verdict = rows[0]?.quick_check;
  if (verdict !== 'ok') {
    const err = new Error(`database disk image is malformed: quick_check says ${verdict ?? 'nothing'}`);
    (err as Error & { code: string }).code = 'SQLITE_CORRUPT';
    throw err;
  }
}

/**
 * Moves a damaged database (and its -wal/-shm) aside as `<file>.corrupt-<timestamp>`: kept for forensics,
 * never deleted by us. Returns the new path of the main file.
 */
export function setAside(file: string, now: number): string {
  const stamp = new Date(now).toISOString().replace(/[:.]/g, '-');
  let movedTo = `${file}${SET_ASIDE_INFIX}${stamp}`;
  for (let n = 1; existsSync(movedTo); n++) movedTo = `${file}${SET_ASIDE_INFIX}${stamp}-${n}`;
  for (const suffix of ['-wal', '-shm', '-journal']) {
    if (existsSync(file + suffix)) renameSync(file + suffix, movedTo + suffix);
  }
  if (existsSync(file)) renameSync(file, movedTo);
  return movedTo;
}

/** Damaged stores set aside next to `path` (by any process, at any time), oldest first. */
export function listSetAside(path: string): { movedTo: string; bytes: number; at: number }[] {
  const file = expandPath(path);
  const dir = dirname(file);
  const prefix = basename(file) + SET_ASIDE_INFIX;
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names
    .filter((n) => n.startsWith(prefix) && !/-(wal|shm|journal)$/.test(n))
    .map((n) => {
      const st = statSync(join(dir, n));
      return { movedTo: join(dir, n), bytes: st.size, at: st.mtimeMs };
    })
    .sort((a, b) => a.movedTo.localeCompare(b.movedTo));
}

function describe(err: unknown): string {
  const e = err as { code?: string; message?: string };
  return `${e.code ?? 'error'}: ${e.message ?? String(err)}`;
}

/**
 * Pragmas, and why:
 * - `page_size = 8192` on a new database (an existing one keeps its own): the file is mostly chunk blobs
 *   of tens to hundreds of KiB in overflow pages; half as many pages per blob makes storing a report
 *   ~20% faster (measured: 15 MB of blobs in 145-165 ms against 190-200 ms with 4 KiB), while the small
 *   writes of an upload's acknowledgement barely change (0.33 against 0.31 ms each).
 * - `auto_vacuum = INCREMENTAL` first, before any table exists (SQLite only honours it on an empty
 *   database): freed pages go to a free list that `PRAGMA incremental_vacuum` returns to the OS, so the
 *   file really shrinks after cleanup without a blocking full VACUUM.
 * - `journal_mode = WAL`: the upload engine reads while a report is being stored; readers never block
 *   the writer and a crash mid-write leaves the last committed state.
 * - `synchronous = FULL`: in WAL mode NORMAL may lose the last committed transactions on power loss
 *   (no corruption, but a "stored" report could vanish). A stored chunk is the only copy of scan
 *   results until it is uploaded, so every commit that makes a report visible is fsynced; writes that
 *   need no durability (staged chunks, acknowledgements) lower it for their own commit.
 * - `foreign_keys = ON`: chunks die with their report (ON DELETE CASCADE): no orphan blobs.
 * - `busy_timeout = 5000`: another process (a restarted agent, a CLI) holding the write lock makes us
 *   wait up to 5 s instead of failing at once with SQLITE_BUSY.
 */
function applyPragmas(sqlite: BetterSqlite3.Database): void {
  sqlite.pragma('page_size = 8192'); // ignored unless the database is still empty
  sqlite.pragma('auto_vacuum = INCREMENTAL');
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = FULL');
  sqlite.pragma('foreign_keys = ON');
  sqlite.pragma('busy_timeout = 5000');
}
