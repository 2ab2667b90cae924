// The streaming submit (issue 13): a report fed finding by finding is cut, compressed and written to SQLite as its
// chunks fill, stays invisible until committed, gives the same chunks as submitReport byte for byte, and is
// idempotent by content. Real SQLite files, real zstd frames (decoded by fzstd and by the zstd CLI).
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Finding, Report } from '@rediver/core';
import { isRediverError } from '@rediver/core';
import { decompress } from 'fzstd';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { makeReport, tempDir, within } from '@rediver/testkit';
import type { TempDir } from '@rediver/testkit';
import { ChunkStore } from '../src/chunkStore';
import type { ChunkStoreOptions } from '../src/options';
import { sha256Hex } from '../src/internal/checksum';
import { reassembleChunks } from '../src/internal/split';
import type { StoredChunkData } from '../src/internal/split';
import type { ReportHeader } from '../src/reportWriter';
import { memoryUploader } from './helpers/memoryUploader';
import { openManager } from './helpers/harness';

let dir: TempDir;
const stores: ChunkStore[] = [];

beforeEach(() => {
  dir = tempDir('rediver-chunk-stream-');
});

afterEach(async () => {
  await Promise.all(stores.splice(0).map((s) => s.close()));
  await dir.cleanup();
});

function open(name: string, options: ChunkStoreOptions = {}): ChunkStore {
  const s = new ChunkStore({ databasePath: join(dir.path, name), cleanupIntervalMinutes: 0, ...options });
  stores.push(s);
  return s;
}

function split(report: Report): { header: ReportHeader; findings: Finding[] } {
  const { findings, ...header } = report;
  return { header, findings: findings ?? [] };
}

async function allData(store: ChunkStore, reportId: string, total: number): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for (let i = 0; i < total; i++) out.push(Buffer.from((await store.readChunkBlob('t', reportId, i))!.data));
  return out;
}

async function* slowly(findings: Finding[]): AsyncGenerator<Finding> {
  for (let i = 0; i < findings.length; i++) {
    if (i % 97 === 0) await new Promise<void>((resolve) => setImmediate(resolve));
    yield findings[i]!;
  }
}

