import { execFileSync } from 'node:child_process';
import { decompress as zstdDecompress } from 'fzstd';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isRediverError } from '@rediver/core';
import { makeReport as kitReport } from '@rediver/testkit';
import Database from 'better-sqlite3';
import type { Clock, Finding, Report } from '@rediver/core';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { base64Length, ChunkStore } from './chunkStore';
import type { ChunkStoreOptions } from './options';
import { sha256Hex } from './internal/checksum';
import { MIGRATIONS } from './internal/migrations';
import { planSplit, reassembleChunks } from './internal/split';
import type { StoredChunkData } from './internal/split';

let dir: string;
const stores: ChunkStore[] = [];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'rediver-chunk-store-'));
});

afterEach(async () => {
  vi.useRealTimers();
  await Promise.all(stores.splice(0).map((s) => s.close()));
  rmSync(dir, { recursive: true, force: true });
});

function open(options: ChunkStoreOptions = {}): ChunkStore {
  const store = new ChunkStore({
    databasePath: join(dir, 'chunks.db'),
    cleanupIntervalMinutes: 0,
    ...options,
  });
  stores.push(store);
  return store;
}

class ManualClock implements Clock {
  constructor(public t = 1_700_000_000_000) {}
  now(): number {
    return this.t;
  }
}

/** A report of `n` findings with `noise` random hex bytes each (barely compressible), on `assets` hosts. */
function makeReport(id: string, n: number, noise = 0, assets = 3): Report {
  return kitReport(id, {
    findings: n,
    noiseBytes: noise,
    assets: Array.from({ length: assets }, (_, i) => ({
      id: `asset-${i}`,
      type: 'host',
      value: `10.0.0.${i}`,
    })),
    finding: (i, reportId, assetRef) => ({
      type: 'vulnerability',
      title: `finding ${i} of ${reportId}`,
      severity: 'high',
      asset_ref: assetRef!,
    }),
    tool: { name: 'scanner', version: '1' },
    timestamp: '2026-01-01T00:00:00Z',
    coverageType: null,
  });
}

/** A chunk row with its blob (migration 3 keeps blobs in `chunk_blobs`). */
const WITH_DATA =
  'SELECT id, data, frame_checksum FROM (SELECT c.*, b.data FROM chunks c JOIN chunk_blobs b ON b.chunk_id = c.id)';
const SET_DATA = 'UPDATE chunk_blobs SET data = ? WHERE chunk_id = ?';

async function caught(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}

async function readAll(
  store: ChunkStore,
  tenant: string,
  reportId: string,
  total: number,
): Promise<StoredChunkData[]> {
  const out: StoredChunkData[] = [];
  for (let i = 0; i < total; i++) out.push((await store.decompressChunk(tenant, reportId, i))!);
  return out;
}

function rowCounts(store: ChunkStore): { reports: number; chunks: number } {
  return {
    reports: (store.sqlite.prepare('SELECT count(*) AS n FROM reports').get() as { n: number }).n,
    chunks: (store.sqlite.prepare('SELECT count(*) AS n FROM chunks').get() as { n: number }).n,
  };
}

