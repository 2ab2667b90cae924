// An unlucky host (issue 18): a damaged store file is set aside at open and a fresh one started; a full disk is
// DISK_FULL (never STORAGE_QUOTA, never "cannot rollback") and loses nothing accepted before; a read-only open
// inspects without writing. Real SQLite files; a real small tmpfs where this machine lets us mount one.
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isRediverError } from '@rediver/core';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeReport, tempDir } from '@rediver/testkit';
import type { TempDir } from '@rediver/testkit';
import { ChunkStore } from '../src/chunkStore';
import type { ChunkStoreOptions } from '../src/options';
import { MIGRATIONS } from '../src/internal/migrations';

let dir: TempDir;
const stores: ChunkStore[] = [];

beforeEach(() => {
  dir = tempDir('rediver-chunk-disk-');
});

afterEach(async () => {
  await Promise.all(stores.splice(0).map((s) => s.close()));
  await dir.cleanup();
});

function open(databasePath: string, options: ChunkStoreOptions = {}): ChunkStore {
  const s = new ChunkStore({ databasePath, cleanupIntervalMinutes: 0, maxFindingsPerChunk: 20, ...options });
  stores.push(s);
  return s;
}

async function caught(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}

const sha = (path: string): string => createHash('sha256').update(readFileSync(path)).digest('hex');

/** A closed store of a couple of MB at `path`. */
async function filledStore(path: string): Promise<void> {
  const s = new ChunkStore({ databasePath: path, cleanupIntervalMinutes: 0, maxFindingsPerChunk: 20 });
  await s.submitReport(makeReport('old-1', { findings: 200, noiseBytes: 4000 }), { tenantId: 't' });
  await s.submitReport(makeReport('old-2', { findings: 200, noiseBytes: 4000 }), { tenantId: 't' });
  await s.close();
}

describe('a damaged store', () => {
  it.each([
    ['truncated to 400,000 bytes', (path: string) => truncateSync(path, 400_000)],
    ['overwritten with garbage', (path: string) => writeFileSync(path, randomBytes(400_000))],
  ])(
    'is detected at open when %s: moved aside (kept), announced, and a fresh store works',
    async (_name, damage) => {
      const path = join(dir.path, 'chunks.db');
      await filledStore(path);
      expect(statSync(path).size).toBeGreaterThan(400_000);
      damage(path);
      const damagedHash = sha(path);
      const store = open(path);
      expect(store.setAside).toHaveLength(1);
      const { movedTo, reason } = store.setAside[0]!;
      expect(movedTo).toMatch(/chunks\.db\.corrupt-\d{4}-\d{2}-\d{2}T/);
      expect(reason).toMatch(/SQLITE_(CORRUPT|NOTADB)/);
      expect(sha(movedTo)).toBe(damagedHash); // kept as it was, for forensics
      const event = await new Promise((resolve) => store.once('store:set-aside', resolve));
      expect(event).toMatchObject({ path, movedTo });
      // Fresh and usable.
      expect((await store.getStats()).reports.pending).toBe(0);
      expect(
        (await store.submitReport(makeReport('new-1', { findings: 50 }), { tenantId: 't' })).created,
      ).toBe(true);
      expect(ChunkStore.listSetAside(path).map((f) => f.movedTo)).toEqual([movedTo]);
      // A later open of the fresh file sets nothing aside.
      await store.close();
      expect(open(path).setAside).toEqual([]);
    },
  );
});

describe('a store damaged while open', () => {
  it('announces store:corrupt once; the next open sets the file aside', async () => {
    const path = join(dir.path, 'chunks.db');
    await filledStore(path);
    const store = open(path, { cleanupIntervalMinutes: 0 });
    const seen: unknown[] = [];
    store.on('store:corrupt', (e) => seen.push(e));
    store.sqlite.pragma('cache_size = 0');
    // Garbage over every page but the first, under the open connection (a failing disk, another writer).
    const size = statSync(path).size;
    const fd = readFileSync(path);
    fd.fill(0x5a, 8192);
    writeFileSync(path, fd.subarray(0, size));
    for (let i = 0; i < 3; i++) {
      await caught(store.decompressChunk('t', 'old-1', i));
      await caught(store.deleteReportChunks('t', 'old-2'));
    }
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ path, reason: expect.stringMatching(/SQLITE_(CORRUPT|NOTADB)/) });
    await store.close();
    const again = open(path);
    expect(again.setAside).toHaveLength(1);
    expect((await again.getStats()).reports.pending).toBe(0);
  });
});

