// Issue 13: no statement on a per-chunk path reads blob pages or scans a report's chunks. SQLite's own query plans
// (EXPLAIN QUERY PLAN) of every such statement, on a real store with thousands of chunks: key lookups only.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeReport } from '@rediver/testkit';
import { ChunkStore } from '../chunkStore';
import { prepareStatements } from './uploadQueue';

let dir: string;
let store: ChunkStore;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'rediver-chunk-plans-'));
  store = new ChunkStore({
    databasePath: join(dir, 'chunks.db'),
    cleanupIntervalMinutes: 0,
    maxFindingsPerChunk: 1,
  });
  for (let r = 0; r < 4; r++)
    await store.submitReport(makeReport(`plan-${r}`, { findings: 1000 }), { tenantId: `t${r % 2}` });
  store.sqlite.exec('ANALYZE');
});

afterAll(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

function plan(sql: string): string[] {
  const params = (sql.match(/\?/g) ?? []).map(() => null);
  return (store.sqlite.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...params) as { detail: string }[]).map(
    (r) => r.detail,
  );
}

/** Every statement the engine runs once per chunk (claim, ack, retry, dead letter, progress, settle, drain). */
const PER_CHUNK = [
  'activeReports',
  'pickOfReport',
  'reportUploading',
  'nextDue',
  'outstanding',
  'blobBytes',
  'uploaded',
  'dropBlob',
  'retry',
  'failed',
  'report',
  'reportStatus',
  'settleReport',
] as const;

describe('query plans of the per-chunk paths', () => {
  it.each(PER_CHUNK)('%s: no full scan of chunks or blobs, no sort', (name) => {
    const source = prepareStatements(store.sql)[name].source;
    const steps = plan(source);
    expect(steps.length).toBeGreaterThan(0);
    for (const step of steps) {
      expect(step, `${name}: ${source}`).not.toMatch(/^SCAN (chunks|chunk_blobs)\b(?! USING)/);
      expect(step, `${name}: ${source}`).not.toMatch(/TEMP B-TREE/);
    }
    // Only the blob drop touches chunk_blobs, by its key.
    const blobSteps = steps.filter((s) => s.includes('chunk_blobs'));
    if (name === 'dropBlob')
      expect(blobSteps).toEqual(['SEARCH chunk_blobs USING INTEGER PRIMARY KEY (rowid=?)']);
    else expect(blobSteps).toEqual([]);
  });

  it('stats and the quota check read the tenants counter rows only', async () => {
    const stats = plan('SELECT coalesce(sum(stored_bytes), 0) AS b FROM tenant_stats WHERE tenant_id = ?');
    expect(stats.join('\n')).toMatch(/tenant_stats/);
    expect(stats.join('\n')).not.toMatch(/chunks/);
    const s = await store.getStats('t0');
    expect(s.chunks.pending).toBe(2000);
    expect(s.reports.pending).toBe(2);
  });

  it('the counters agree with the rows they count', async () => {
    const rows = store.sqlite
      .prepare(
        `SELECT tenant_id, count(*) AS n, sum(compressed_bytes) AS b FROM chunks WHERE status = 'pending' GROUP BY tenant_id`,
      )
      .all() as { tenant_id: string; n: number; b: number }[];
    for (const r of rows) {
      const s = await store.getStats(r.tenant_id);
      expect(s.chunks.pending).toBe(r.n);
      expect(s.storedBytes).toBe(r.b);
    }
  });
});