describe('ChunkStore: opening', () => {
  it('loads Kysely only when `db` is first used, and then queries the open database', async () => {
    const store = open();
    await store.submitReport(makeReport('kept', 3), { tenantId: 't' });
    const kyselyLoaded = (): boolean =>
      Object.keys(createRequire(import.meta.url).cache).some((p) => /[\\/]kysely[\\/]/.test(p));
    expect(kyselyLoaded()).toBe(false);
    const rows = await store.db.selectFrom('reports').select(['report_id', 'total_chunks']).execute();
    expect(rows).toEqual([{ report_id: 'kept', total_chunks: expect.any(Number) as number }]);
    expect(store.db).toBe(store.db);
    expect(kyselyLoaded()).toBe(true);
  });

  it('creates the folder and a 0600 file, sets the pragmas and applies the migrations once', async () => {
    const path = join(dir, 'nested', 'deeper', 'chunks.db');
    const store = open({ databasePath: path });
    expect(store.path).toBe(path);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(store.sqlite.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(store.sqlite.pragma('foreign_keys', { simple: true })).toBe(1);
    expect(store.sqlite.pragma('synchronous', { simple: true })).toBe(2); // FULL
    expect(store.sqlite.pragma('auto_vacuum', { simple: true })).toBe(2); // INCREMENTAL
    expect(store.sqlite.pragma('busy_timeout', { simple: true })).toBe(5000);
    expect(store.sqlite.pragma('page_size', { simple: true })).toBe(8192);
    await store.submitReport(makeReport('kept', 3), { tenantId: 't' });
    await store.close();
    const again = open({ databasePath: path });
    expect(again.sqlite.prepare('SELECT version FROM schema_migrations ORDER BY version').all()).toEqual([
      { version: 1 },
      { version: 2 },
      { version: 3 },
    ]);
    expect((await again.getStats()).reports.pending).toBe(1);
  });

  it('upgrades a version-1 database to the current schema at open, keeping its data', async () => {
    const path = join(dir, 'v1.db');
    // A real version-1 file: migration 1's schema, a report whose chunk holds its whole JSON in `data`.
    const source = open({ databasePath: join(dir, 'source.db') });
    await source.submitReport(makeReport('legacy', 2), { tenantId: 't' });
    const blob = (await source.readChunkBlob('t', 'legacy', 0))!;
    const row = source.sqlite.prepare('SELECT * FROM reports').get() as Record<string, unknown>;
    const raw = new Database(path);
    raw.pragma('journal_mode = WAL');
    raw.exec(MIGRATIONS[0]!.sql);
    raw.exec(
      'CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)',
    );
    raw.prepare("INSERT INTO schema_migrations VALUES (1, 'reports and chunks', 0)").run();
    raw
      .prepare(
        `INSERT INTO reports (tenant_id, report_id, status, priority, total_chunks, content_hash, original_bytes,
                              compressed_bytes, created_at, updated_at) VALUES ('t', 'legacy', 'pending', 0, 1, ?, ?, ?, 1, 1)`,
      )
      .run(row.content_hash, blob.originalBytes, blob.compressedBytes);
    raw
      .prepare(
        `INSERT INTO chunks (tenant_id, report_id, chunk_index, status, data, checksum, original_bytes,
                             compressed_bytes, created_at) VALUES ('t', 'legacy', 0, 'pending', ?, ?, ?, ?, 1)`,
      )
      .run(Buffer.from(blob.data), blob.checksum, blob.originalBytes, blob.compressedBytes);
    raw.close();
    const upgraded = open({ databasePath: path });
    expect(upgraded.sqlite.prepare('SELECT max(version) AS v FROM schema_migrations').get()).toEqual({
      v: 3,
    });
    expect(upgraded.sqlite.prepare('SELECT frame_checksum FROM chunks').get()).toEqual({
      frame_checksum: null,
    });
    expect((await upgraded.readChunkFrame('t', 'legacy', 0))?.reportId).toBe('legacy');
  });

  it('keeps the page size of an existing database (8 KiB is for new files only)', async () => {
    const path = join(dir, 'old.db');
    const raw = new Database(path);
    raw.pragma('journal_mode = WAL');
    raw.exec('CREATE TABLE keep (x)');
    raw.close();
    const store = open({ databasePath: path });
    expect(store.sqlite.pragma('page_size', { simple: true })).toBe(4096);
    await store.submitReport(makeReport('on-old-pages', 30), { tenantId: 't' });
    expect((await store.decompressChunk('t', 'on-old-pages', 0))?.chunk_index).toBe(0);
  });

  it('expands ~ to the home directory', async () => {
    const home = process.env.HOME;
    process.env.HOME = dir;
    try {
      const store = open({ databasePath: '~/.rediver/test-chunks.db' });
      expect(store.path).toBe(join(dir, '.rediver', 'test-chunks.db'));
      expect(statSync(store.path).isFile()).toBe(true);
    } finally {
      process.env.HOME = home;
    }
  });

  it('closes idempotently and refuses work afterwards', async () => {
    const store = open();
    const p = store.close();
    expect(store.close()).toBe(p);
    await store[Symbol.asyncDispose]();
    const err = await caught(store.submitReport(makeReport('r', 1), { tenantId: 't' }));
    expect(isRediverError(err, 'CLOSED')).toBe(true);
  });
});

describe('ChunkStore: needsChunking', () => {
  it('triggers at exactly each threshold', () => {
    const store = open({
      minFindingsForChunking: 20,
      minAssetsForChunking: 5,
      minSizeForChunkingBytes: 1_000_000,
    });
    expect(store.needsChunking(makeReport('r', 19, 0, 4))).toBe(false);
    expect(store.needsChunking(makeReport('r', 20, 0, 4))).toBe(true);
    expect(store.needsChunking(makeReport('r', 1, 0, 5))).toBe(true);
  });

  it('triggers at exactly minSizeForChunkingBytes of JSON', () => {
    const base = makeReport('r', 1, 0, 1);
    const size = Buffer.byteLength(JSON.stringify(base));
    const store = open({ minSizeForChunkingBytes: size });
    expect(store.needsChunking(base)).toBe(true);
    const store2 = open({ minSizeForChunkingBytes: size + 1, databasePath: join(dir, 'other.db') });
    expect(store2.needsChunking(base)).toBe(false);
  });
});

describe('ChunkStore: submitReport', () => {
  it('stores every chunk so that reading them back gives the report', async () => {
    const store = open({ maxFindingsPerChunk: 7 });
    const created: number[] = [];
    const stored = vi.fn();
    store.on('chunk:created', (e) => created.push(e.chunkIndex));
    store.on('report:stored', stored);
    const report = makeReport('scan-1', 40, 64, 5);
    const res = await store.submitReport(report, { tenantId: 't', priority: 5 });
    expect(res).toMatchObject({ reportId: 'scan-1', totalChunks: 6, created: true });
    expect(created).toEqual([0, 1, 2, 3, 4, 5]);
    expect(stored).toHaveBeenCalledWith(
      expect.objectContaining({ tenantId: 't', reportId: 'scan-1', totalChunks: 6, priority: 5 }),
    );
    const back = reassembleChunks(await readAll(store, 't', 'scan-1', 6));
    expect(back.findings).toEqual(report.findings);
    const stats = await store.getStats('t');
    expect(stats.chunks.pending).toBe(6);
    expect(stats.reports.pending).toBe(1);
    expect(stats.originalBytes).toBe(res.originalBytes);
    expect(stats.storedBytes).toBe(res.compressedBytes);
    const row = store.sqlite
      .prepare("SELECT priority, status, content_hash FROM reports WHERE report_id = 'scan-1'")
      .get();
    expect(row).toMatchObject({ priority: 5, status: 'pending' });
  });

  it('is a no-op for the same content and a REPORT_CONFLICT for different content', async () => {
    const store = open({ maxFindingsPerChunk: 5 });
    const report = makeReport('same', 12, 16);
    const first = await store.submitReport(report, { tenantId: 't' });
    const again = await store.submitReport(structuredClone(report), { tenantId: 't' });
    expect(again).toEqual({ ...first, created: false });
    expect(rowCounts(store)).toEqual({ reports: 1, chunks: first.totalChunks });
    const before = store.sqlite.prepare('SELECT data FROM chunk_blobs ORDER BY chunk_id').all();
    const changed = structuredClone(report);
    changed.findings![3]!.title = 'changed';
    const err = await caught(store.submitReport(changed, { tenantId: 't' }));
    expect(isRediverError(err, 'REPORT_CONFLICT')).toBe(true);
    expect(store.sqlite.prepare('SELECT data FROM chunk_blobs ORDER BY chunk_id').all()).toEqual(before);
  });

  it('stores all or nothing', async () => {
    const store = open({ maxFindingsPerChunk: 2 });
    store.sqlite.exec(`CREATE TRIGGER fail_third BEFORE INSERT ON chunks WHEN NEW.chunk_index = 2
      BEGIN SELECT RAISE(ABORT, 'disk on fire'); END`);
    const created = vi.fn();
    store.on('chunk:created', created);
    await expect(store.submitReport(makeReport('torn', 10), { tenantId: 't' })).rejects.toThrow(
      /disk on fire/,
    );
    expect(rowCounts(store)).toEqual({ reports: 0, chunks: 0 });
    expect(created).not.toHaveBeenCalled();
    store.sqlite.exec('DROP TRIGGER fail_third');
    expect((await store.submitReport(makeReport('torn', 10), { tenantId: 't' })).created).toBe(true);
  });

  it('refuses before storing what the platform would refuse', async () => {
    const store = open({ maxFindingsPerChunk: 1 });
    const badId = makeReport('bad id!', 2);
    expect(
      isRediverError(await caught(store.submitReport(badId, { tenantId: 't' })), 'REPORT_ID_INVALID'),
    ).toBe(true);
    const tooMany = makeReport('many', 10_001, 0, 1);
    expect(
      isRediverError(await caught(store.submitReport(tooMany, { tenantId: 't' })), 'REPORT_TOO_LARGE'),
    ).toBe(true);
    // 200 KB of one repeated letter compresses far beyond the 100:1 ratio readers accept.
    const bomb = makeReport('bomb', 1);
    bomb.findings![0]!.description = 'a'.repeat(200_000);
    expect(
      isRediverError(await caught(store.submitReport(bomb, { tenantId: 't' })), 'REPORT_TOO_LARGE'),
    ).toBe(true);
    expect(
      isRediverError(
        await caught(store.submitReport(makeReport('r', 1), { tenantId: '' })),
        'VALIDATION_FAILED',
      ),
    ).toBe(true);
    expect(rowCounts(store)).toEqual({ reports: 0, chunks: 0 });
  });

  it("refuses a chunk whose base64 data would pass the platform's 10 MiB limit", async () => {
    // The edge of the limit itself: 7,864,320 compressed bytes are exactly 10 MiB of base64.
    expect(base64Length(7_864_320)).toBe(10 * 1024 * 1024);
    expect(base64Length(7_864_321)).toBeGreaterThan(10 * 1024 * 1024);
    const store = open();
    const report = makeReport('huge-finding', 1);
    report.findings![0]!.description = randomBytes(8 * 1024 * 1024).toString('base64'); // ~8.4 MB compressed
    const err = await caught(store.submitReport(report, { tenantId: 't' }));
    expect(isRediverError(err, 'REPORT_TOO_LARGE')).toBe(true);
    expect(rowCounts(store)).toEqual({ reports: 0, chunks: 0 });
  });

  it('emits chunk:oversize when a single finding exceeds maxChunkSizeBytes', async () => {
    const store = open({ maxChunkSizeBytes: 2048 });
    const oversize = vi.fn();
    store.on('chunk:oversize', oversize);
    const report = makeReport('big', 3, 0);
    report.findings![1]!.description = randomBytes(3000).toString('hex');
    const res = await store.submitReport(report, { tenantId: 't' });
    expect(res.totalChunks).toBe(3);
    expect(oversize).toHaveBeenCalledTimes(1);
    expect(oversize.mock.calls[0]![0]).toMatchObject({ chunkIndex: 1, maxChunkSizeBytes: 2048 });
    expect((await store.getStats()).oversizeChunks).toBe(1);
  });
});

describe('ChunkStore: reading', () => {
  it('returns the stored zstd frame, which the zstd CLI decodes to the checksummed JSON', async (ctx) => {
    const store = open({ maxFindingsPerChunk: 4 });
    await store.submitReport(makeReport('cli', 10, 32), { tenantId: 't' });
    const blob = (await store.readChunkBlob('t', 'cli', 1))!;
    expect(blob).toMatchObject({
      tenantId: 't',
      reportId: 'cli',
      chunkIndex: 1,
      totalChunks: 3,
      isFinal: false,
    });
    expect(blob.compressedBytes).toBe(blob.data.length);
    expect((await store.readChunkBlob('t', 'cli', 2))!.isFinal).toBe(true);
    let hasCli = true;
    try {
      execFileSync('zstd', ['--version'], { stdio: 'ignore', timeout: 10_000 });
    } catch {
      hasCli = false;
    }
    if (!hasCli) {
      ctx.skip('the zstd command line tool is not installed (apt-get install zstd); CI installs it');
      return;
    }
    const file = join(dir, 'chunk1.zst');
    writeFileSync(file, blob.data);
    const decoded = execFileSync('zstd', ['-d', '-c', file], { timeout: 10_000 });
    expect(sha256Hex(decoded)).toBe(blob.checksum);
    expect(JSON.parse(decoded.toString('utf8'))).toEqual(await store.decompressChunk('t', 'cli', 1));
  });

  it('returns undefined for a missing chunk or a freed blob', async () => {
    const store = open();
    await store.submitReport(makeReport('r', 2), { tenantId: 't' });
    expect(await store.readChunkBlob('t', 'r', 1)).toBeUndefined();
    expect(await store.readChunkBlob('t', 'nope', 0)).toBeUndefined();
    await store.deleteChunkData('t', { reportId: 'r', chunkIndex: 0 });
    expect(await store.readChunkBlob('t', 'r', 0)).toBeUndefined();
  });

  it.each([
    [
      'a flipped byte',
      (b: Buffer) => {
        const c = Buffer.from(b);
        c[c.length - 8]! ^= 0x5a;
        return c;
      },
    ],
    ['a torn (truncated) blob', (b: Buffer) => b.subarray(0, Math.floor(b.length / 2))],
  ])('quarantines %s as corrupt instead of returning it', async (_name, damage) => {
    const store = open({ maxFindingsPerChunk: 3 });
    await store.submitReport(makeReport('c', 9, 64), { tenantId: 't' });
    const row = store.sqlite.prepare(`${WITH_DATA} WHERE chunk_index = 1`).get() as {
      id: number;
      data: Buffer;
    };
    store.sqlite.prepare(SET_DATA).run(damage(row.data), row.id);
    const corrupt = vi.fn();
    store.on('chunk:corrupt', corrupt);
    const err = await caught(store.readChunkBlob('t', 'c', 1));
    expect(isRediverError(err, 'CHECKSUM_MISMATCH', 'DECOMPRESS_FAILED')).toBe(true);
    expect(corrupt).toHaveBeenCalledWith(
      expect.objectContaining({ tenantId: 't', reportId: 'c', chunkIndex: 1 }),
    );
    expect(
      store.sqlite.prepare('SELECT status, last_error FROM chunks WHERE id = ?').get(row.id),
    ).toMatchObject({ status: 'corrupt' });
    // Stays quarantined; the other chunks are fine.
    expect(isRediverError(await caught(store.decompressChunk('t', 'c', 1)), 'CHECKSUM_MISMATCH')).toBe(true);
    expect(corrupt).toHaveBeenCalledTimes(1);
    expect((await store.readChunkBlob('t', 'c', 0))?.chunkIndex).toBe(0);
    expect((await store.getStats()).chunks.corrupt).toBe(1);
  });

  it('readChunkFrame returns the same verified frame without decompressing, and quarantines a damaged one', async () => {
    const store = open({ maxFindingsPerChunk: 3 });
    await store.submitReport(makeReport('fr', 9, 64), { tenantId: 't' });
    expect(await store.readChunkFrame('t', 'fr', 1)).toEqual(await store.readChunkBlob('t', 'fr', 1));
    expect(await store.readChunkFrame('B', 'fr', 1)).toBeUndefined();
    const row = store.sqlite.prepare(`${WITH_DATA} WHERE chunk_index = 2`).get() as {
      id: number;
      data: Buffer;
      frame_checksum: string;
    };
    expect(row.frame_checksum).toBe(sha256Hex(row.data));
    const damaged = Buffer.from(row.data);
    damaged[10]! ^= 1;
    store.sqlite.prepare(SET_DATA).run(damaged, row.id);
    const corrupt = vi.fn();
    store.on('chunk:corrupt', corrupt);
    expect(isRediverError(await caught(store.readChunkFrame('t', 'fr', 2)), 'CHECKSUM_MISMATCH')).toBe(true);
    expect(corrupt).toHaveBeenCalledTimes(1);
    expect(store.sqlite.prepare('SELECT status FROM chunks WHERE id = ?').get(row.id)).toEqual({
      status: 'corrupt',
    });
  });

  it('readChunkFrame falls back to the full check for rows stored before migration 2', async () => {
    const store = open({ maxFindingsPerChunk: 3 });
    await store.submitReport(makeReport('old', 6, 64), { tenantId: 't' });
    store.sqlite.prepare('UPDATE chunks SET frame_checksum = NULL').run();
    expect((await store.readChunkFrame('t', 'old', 0))?.chunkIndex).toBe(0);
    const rows = store.sqlite.prepare(`${WITH_DATA} ORDER BY chunk_index`).all() as {
      id: number;
      data: Buffer;
    }[];
    store.sqlite.prepare(SET_DATA).run(rows[0]!.data, rows[1]!.id);
    expect(isRediverError(await caught(store.readChunkFrame('t', 'old', 1)), 'CHECKSUM_MISMATCH')).toBe(true);
  });

  it('quarantines a valid frame holding the wrong content (CHECKSUM_MISMATCH)', async () => {
    const store = open({ maxFindingsPerChunk: 3 });
    await store.submitReport(makeReport('swap', 6, 8), { tenantId: 't' });
    const rows = store.sqlite.prepare(`${WITH_DATA} ORDER BY chunk_index`).all() as {
      id: number;
      data: Buffer;
    }[];
    store.sqlite.prepare(SET_DATA).run(rows[0]!.data, rows[1]!.id);
    expect(isRediverError(await caught(store.readChunkBlob('t', 'swap', 1)), 'CHECKSUM_MISMATCH')).toBe(true);
  });
});

describe('ChunkStore: tenant isolation', () => {
  it('never lets tenant B see, delete or clean tenant A data', async () => {
    const store = open({ maxFindingsPerChunk: 2, whenFull: 'drop-oldest' });
    await store.submitReport(makeReport('shared-id', 4, 16), { tenantId: 'A' });
    // Same id in another tenant is a different report, not a conflict.
    expect((await store.submitReport(makeReport('shared-id', 6, 16), { tenantId: 'B' })).created).toBe(true);
    await store.submitReport(makeReport('only-a', 4, 16), { tenantId: 'A' });
    const aChunk = store.sqlite
      .prepare("SELECT id FROM chunks WHERE tenant_id = 'A' AND report_id = 'only-a' AND chunk_index = 0")
      .get() as { id: number };
    store.sqlite.prepare("UPDATE chunks SET status = 'uploaded' WHERE tenant_id = 'A'").run();

    expect(await store.readChunkBlob('B', 'only-a', 0)).toBeUndefined();
    expect(await store.decompressChunk('B', 'only-a', 0)).toBeUndefined();
    expect(await store.deleteChunkData('B', aChunk.id)).toBe(0);
    expect(await store.deleteChunkData('B', { reportId: 'only-a', chunkIndex: 0 })).toBe(0);
    expect(await store.deleteReportChunks('B', 'only-a')).toBe(0);
    expect(await store.cleanupToSize('B', 0)).toMatchObject({ chunks: 3 }); // B's own 3 chunks (pending, dropped)
    expect((await store.decompressChunk('A', 'shared-id', 0))?.findings).toHaveLength(2);
    expect((await store.readChunkBlob('A', 'only-a', 0))?.chunkId).toBe(aChunk.id);
    const a = await store.getStats('A');
    expect(a.chunks.uploaded).toBe(4);
    expect(a.storedBytes).toBeGreaterThan(0);
    const b = await store.getStats('B');
    expect(b.storedBytes).toBe(0);
    expect(b.reports.pending).toBe(0);
  });
});

describe('ChunkStore: cleanup', () => {
  it('deleteChunkData frees the blob and keeps the metadata', async () => {
    const store = open({ maxFindingsPerChunk: 2 });
    await store.submitReport(makeReport('r', 4, 16), { tenantId: 't' });
    const cleanup = vi.fn();
    store.on('chunk:cleanup', cleanup);
    const id = (store.sqlite.prepare('SELECT id FROM chunks WHERE chunk_index = 1').get() as { id: number })
      .id;
    store.sqlite.prepare("UPDATE chunks SET status = 'uploaded' WHERE id = ?").run(id);
    const freed = await store.deleteChunkData('t', id);
    expect(freed).toBeGreaterThan(0);
    expect(await store.deleteChunkData('t', id)).toBe(0);
    expect(
      store.sqlite
        .prepare(
          'SELECT (SELECT data FROM chunk_blobs WHERE chunk_id = id) AS data, checksum, status FROM chunks WHERE id = ?',
        )
        .get(id),
    ).toMatchObject({ data: null, status: 'uploaded' });
    expect(cleanup).toHaveBeenCalledWith(
      expect.objectContaining({ reason: 'upload', blobsFreed: 1, bytesFreed: freed, undelivered: false }),
    );
    // An undelivered blob freed by hand is reported as such.
    await store.deleteChunkData('t', { reportId: 'r', chunkIndex: 0 });
    expect(cleanup).toHaveBeenLastCalledWith(
      expect.objectContaining({ reason: 'manual', undelivered: true }),
    );
    expect((await store.getStats()).undeliveredChunksDeleted).toBe(0); // blob freed by explicit request, row kept
  });

  it('deleteReportChunks removes the chunk rows and keeps the report row', async () => {
    const store = open({ maxFindingsPerChunk: 2 });
    await store.submitReport(makeReport('r', 5), { tenantId: 't' });
    expect(await store.deleteReportChunks('t', 'r')).toBe(3);
    expect(rowCounts(store)).toEqual({ reports: 1, chunks: 0 });
  });

  it('the file shrinks after cleanup', async () => {
    const store = open({ maxFindingsPerChunk: 50 });
    for (let i = 0; i < 4; i++)
      await store.submitReport(makeReport(`big-${i}`, 400, 1000), { tenantId: 't' });
    store.sqlite.pragma('wal_checkpoint(TRUNCATE)');
    const before = statSync(store.path).size;
    expect(before).toBeGreaterThan(500_000);
    for (let i = 0; i < 4; i++) await store.deleteReportChunks('t', `big-${i}`);
    const after = statSync(store.path).size;
    expect(after).toBeLessThan(before / 4);
  });

  it('retention deletes ended reports older than retentionHours, on the cleanup timer', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    const clock = new ManualClock();
    const store = open({ clock, cleanupIntervalMinutes: 15, retentionHours: 24 });
    for (const id of ['done', 'dead', 'busy'])
      await store.submitReport(makeReport(id, 2, 16), { tenantId: 't' });
    const t0 = clock.t;
    store.sqlite
      .prepare("UPDATE reports SET status = 'completed', completed_at = ? WHERE report_id = 'done'")
      .run(t0);
    store.sqlite.prepare("UPDATE chunks SET status = 'uploaded' WHERE report_id = 'done'").run();
    store.sqlite
      .prepare("UPDATE reports SET status = 'failed', completed_at = ? WHERE report_id = 'dead'")
      .run(t0);
    const events: { reportId?: string; reason: string; undelivered: boolean }[] = [];
    store.on('chunk:cleanup', (e) => events.push(e));

    clock.t = t0 + 24 * 3_600_000; // exactly at the edge: kept
    expect(await store.runRetentionCleanup()).toEqual({ reportsDeleted: 0, bytesFreed: 0 });
    expect(events).toEqual([]);

    // One millisecond later the timer's sweep deletes both ended reports, and only those.
    clock.t = t0 + 24 * 3_600_000 + 1;
    await vi.advanceTimersByTimeAsync(15 * 60_000);
    await vi.waitFor(() => expect(events).toHaveLength(2));
    expect(events).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ reportId: 'done', reason: 'retention', undelivered: false }),
        expect.objectContaining({ reportId: 'dead', reason: 'retention', undelivered: true }),
      ]),
    );
    expect(store.sqlite.prepare('SELECT report_id FROM reports').all()).toEqual([{ report_id: 'busy' }]);
    expect((await store.getStats()).undeliveredChunksDeleted).toBe(1);
  });
});