describe('a full disk', () => {
  it('is DISK_FULL (max_page_count as a deterministic stand-in), keeps what was stored and the store usable', async () => {
    const path = join(dir.path, 'chunks.db');
    const store = open(path);
    await store.submitReport(makeReport('kept', { findings: 100, noiseBytes: 1000 }), { tenantId: 't' });
    const pages = store.sqlite.pragma('page_count', { simple: true }) as number;
    store.sqlite.pragma(`max_page_count = ${pages + 8}`);
    for (const submit of [
      () => store.submitReport(makeReport('too-big', { findings: 400, noiseBytes: 2000 }), { tenantId: 't' }),
      async () => {
        const { findings, ...header } = makeReport('too-big-streamed', { findings: 400, noiseBytes: 2000 });
        const w = await store.beginReport({ tenantId: 't', header });
        await w.addFindings(findings!);
        return w.commit();
      },
    ]) {
      const err = await caught(submit());
      expect(isRediverError(err, 'DISK_FULL')).toBe(true);
      expect(isRediverError(err, 'STORAGE_QUOTA')).toBe(false);
      expect((err as Error).message).not.toMatch(/cannot rollback/);
      expect((err as Error).message).toMatch(/disk .*full/);
      expect(((err as Error).cause as { code?: string }).code).toBe('SQLITE_FULL');
    }
    const stats = await store.getStats('t');
    expect(stats).toMatchObject({ stagingReports: 0, quotaRejections: 0 });
    expect(stats.reports.pending).toBe(1);
    expect((await store.decompressChunk('t', 'kept', 4))?.chunk_index).toBe(4);
    store.sqlite.pragma('max_page_count = 1073741823');
    expect(
      (await store.submitReport(makeReport('after', { findings: 100, noiseBytes: 1000 }), { tenantId: 't' }))
        .created,
    ).toBe(true);
  });

  describe('on a real small tmpfs', () => {
    const mountPoint = join('/tmp', `rediver-chunk-tmpfs-${process.pid}`);
    let mounted = false;
    let why = '';
    beforeEach(() => {
      try {
        mkdirSync(mountPoint, { recursive: true });
        execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=3m', 'tmpfs', mountPoint], { stdio: 'pipe' });
        mounted = true;
      } catch (err) {
        why = `mount -t tmpfs is not allowed here (${String((err as Error).message).split('\n')[0]})`;
      }
    });
    afterEach(async () => {
      await Promise.all(stores.splice(0).map((s) => s.close()));
      if (mounted) execFileSync('umount', ['-l', mountPoint]);
      mounted = false;
    });

    it('stores until ENOSPC, then says DISK_FULL and loses nothing it accepted', async (ctx) => {
      if (!mounted) {
        console.warn(`skipped: ${why}`);
        ctx.skip();
        return;
      }
      const path = join(mountPoint, 'chunks.db');
      const store = open(path);
      const accepted: string[] = [];
      let err: unknown;
      for (let i = 0; i < 40 && err === undefined; i++) {
        try {
          await store.submitReport(makeReport(`r-${i}`, { findings: 60, noiseBytes: 2000 }), {
            tenantId: 't',
          });
          accepted.push(`r-${i}`);
        } catch (e) {
          err = e;
        }
      }
      expect(accepted.length).toBeGreaterThan(0);
      expect(isRediverError(err, 'DISK_FULL')).toBe(true);
      expect((err as Error).message).not.toMatch(/cannot rollback/);
      // Submitting the same report again (the agent does, when it stops): still DISK_FULL, never a raw SqliteError
      // (its staging row may be left behind: deleting it needs disk space too).
      for (let i = 0; i < 2; i++) {
        const again = await caught(
          store.submitReport(makeReport(`r-${accepted.length}`, { findings: 60, noiseBytes: 2000 }), {
            tenantId: 't',
          }),
        );
        expect(isRediverError(again, 'DISK_FULL')).toBe(true);
      }
      for (const id of accepted) expect((await store.decompressChunk('t', id, 2))?.report_id).toBe(id);
      expect((await store.getStats('t')).reports.pending).toBe(accepted.length);
      // The read-only inspection works on the full disk, and on a read-only mount.
      await store.close();
      execFileSync('mount', ['-o', 'remount,ro', mountPoint]);
      const before = sha(path);
      const ro = open(path, { readOnly: true });
      expect((await ro.getStats('t')).reports.pending).toBe(accepted.length);
      expect((await ro.listReports('t')).map((r) => r.reportId)).toEqual(accepted);
      expect(
        isRediverError(
          await caught(ro.submitReport(makeReport('x', { findings: 1 }), { tenantId: 't' })),
          'READ_ONLY',
        ),
      ).toBe(true);
      await ro.close();
      expect(sha(path)).toBe(before);
    });
  });
});

describe('read-only open', () => {
  it('inspects without writing a byte, and reads an older schema through a private upgraded copy', async () => {
    const path = join(dir.path, 'chunks.db');
    await filledStore(path);
    // An older (version 2) file, built from migrations 1 and 2.
    const oldPath = join(dir.path, 'v2.db');
    const raw = new Database(oldPath);
    raw.exec(MIGRATIONS[0]!.sql);
    raw.exec(MIGRATIONS[1]!.sql);
    raw.exec(
      'CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)',
    );
    raw.exec("INSERT INTO schema_migrations VALUES (1, 'a', 0), (2, 'b', 0)");
    raw.exec(`INSERT INTO reports (tenant_id, report_id, status, total_chunks, content_hash, original_bytes,
              compressed_bytes, created_at, updated_at) VALUES ('t', 'legacy', 'pending', 1, 'h', 1, 1, 1, 1)`);
    raw.close();
    for (const [file, reports] of [
      [path, 2],
      [oldPath, 1],
    ] as const) {
      const before = sha(file);
      const ro = open(file, { readOnly: true });
      expect(ro.readOnly).toBe(true);
      expect((await ro.getStats('t')).reports.pending).toBe(reports);
      expect(isRediverError(await caught(ro.runRetentionCleanup()), 'READ_ONLY')).toBe(true);
      expect(
        isRediverError(
          await caught(ro.beginReport({ tenantId: 't', header: makeReport('n', { findings: 0 }) })),
          'READ_ONLY',
        ),
      ).toBe(true);
      await ro.close();
      expect(sha(file)).toBe(before); // (a WAL reader may leave an empty -wal/-shm beside it, as SQLite does)
    }
  });
});