describe('streaming submit', () => {
  it.each([
    ['one finding at a time, on the worker', true, 'each'],
    ['batches of 333, on this thread', false, 'batches'],
    ['an async iterable, on the worker', true, 'iterable'],
  ] as const)('stores the same chunks as submitReport, byte for byte: %s', async (_name, worker, how) => {
    const report = makeReport('same-bytes', { findings: 2345, noiseBytes: 40, assets: 7 });
    const options = { maxFindingsPerChunk: 100, maxChunkSizeBytes: 64 * 1024, compressInWorker: worker };
    const whole = open('whole.db', options);
    const streamed = open('streamed.db', options);
    const a = await whole.submitReport(report, { tenantId: 't' });
    const { header, findings } = split(report);
    const w = await streamed.beginReport({ tenantId: 't', header });
    if (how === 'each') for (const f of findings) void w.addFinding(f);
    else if (how === 'batches')
      for (let i = 0; i < findings.length; i += 333) await w.addFindings(findings.slice(i, i + 333));
    else await w.addAll(slowly(findings));
    const b = await w.commit();
    expect(b).toEqual(a);
    expect(w.state).toBe('committed');
    expect(await allData(streamed, 'same-bytes', b.totalChunks)).toEqual(
      await allData(whole, 'same-bytes', a.totalChunks),
    );
    // Whole JSON checksummed; the report reassembles.
    const chunks: StoredChunkData[] = [];
    for (let i = 0; i < b.totalChunks; i++)
      chunks.push((await streamed.decompressChunk('t', 'same-bytes', i))!);
    expect(reassembleChunks(chunks)).toEqual(report);
    expect(chunks.at(-1)).toMatchObject({ is_final: true, total_chunks: b.totalChunks });
    // Same content again (either way): a no-op.
    expect(await whole.submitReport(report, { tenantId: 't' })).toEqual({ ...a, created: false });
  });

  it('writes two concatenated standard zstd frames per chunk that fzstd and the zstd CLI decode, checksums holding', async (ctx) => {
    const store = open('frames.db', { maxFindingsPerChunk: 10 });
    const w = await store.beginReport({
      tenantId: 't',
      header: split(makeReport('frames', { findings: 0 })).header,
    });
    await w.addFindings(split(makeReport('frames', { findings: 35 })).findings);
    const res = await w.commit();
    expect(res.totalChunks).toBe(4);
    const blob = (await store.readChunkFrame('t', 'frames', 1))!;
    const json = Buffer.from(decompress(blob.data));
    expect(sha256Hex(json)).toBe(blob.checksum);
    expect(json.toString().endsWith(`,"total_chunks":4,"is_final":false}`)).toBe(true);
    // Two frames: the body's magic number at 0 and the tail's further on.
    const magic = Buffer.from([0x28, 0xb5, 0x2f, 0xfd]);
    expect(Buffer.from(blob.data).indexOf(magic, 4)).toBeGreaterThan(4);
    let cli: Buffer;
    try {
      const file = join(dir.path, 'chunk1.zst');
      writeFileSync(file, blob.data);
      cli = execFileSync('zstd', ['-d', '-c', '-q', file]);
    } catch {
      ctx.skip('the zstd CLI is not installed (apt-get install zstd)');
      return;
    }
    expect(cli.equals(json)).toBe(true);
  });

  it('writes chunks as they fill (staged, invisible) and makes the report visible only at commit', async () => {
    const m = openManager(dir.path, { uploader: memoryUploader(), maxFindingsPerChunk: 50 });
    try {
      void m.start();
      const { header, findings } = split(makeReport('invisible', { findings: 1000, noiseBytes: 64 }));
      const w = await m.beginReport({ tenantId: 't', header });
      // 650 findings: 13 chunks cut; chunk 0 waits for the final header (compressed at commit).
      await w.addFindings(findings.slice(0, 650));
      const staged = m.store.sqlite
        .prepare(`SELECT count(*) AS n FROM chunks WHERE status = 'staged'`)
        .get() as {
        n: number;
      };
      // On disk already: at least the chunks that filled, minus chunk 0 and the few still compressing.
      expect(staged.n).toBeGreaterThanOrEqual(7);
      const stats = await m.getStats('t');
      expect(stats.reports).toMatchObject({ pending: 0, uploading: 0 });
      expect(stats.chunks.pending).toBe(0);
      expect(stats.stagingReports).toBe(1);
      expect(stats.stagedBytes).toBeGreaterThan(0);
      expect(await m.getProgress('t', 'invisible')).toBeUndefined();
      expect(await m.listReports('t')).toEqual([]);
      expect(await m.store.readChunkBlob('t', 'invisible', 0)).toBeUndefined();
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect((await m.getStats()).upload.uploaded).toBe(0);
      const waiting = m.waitForReport('t', 'invisible'); // waits through staging
      await w.addFindings(findings.slice(650));
      const res = await w.commit();
      expect(res.totalChunks).toBe(20);
      expect(await within(waiting, 20_000, 'streamed report delivered')).toMatchObject({
        status: 'completed',
        uploadedChunks: 20,
      });
    } finally {
      await m.close();
    }
  });

  it('abort() discards every staged chunk; a failed writer refuses more findings', async () => {
    const store = open('abort.db', { maxFindingsPerChunk: 10 });
    const { header, findings } = split(makeReport('gone', { findings: 300, noiseBytes: 32 }));
    const w = await store.beginReport({ tenantId: 't', header });
    await w.addFindings(findings);
    await w.abort();
    expect(w.state).toBe('aborted');
    expect(store.sqlite.prepare('SELECT count(*) AS n FROM chunks').get()).toEqual({ n: 0 });
    expect(store.sqlite.prepare('SELECT count(*) AS n FROM chunk_blobs').get()).toEqual({ n: 0 });
    expect(store.sqlite.prepare('SELECT count(*) AS n FROM reports').get()).toEqual({ n: 0 });
    expect((await store.getStats()).stagedBytes).toBe(0);
    await expect(w.addFinding(findings[0]!)).rejects.toMatchObject({ code: 'CLOSED' });
    // A bad finding fails the writer and discards what was staged.
    const bad = await store.beginReport({
      tenantId: 't',
      header: { ...header, metadata: { ...header.metadata, id: 'bad' } },
    });
    await bad.addFindings(findings);
    const err = await bad
      .addFindings([null as unknown as Finding])
      .then(() => bad.commit())
      .catch((e: unknown) => e);
    expect(isRediverError(err, 'VALIDATION_FAILED')).toBe(true);
    expect(bad.state).toBe('failed');
    expect(store.sqlite.prepare('SELECT count(*) AS n FROM reports').get()).toEqual({ n: 0 });
  });

  it('is idempotent by content and refuses a second writer of the same id while one is open', async () => {
    const store = open('idem.db', { maxFindingsPerChunk: 10 });
    const report = makeReport('idem', { findings: 55 });
    const { header, findings } = split(report);
    const first = await store.beginReport({ tenantId: 't', header });
    await expect(store.beginReport({ tenantId: 't', header })).rejects.toMatchObject({
      code: 'REPORT_CONFLICT',
      details: { inProgress: true },
    });
    await first.addFindings(findings);
    const a = await first.commit();
    const again = await store.beginReport({ tenantId: 't', header });
    await again.addFindings(findings);
    expect(await again.commit()).toEqual({ ...a, created: false });
    const changed = await store.beginReport({ tenantId: 't', header });
    await changed.addFindings([...findings.slice(0, 54), { ...findings[54]!, title: 'changed' }]);
    await expect(changed.commit()).rejects.toMatchObject({ code: 'REPORT_CONFLICT' });
    expect((await store.getStats('t')).reports.pending).toBe(1);
  });

  it('holds the quota while streaming: refuses with STORAGE_QUOTA mid-stream, keeping everything accepted before', async () => {
    const probe = open('probe.db', { maxFindingsPerChunk: 10 });
    const size = (
      await probe.submitReport(makeReport('probe', { findings: 40, noiseBytes: 400 }), { tenantId: 'x' })
    ).compressedBytes;
    const store = open('quota.db', { maxFindingsPerChunk: 10, maxStorageMB: (size * 1.5) / (1024 * 1024) });
    const full = vi.fn();
    store.on('storage:full', full);
    await store.submitReport(makeReport('kept', { findings: 40, noiseBytes: 400 }), { tenantId: 't' });
    const { header, findings } = split(makeReport('too-much', { findings: 400, noiseBytes: 400 }));
    const w = await store.beginReport({ tenantId: 't', header });
    const err = await w
      .addFindings(findings)
      .then(() => w.commit())
      .catch((e: unknown) => e);
    expect(isRediverError(err, 'STORAGE_QUOTA')).toBe(true);
    expect((err as { retryable: boolean }).retryable).toBe(false);
    expect(full).toHaveBeenCalledWith(expect.objectContaining({ action: 'rejected', reportId: 'too-much' }));
    const stats = await store.getStats('t');
    expect(stats).toMatchObject({ stagedBytes: 0, stagingReports: 0, quotaRejections: 1 });
    expect(stats.reports.pending).toBe(1);
    expect(stats.storedBytes).toBeLessThanOrEqual(stats.maxStorageBytes);
    expect((await store.decompressChunk('t', 'kept', 3))?.chunk_index).toBe(3);
  });

  it('discards at open what a writer left staged (a crash), never what a live writer is writing', async () => {
    const path = 'left.db';
    const store = open(path, { maxFindingsPerChunk: 10 });
    const { header, findings } = split(makeReport('left', { findings: 200, noiseBytes: 32 }));
    const w = await store.beginReport({ tenantId: 't', header });
    await w.addFindings(findings);
    // A second store on the same file in this process: the writer is alive, its staging stays.
    const other = open(path);
    expect((await other.getStats()).stagingReports).toBe(1);
    await other.close();
    // As a killed process leaves it: staged by a pid that no longer runs.
    store.sqlite.prepare(`UPDATE reports SET staged_by = 2147483646 WHERE status = 'staging'`).run();
    const reopened = open(path);
    expect((await reopened.getStats()).stagingReports).toBe(0);
    expect(reopened.sqlite.prepare('SELECT count(*) AS n FROM chunk_blobs').get()).toEqual({ n: 0 });
    await expect(w.commit()).rejects.toMatchObject({ code: 'INTERNAL' });
  });

  describe('a header final only at commit (commit({ header }))', () => {
    /** The provisional header a scanner knows before its results, and the final one known after them. */
    function headers(reportId: string, summaryBytes: number): { first: ReportHeader; last: ReportHeader } {
      const { header } = split(makeReport(reportId, { findings: 0, assets: 3 }));
      return {
        first: { ...header, metadata: { ...header.metadata, coverage_type: 'full' } },
        last: {
          ...header,
          metadata: { ...header.metadata, coverage_type: 'partial' },
          properties: { scan_summary: { results: 1234, notes: 'n'.repeat(summaryBytes) } },
        },
      };
    }

    it.each([
      ['on the worker', true],
      ['on this thread', false],
    ] as const)(
      'stores the same chunks as submitReport of the final report, byte for byte, chunk 0 by size too: %s',
      async (_name, worker) => {
        // Findings of ~1.3 KB and 16 KiB chunks: chunk 0 is cut by size, so where it ends would depend on the
        // header's size if it were not planned with room for it.
        const { findings } = split(makeReport('final-head', { findings: 700, noiseBytes: 1200, assets: 3 }));
        const { first, last } = headers('final-head', 900);
        const options = { maxChunkSizeBytes: 16 * 1024, compressInWorker: worker };
        const whole = open('whole.db', options);
        const streamed = open('streamed.db', options);
        const a = await whole.submitReport({ ...last, findings }, { tenantId: 't' });
        const w = await streamed.beginReport({ tenantId: 't', header: first });
        await w.addAll(slowly(findings));
        const b = await w.commit({ header: last });
        expect(b).toEqual(a);
        expect(a.totalChunks).toBeGreaterThan(50);
        const data = await allData(streamed, 'final-head', b.totalChunks);
        expect(data).toEqual(await allData(whole, 'final-head', a.totalChunks));
        const chunks: StoredChunkData[] = [];
        for (let i = 0; i < b.totalChunks; i++)
          chunks.push((await streamed.decompressChunk('t', 'final-head', i))!);
        expect(chunks[0]!.metadata?.coverage_type).toBe('partial');
        expect(chunks[0]!.properties).toEqual(last.properties);
        expect(reassembleChunks(chunks)).toEqual({ ...last, findings });
        for (const d of data) expect(decompress(d).length).toBeLessThanOrEqual(16 * 1024);
        // The same report resubmitted whole or streamed again is the same content: nothing written.
        expect(await streamed.submitReport({ ...last, findings }, { tenantId: 't' })).toEqual({
          ...a,
          created: false,
        });
        const again = await whole.beginReport({ tenantId: 't', header: first });
        await again.addFindings(findings);
        expect(await again.commit({ header: last })).toEqual({ ...a, created: false });
        // Another final header is other content.
        const other = await whole.beginReport({ tenantId: 't', header: first });
        await other.addFindings(findings);
        await expect(other.commit()).rejects.toMatchObject({ code: 'REPORT_CONFLICT' });
      },
    );

    it('a final header bigger than the room chunk 0 kept makes chunk 0 oversize (flagged), nothing else', async () => {
      const store = open('big-head.db', { maxChunkSizeBytes: 16 * 1024 });
      const oversize = vi.fn();
      store.on('chunk:oversize', oversize);
      const { findings } = split(makeReport('big-head', { findings: 200, noiseBytes: 1200, assets: 3 }));
      const { first, last } = headers('big-head', 6000); // the room is 2 KiB at 16 KiB chunks
      const w = await store.beginReport({ tenantId: 't', header: first });
      await w.addFindings(findings);
      const res = await w.commit({ header: last });
      expect(oversize).toHaveBeenCalledTimes(1);
      expect(oversize).toHaveBeenCalledWith(expect.objectContaining({ reportId: 'big-head', chunkIndex: 0 }));
      const chunks: StoredChunkData[] = [];
      for (let i = 0; i < res.totalChunks; i++)
        chunks.push((await store.decompressChunk('t', 'big-head', i))!);
      expect(reassembleChunks(chunks)).toEqual({ ...last, findings });
      const frames = await allData(store, 'big-head', res.totalChunks);
      expect(decompress(frames[0]!).length).toBeGreaterThan(16 * 1024);
      for (const f of frames.slice(1)) expect(decompress(f).length).toBeLessThanOrEqual(16 * 1024);
    });

    it('refuses a final header with another id, other assets or findings, and discards the report', async () => {
      const store = open('bad-head.db', { maxFindingsPerChunk: 10 });
      const { findings } = split(makeReport('bad-head', { findings: 30, assets: 3 }));
      const { first, last } = headers('bad-head', 10);
      const cases: ReportHeader[] = [
        { ...last, metadata: { ...last.metadata, id: 'another' } },
        { ...last, assets: [{ id: 'x', type: 'host', value: 'h' }] },
        { ...last, findings } as ReportHeader,
      ];
      for (const header of cases) {
        const w = await store.beginReport({ tenantId: 't', header: first });
        await w.addFindings(findings);
        await expect(w.commit({ header })).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
        expect(w.state).toBe('failed');
      }
      expect((await store.getStats('t')).stagingReports).toBe(0);
      const ok = await store.beginReport({ tenantId: 't', header: first });
      await ok.addFindings(findings);
      expect((await ok.commit({ header: { ...last, assets: first.assets } })).created).toBe(true);
    });

    it('recognises a report stored by an earlier version (its content hash put chunk 0 fields first)', async () => {
      const store = open('legacy.db', { maxFindingsPerChunk: 10 });
      const report = makeReport('legacy', { findings: 25, assets: 2 });
      await store.submitReport(report, { tenantId: 't' });
      // The earlier definition, written out: version line, chunk 0's fields, assets, findings.
      const { findings = [], assets = [] } = report;
      let extras = '';
      for (const key of ['tool', 'metadata', 'version', '$schema', 'dependencies', 'properties'] as const) {
        const value = (report as unknown as Record<string, unknown>)[key];
        if (value !== undefined) extras += `,${JSON.stringify(key)}:${JSON.stringify(value)}`;
      }
      const v1 = createHash('sha256')
        .update(`rediver-report-content-v1\n${extras}\n`)
        .update(assets.map((a) => `${JSON.stringify(a)},`).join('') + '\n')
        .update(findings.map((f) => `${JSON.stringify(f)},`).join(''))
        .digest('hex');
      store.sqlite.prepare(`UPDATE reports SET content_hash = ? WHERE report_id = 'legacy'`).run(v1);
      expect((await store.submitReport(report, { tenantId: 't' })).created).toBe(false);
      const changed = { ...report, findings: [...findings.slice(1)] };
      await expect(store.submitReport(changed, { tenantId: 't' })).rejects.toMatchObject({
        code: 'REPORT_CONFLICT',
      });
    });
  });
});