describe('ChunkStore: quota', () => {
  const MiB = 1024 * 1024;

  /** Stores `r` in a scratch store to learn its compressed size. */
  async function sizeOf(r: Report): Promise<number> {
    const scratch = open({ databasePath: join(dir, `scratch-${Math.random()}.db`), maxFindingsPerChunk: 10 });
    return (await scratch.submitReport(r, { tenantId: 'x' })).compressedBytes;
  }

  it("'reject' refuses with STORAGE_QUOTA, frees uploaded data first, and never exceeds the quota", async () => {
    const reports = ['q1', 'q2', 'q3'].map((id) => makeReport(id, 20, 400));
    const sizes = await Promise.all(reports.map(sizeOf));
    const max = sizes[0]! + sizes[1]! + Math.floor(sizes[2]! / 2);
    const store = open({ maxStorageMB: max / MiB, maxFindingsPerChunk: 10 });
    const full = vi.fn();
    store.on('storage:full', full);
    await store.submitReport(reports[0]!, { tenantId: 't' });
    await store.submitReport(reports[1]!, { tenantId: 't' });
    const err = await caught(store.submitReport(reports[2]!, { tenantId: 't' }));
    expect(isRediverError(err, 'STORAGE_QUOTA')).toBe(true);
    expect(full).toHaveBeenCalledWith(
      expect.objectContaining({ action: 'rejected', policy: 'reject', reportId: 'q3' }),
    );
    let stats = await store.getStats();
    expect(stats.quotaRejections).toBe(1);
    expect(stats.reports.pending).toBe(2);
    expect(stats.storedBytes).toBeLessThanOrEqual(stats.maxStorageBytes);
    // Once q1 is delivered its blobs may go: q3 then fits, and nothing undelivered was deleted.
    store.sqlite
      .prepare("UPDATE chunks SET status = 'uploaded', uploaded_at = 1 WHERE report_id = 'q1'")
      .run();
    expect((await store.submitReport(reports[2]!, { tenantId: 't' })).created).toBe(true);
    expect(full).toHaveBeenLastCalledWith(expect.objectContaining({ action: 'freed-uploaded' }));
    stats = await store.getStats();
    expect(stats.storedBytes).toBeLessThanOrEqual(stats.maxStorageBytes);
    expect(stats.droppedReports).toBe(0);
    expect(stats.chunks.pending).toBe(4);
  });

  it("'drop-oldest' deletes the oldest undelivered report, with an event and a counter", async () => {
    const reports = ['d1', 'd2', 'd3'].map((id) => makeReport(id, 20, 400));
    const sizes = await Promise.all(reports.map(sizeOf));
    const max = sizes[0]! + sizes[1]! + Math.floor(sizes[2]! / 2);
    const clock = new ManualClock();
    const store = open({ maxStorageMB: max / MiB, maxFindingsPerChunk: 10, whenFull: 'drop-oldest', clock });
    const dropped = vi.fn();
    store.on('report:dropped', dropped);
    for (const r of reports) {
      clock.t += 1000;
      await store.submitReport(r, { tenantId: 't' });
      const s = await store.getStats();
      expect(s.storedBytes).toBeLessThanOrEqual(s.maxStorageBytes);
    }
    expect(dropped).toHaveBeenCalledTimes(1);
    expect(dropped).toHaveBeenCalledWith(
      expect.objectContaining({ tenantId: 't', reportId: 'd1', bytes: sizes[0] }),
    );
    const stats = await store.getStats();
    expect(stats).toMatchObject({ droppedReports: 1, droppedBytes: sizes[0], undeliveredChunksDeleted: 2 });
    expect(store.sqlite.prepare('SELECT report_id FROM reports ORDER BY report_id').all()).toEqual([
      { report_id: 'd2' },
      { report_id: 'd3' },
    ]);
  });

  it('refuses a report bigger than the whole quota under either policy, deleting nothing', async () => {
    const small = makeReport('small', 5, 100);
    const store = open({ maxStorageMB: ((await sizeOf(small)) * 1.5) / MiB, whenFull: 'drop-oldest' });
    await store.submitReport(small, { tenantId: 't' });
    const err = await caught(store.submitReport(makeReport('huge', 40, 400), { tenantId: 't' }));
    expect(isRediverError(err, 'STORAGE_QUOTA')).toBe(true);
    expect(rowCounts(store).reports).toBe(1);
  });

  it('the sweep frees uploaded blobs (never undelivered ones) when over quota, e.g. after maxStorageMB was lowered', async () => {
    const path = join(dir, 'lowered.db');
    const first = open({ databasePath: path, maxFindingsPerChunk: 10 });
    for (const id of ['up1', 'up2', 'pend'])
      await first.submitReport(makeReport(id, 10, 400), { tenantId: 't' });
    first.sqlite
      .prepare("UPDATE chunks SET status = 'uploaded', uploaded_at = 1 WHERE report_id != 'pend'")
      .run();
    const pending = (
      first.sqlite.prepare("SELECT compressed_bytes AS b FROM chunks WHERE report_id = 'pend'").get() as {
        b: number;
      }
    ).b;
    await first.close();

    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    const store = open({
      databasePath: path,
      maxStorageMB: (pending + 10) / MiB,
      cleanupIntervalMinutes: 15,
    });
    const cleanup = vi.fn();
    store.on('chunk:cleanup', cleanup);
    await vi.advanceTimersByTimeAsync(15 * 60_000);
    await vi.waitFor(() =>
      expect(cleanup).toHaveBeenCalledWith(
        expect.objectContaining({ reason: 'quota-free', blobsFreed: 2, undelivered: false }),
      ),
    );
    const stats = await store.getStats();
    expect(stats.storedBytes).toBe(pending);
    expect(stats.storedBytes).toBeLessThanOrEqual(stats.maxStorageBytes);
    expect((await store.readChunkBlob('t', 'pend', 0))?.compressedBytes).toBe(pending);
  });

  it('cleanupToSize frees uploaded data oldest first and keeps undelivered data under reject', async () => {
    const store = open({ maxFindingsPerChunk: 10 });
    for (const id of ['u1', 'u2', 'p1']) await store.submitReport(makeReport(id, 10, 400), { tenantId: 't' });
    store.sqlite
      .prepare("UPDATE chunks SET status = 'uploaded', uploaded_at = 1 WHERE report_id = 'u1'")
      .run();
    store.sqlite
      .prepare("UPDATE chunks SET status = 'uploaded', uploaded_at = 2 WHERE report_id = 'u2'")
      .run();
    const total = (await store.getStats()).storedBytes;
    const u1 = (
      store.sqlite.prepare("SELECT compressed_bytes AS b FROM chunks WHERE report_id = 'u1'").get() as {
        b: number;
      }
    ).b;
    expect(await store.cleanupToSize('t', total - 1)).toEqual({ bytesFreed: u1, chunks: 1 });
    expect(await store.cleanupToSize('t', 0)).toMatchObject({ chunks: 1 });
    const stats = await store.getStats('t');
    expect(stats.chunks.pending).toBe(1);
    expect(stats.storedBytes).toBeGreaterThan(0); // p1 is undelivered: kept under 'reject'
    expect(stats.droppedReports).toBe(0);
  });
});

describe('ChunkStore: compression off the main thread', () => {
  /** 100 tiny findings, then 200 big ones that go two per chunk: the count guessed after chunk 0 is wrong. */
  function unevenReport(id: string): Report {
    const findings: Finding[] = Array.from({ length: 300 }, (_, i) => ({
      type: 'code',
      title: `f${i}`,
      severity: 'low',
      ...(i >= 100 ? { description: randomBytes(10_000).toString('hex') } : {}),
    }));
    return { version: '1.0', metadata: { id, timestamp: 't' }, tool: { name: 'x' }, findings };
  }

  async function frames(store: ChunkStore, reportId: string, n: number): Promise<string[]> {
    const out: string[] = [];
    for (let i = 0; i < n; i++) {
      const blob = await store.readChunkBlob('t', reportId, i);
      out.push(Buffer.from(zstdDecompress(blob!.data)).toString('utf8'));
    }
    return out;
  }

  it('stores the same chunks, byte for byte, with or without the worker, re-heading wrong guesses', async () => {
    const options = { maxFindingsPerChunk: 100, maxChunkSizeBytes: 48 * 1024 };
    const report = unevenReport('uneven-1');
    const plan = planSplit(report, { maxAssetsPerChunk: 100, ...options });
    const expected = Array.from({ length: plan.totalChunks }, (_, i) => plan.render(i).json.toString('utf8'));
    expect(plan.totalChunks).toBe(101);

    const viaWorker = open({ ...options, databasePath: join(dir, 'worker.db') });
    const inline = open({ ...options, databasePath: join(dir, 'inline.db'), compressInWorker: false });
    const a = await viaWorker.submitReport(report, { tenantId: 't' });
    const b = await inline.submitReport(report, { tenantId: 't' });
    expect(a).toEqual(b);
    expect(a.totalChunks).toBe(101);
    expect(await frames(viaWorker, 'uneven-1', 101)).toEqual(expected);
    expect(await frames(inline, 'uneven-1', 101)).toEqual(expected);
    // The checksums stored by the worker are those of the final (re-headed) JSON: reads verify them.
    const chunk0 = await viaWorker.decompressChunk('t', 'uneven-1', 0);
    expect(chunk0).toMatchObject({ chunk_index: 0, total_chunks: 101, is_final: false });
    const rows = viaWorker.sqlite
      .prepare('SELECT checksum FROM chunks WHERE report_id = ? ORDER BY chunk_index')
      .all('uneven-1') as { checksum: string }[];
    expect(rows.map((r) => r.checksum)).toEqual(expected.map((j) => sha256Hex(j)));
  });

  it('computes the same content hash on the worker as on this thread (a resubmit either way is a no-op)', async () => {
    const report = makeReport('hash-1', 1200, 32, 4);
    const first = open({ maxFindingsPerChunk: 100 });
    expect((await first.submitReport(report, { tenantId: 't' })).created).toBe(true);
    await first.close();
    const again = open({ maxFindingsPerChunk: 100, compressInWorker: false });
    expect((await again.submitReport(report, { tenantId: 't' })).created).toBe(false);
    const changed = structuredClone(report);
    changed.findings![1199]!.title = 'changed';
    await expect(again.submitReport(changed, { tenantId: 't' })).rejects.toMatchObject({
      code: 'REPORT_CONFLICT',
    });
  });

  it('close() waits for a submit in progress, which completes', async () => {
    const store = open({ maxFindingsPerChunk: 50 });
    const submitting = store.submitReport(makeReport('closing-1', 3000, 64), { tenantId: 't' });
    const closing = store.close();
    const res = await submitting;
    await closing;
    expect(res).toMatchObject({ created: true, totalChunks: 60 });
    const reopened = open({ maxFindingsPerChunk: 50 });
    expect((await reopened.getStats('t')).chunks.pending).toBe(60);
  });

  it('keeps the event loop turning while it serialises a large report', async () => {
    const store = open({ maxFindingsPerChunk: 100 });
    let ticks = 0;
    const timer = setInterval(() => (ticks += 1), 1);
    try {
      await store.submitReport(makeReport('loop-1', 20_000, 64), { tenantId: 't' });
    } finally {
      clearInterval(timer);
    }
    expect(ticks).toBeGreaterThan(0);
  });

  it('refuses a report of more than 10,000 chunks with REPORT_TOO_LARGE, its guesses capped', async () => {
    // 100,001 one-finding chunks: after chunk 0 the guess would have 6 digits.
    const store = open({ maxFindingsPerChunk: 1 });
    const findings: Finding[] = Array.from({ length: 100_001 }, (_, i) => ({
      type: 'code',
      title: `${i}`,
      severity: 'low',
    }));
    const report: Report = { version: '1.0', metadata: { id: 'huge-1', timestamp: 't' }, findings };
    await expect(store.submitReport(report, { tenantId: 't' })).rejects.toMatchObject({
      code: 'REPORT_TOO_LARGE',
    });
    expect((await store.getStats('t')).reports.pending).toBe(0);
  });

  it('checkpoints the WAL on the worker after a big commit, and still closes cleanly', async () => {
    const debug: string[] = [];
    const logger = {
      debug: (_o: unknown, msg?: string) => debug.push(String(msg)),
      info: () => {},
      warn: () => {},
      error: () => {},
    };
    const path = join(dir, 'ckpt.db');
    const store = open({ databasePath: path, maxFindingsPerChunk: 50, logger });
    await store.submitReport(makeReport('ckpt-1', 2000, 64), { tenantId: 't' });
    // The automatic checkpoint was off for that commit only: the setting is back for every other commit.
    expect(store.sqlite.pragma('wal_autocheckpoint', { simple: true })).toBe(1000);
    await vi.waitFor(() => expect(debug).toContain('WAL checkpointed off the main thread'), {
      timeout: 10_000,
    });
    // Nothing left to copy: the worker's PASSIVE checkpoint took every frame.
    const [left] = store.sqlite.pragma('wal_checkpoint(PASSIVE)') as { log: number; checkpointed: number }[];
    expect(left!.checkpointed).toBe(left!.log);
    await store.close();
    // SQLite removed the WAL file, as after any clean close (every connection to the file is closed).
    expect(existsSync(`${path}-wal`)).toBe(false);
  });

  it('checks the decompression limit again after a re-head made a chunk longer', async () => {
    // Chunk 0 holds two findings, every later one a single bigger finding: the count guessed after chunk 0
    // (1 + 12/2 = 7) has one digit, the real one (13) two, so chunk 0 grows by one byte when re-headed.
    const findings: Finding[] = [
      ...Array.from({ length: 2 }, (_, i) => ({
        type: 'code',
        title: `s${i}`,
        severity: 'low' as const,
        description: 'a'.repeat(900),
      })),
      ...Array.from({ length: 12 }, (_, i) => ({
        type: 'code',
        title: `b${i}`,
        severity: 'low' as const,
        description: randomBytes(750).toString('hex'),
      })),
    ];
    const report: Report = { version: '1.0', metadata: { id: 'rehead-1', timestamp: 't' }, findings };
    const limits = { maxFindingsPerChunk: 2, maxAssetsPerChunk: 100, maxChunkSizeBytes: 2500 };
    const plan = planSplit(report, limits);
    expect(plan.totalChunks).toBe(13);
    const final0 = plan.render(0).json.length;
    const store = open({
      ...limits,
      decompressionLimits: { maxCompressedBytes: 1_000_000, maxDecompressedBytes: final0 - 1, maxRatio: 100 },
    });
    await expect(store.submitReport(report, { tenantId: 't' })).rejects.toMatchObject({
      code: 'REPORT_TOO_LARGE',
      details: { chunkIndex: 0, originalBytes: final0 },
    });
  });
});

describe('the one read and the one background-failure event (issue 16)', () => {
  it("readChunk verifies the content by default and only the stored frame with verify: 'frame'", async () => {
    const store = open({ maxFindingsPerChunk: 3 });
    await store.submitReport(makeReport('rc', 9, 64), { tenantId: 't' });
    const full = await store.readChunk('t', { reportId: 'rc', chunkIndex: 1 });
    expect(full).toEqual(await store.readChunkBlob('t', 'rc', 1));
    expect(await store.readChunk('t', { reportId: 'rc', chunkIndex: 1 }, { verify: 'frame' })).toEqual(full);
    expect(await store.readChunk('B', { reportId: 'rc', chunkIndex: 1 })).toBeUndefined();
    // A wrong content checksum with an intact frame: only the full check can see it.
    store.sqlite
      .prepare(`UPDATE chunks SET checksum = ? WHERE report_id = 'rc' AND chunk_index = 2`)
      .run('0'.repeat(64));
    expect(
      (await store.readChunk('t', { reportId: 'rc', chunkIndex: 2 }, { verify: 'frame' }))?.chunkIndex,
    ).toBe(2);
    expect(
      isRediverError(
        await caught(store.readChunk('t', { reportId: 'rc', chunkIndex: 2 })),
        'CHECKSUM_MISMATCH',
      ),
    ).toBe(true);
    expect(
      isRediverError(
        await caught(store.readChunk('t', { reportId: 'rc', chunkIndex: 0 }, { verify: 'nope' as never })),
        'INVALID_OPTION',
      ),
    ).toBe(true);
  });

  it("reports a failed maintenance sweep as 'error' { source: 'maintenance' } (and the deprecated name)", async () => {
    vi.useFakeTimers();
    const store = open({ cleanupIntervalMinutes: 1 });
    const cause = new Error('disk went away');
    vi.spyOn(store, 'runRetentionCleanup').mockRejectedValue(cause);
    const errors: { code: string; source: string; cause: unknown }[] = [];
    const old = vi.fn();
    store.on('error', ({ error, source }) => errors.push({ code: error.code, source, cause: error.cause }));
    store.on('maintenance:error', old);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(errors).toEqual([{ code: 'INTERNAL', source: 'maintenance', cause }]);
    expect(old).toHaveBeenCalledWith({ error: cause });
    // @ts-expect-error emit is not public
    expect(typeof store.emit).toBe('function');
  });
});
