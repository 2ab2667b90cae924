import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Finding } from '@rediver/core';
import { findingFingerprint, IngestStore } from './ingestStore';
import type { ChunkToApply } from './ingestStore';

const finding = (n: number, patch: Partial<Finding> = {}): Finding => ({
  type: 'secret',
  title: `leak ${n}`,
  severity: 'high',
  fingerprint: `fp-${n}`,
  ...patch,
});

const chunk = (patch: Partial<ChunkToApply> = {}): ChunkToApply => ({
  reportId: 'r1',
  chunkIndex: 0,
  totalChunks: 2,
  checksum: 'c0',
  idempotencyKey: undefined,
  tool: { name: 'gitleaks' },
  metadata: undefined,
  assets: [{ type: 'repository', value: 'repo' }],
  findings: [finding(1), finding(2)],
  compressedBytes: 10,
  decodedBytes: 20,
  ...patch,
});

const stores: IngestStore[] = [];
const open = (path = ':memory:') => {
  const s = new IngestStore(path);
  stores.push(s);
  return s;
};
afterEach(() => {
  for (const s of stores.splice(0)) void s.close();
});

describe('IngestStore chunks', () => {
  it('applies a chunk once: a repeat (same checksum) returns the first answer and changes nothing', () => {
    const s = open();
    const first = s.applyChunk('t1', chunk());
    expect(first).toMatchObject({
      statusCode: 201,
      replayed: false,
      body: { findings_created: 2, assets_created: 1, status: 'received' },
    });
    const again = s.applyChunk('t1', chunk());
    expect(again.replayed).toBe(true);
    expect(again.body).toEqual(first.body);
    const t = s.stats('t1').tenants[0]!;
    expect(t.totals).toMatchObject({ chunks: 1, findings: 2, findingsReceived: 2 });
    expect(t.reports[0]).toMatchObject({
      reportId: 'r1',
      chunksReceived: 1,
      totalChunks: 2,
      complete: false,
    });
  });

  it('replays by Idempotency-Key and refuses a key reused for other content (409)', () => {
    const s = open();
    const first = s.applyChunk('t1', chunk({ idempotencyKey: 'k0' }));
    expect(s.applyChunk('t1', chunk({ idempotencyKey: 'k0' })).body).toEqual(first.body);
    expect(() => s.applyChunk('t1', chunk({ idempotencyKey: 'k0', chunkIndex: 1, checksum: 'c1' }))).toThrow(
      expect.objectContaining({ code: 'REPORT_CONFLICT', status: 409 }),
    );
  });

  it('refuses the same index with different content and a changed chunk count (409)', () => {
    const s = open();
    s.applyChunk('t1', chunk());
    expect(() => s.applyChunk('t1', chunk({ checksum: 'other' }))).toThrow(
      expect.objectContaining({ status: 409 }),
    );
    expect(() => s.applyChunk('t1', chunk({ chunkIndex: 1, checksum: 'c1', totalChunks: 3 }))).toThrow(
      expect.objectContaining({ status: 409 }),
    );
  });

  it('completes a report when every chunk arrived and upserts findings by fingerprint', () => {
    const s = open();
    s.applyChunk('t1', chunk());
    const last = s.applyChunk(
      't1',
      chunk({ chunkIndex: 1, checksum: 'c1', findings: [finding(2), finding(3, { severity: 'low' })] }),
    );
    expect(last.body).toMatchObject({
      status: 'completed',
      findings_created: 1,
      findings_skipped: 1,
      findings_updated: 0,
    });
    const changed = s.applyReport('t1', {
      report: { metadata: { id: 'r2', timestamp: 'x' }, findings: [finding(3, { severity: 'critical' })] },
      idempotencyKey: undefined,
      bodyHash: 'h',
    });
    expect(changed.body).toMatchObject({ findings_updated: 1, findings_created: 0, errors: [] });
    expect(s.stats('t1').tenants[0]!.reports.map((r) => [r.reportId, r.complete])).toEqual([
      ['r1', true],
      ['r2', true],
    ]);
  });

  it('keeps tenants apart: same report id and fingerprints in two tenants are independent', () => {
    const s = open();
    s.applyChunk('t1', chunk());
    const other = s.applyChunk('t2', chunk({ checksum: 'different' }));
    expect(other.replayed).toBe(false);
    expect(other.body.findings_created).toBe(2);
    expect(s.checkFingerprints('t2', ['fp-1', 'nope'])).toEqual({ existing: ['fp-1'], missing: ['nope'] });
    expect(s.checkFingerprints('t3', ['fp-1'])).toEqual({ existing: [], missing: ['fp-1'] });
    expect(s.stats().tenants.map((t) => t.tenantId)).toEqual(['t1', 't2']);
  });

  it('derives a stable fingerprint for findings without one', () => {
    const f = {
      type: 'code',
      title: 'sqli',
      severity: 'high',
      rule_id: 'R1',
      location: { path: 'a.go', start_line: 4 },
    } as const;
    expect(findingFingerprint(f)).toBe(findingFingerprint({ ...f, description: 'changed' }));
    expect(findingFingerprint(f)).not.toBe(
      findingFingerprint({ ...f, location: { path: 'a.go', start_line: 5 } }),
    );
  });
});

describe('IngestStore whole reports', () => {
  it('replays a repeated ingest with the same Idempotency-Key and body, refuses the key with another body', () => {
    const s = open();
    const input = {
      report: { metadata: { id: 'r1', timestamp: 't' }, findings: [finding(1)] },
      idempotencyKey: 'k',
      bodyHash: 'h1',
    };
    const first = s.applyReport('t1', input);
    expect(s.applyReport('t1', input)).toEqual({ ...first, replayed: true });
    expect(() => s.applyReport('t1', { ...input, bodyHash: 'h2' })).toThrow(
      expect.objectContaining({ status: 409 }),
    );
    expect(s.stats('t1').tenants[0]!.totals.findingsReceived).toBe(1);
  });
});

describe('IngestStore commands', () => {
  it('hands out pending commands by priority, for the agent or unassigned, within the tenant', () => {
    const s = open();
    const low = s.enqueueCommand({ tenantId: 't1', type: 'scan', priority: 1 });
    const high = s.enqueueCommand({ tenantId: 't1', type: 'scan', priority: 9, payload: { target: '.' } });
    const mine = s.enqueueCommand({ tenantId: 't1', type: 'scan', agentId: 'a2' });
    s.enqueueCommand({ tenantId: 't2', type: 'scan' });
    expect(s.pendingCommands('t1', 'a1', 10).map((c) => c.id)).toEqual([high.id, low.id]);
    expect(s.pendingCommands('t1', 'a2', 10).map((c) => c.id)).toEqual([high.id, low.id, mine.id]);
    expect(s.pendingCommands('t1', 'a1', 1)).toHaveLength(1);
    expect(high.payload).toEqual({ target: '.' });
  });

  it('walks the lifecycle; repeats are no-ops; impossible moves are 409; other tenants get 404', () => {
    const s = open();
    const c = s.enqueueCommand({ tenantId: 't1', type: 'scan' });
    expect(() => s.transitionCommand('t1', c.id, 'complete')).toThrow(
      expect.objectContaining({ status: 409 }),
    );
    expect(() => s.transitionCommand('t2', c.id, 'acknowledge')).toThrow(
      expect.objectContaining({ status: 404, code: 'NOT_FOUND' }),
    );
    expect(s.transitionCommand('t1', c.id, 'acknowledge').status).toBe('acknowledged');
    expect(s.transitionCommand('t1', c.id, 'acknowledge').status).toBe('acknowledged');
    expect(s.pendingCommands('t1', undefined, 10)).toEqual([]);
    expect(s.transitionCommand('t1', c.id, 'start').status).toBe('running');
    expect(() => s.transitionCommand('t1', c.id, 'acknowledge')).toThrow(
      expect.objectContaining({ status: 409 }),
    );
    const done = s.transitionCommand('t1', c.id, 'complete', { result: { findings: 3 } });
    expect(done).toMatchObject({ status: 'completed', result: { findings: 3 } });
    expect(() => s.transitionCommand('t1', c.id, 'fail', { errorMessage: 'x' })).toThrow(
      expect.objectContaining({ status: 409 }),
    );
    const f = s.enqueueCommand({ tenantId: 't1', type: 'scan' });
    expect(s.transitionCommand('t1', f.id, 'fail', { errorMessage: 'boom' })).toMatchObject({
      status: 'failed',
      error_message: 'boom',
    });
    expect(s.stats('t1').tenants[0]!.totals.commands).toMatchObject({ completed: 1, failed: 1, pending: 0 });
  });

  it('does not hand out expired commands and reports them as expired', () => {
    let now = 1_000_000;
    const s = new IngestStore(':memory:', { now: () => now });
    stores.push(s);
    const c = s.enqueueCommand({ tenantId: 't1', type: 'scan', expiresAt: now + 1000 });
    expect(s.pendingCommands('t1', undefined, 10)).toHaveLength(1);
    now += 1000;
    expect(s.pendingCommands('t1', undefined, 10)).toHaveLength(0);
    expect(s.getCommand('t1', c.id)!.status).toBe('expired');
    expect(() => s.transitionCommand('t1', c.id, 'acknowledge')).toThrow(
      expect.objectContaining({ status: 409 }),
    );
  });
});

describe('IngestStore on a file', () => {
  it('keeps data across reopen (what the CLI stats command reads)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ingest-store-'));
    try {
      const path = join(dir, 'ingest.db');
      const a = new IngestStore(path);
      a.applyChunk('t1', chunk());
      a.recordHeartbeat('t1', 'agent-1', { status: 'online' });
      void a.close();
      void a.close();
      const b = open(path);
      expect(b.stats('t1').tenants[0]!.totals).toMatchObject({ chunks: 1, agents: 1, heartbeats: 1 });
      expect(b.lastHeartbeat('t1', 'agent-1')).toMatchObject({ body: { status: 'online' }, count: 1 });
      void b.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('IngestStore finding index (a million findings without a unique SQLite index)', () => {
  it('a reopened database knows its findings: the same findings again are skipped, not created', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ingest-store-index-'));
    try {
      const path = join(dir, 'ingest.db');
      const first = new IngestStore(path);
      expect(first.applyChunk('t1', chunk()).body.findings_created).toBe(2);
      void first.close();
      const again = open(path);
      const answer = again.applyChunk('t1', chunk({ reportId: 'r2', checksum: 'other' }));
      expect(answer.body).toMatchObject({ findings_created: 0, findings_skipped: 2 });
      expect(again.checkFingerprints('t1', ['fp-1', 'fp-3'])).toEqual({
        existing: ['fp-1'],
        missing: ['fp-3'],
      });
      expect(again.db.prepare('SELECT COUNT(*) AS n FROM findings').get()).toEqual({ n: 2 });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a finding repeated inside one chunk is stored once', () => {
    const s = open();
    const answer = s.applyChunk(
      't1',
      chunk({ findings: [finding(7), finding(7), finding(7, { title: 'changed' })] }),
    );
    expect(answer.body).toMatchObject({ findings_created: 1, findings_skipped: 1, findings_updated: 1 });
    expect(s.db.prepare('SELECT title FROM findings').all()).toEqual([{ title: 'changed' }]);
  });

  it('a chunk refused after the findings were written leaves no trace in the index', () => {
    const s = open();
    s.applyChunk('t1', chunk({ reportId: 'whole-first', totalChunks: 1 }));
    // The chunks table refuses a second row for (t1, r9, 0) only after the findings were inserted.
    s.db.exec(
      "CREATE TRIGGER refuse_chunk BEFORE INSERT ON chunks WHEN NEW.report_id = 'r9' BEGIN SELECT RAISE(ABORT, 'no'); END",
    );
    expect(() => s.applyChunk('t1', chunk({ reportId: 'r9', findings: [finding(90)] }))).toThrow('no');
    expect(s.checkFingerprints('t1', ['fp-90'])).toEqual({ existing: [], missing: ['fp-90'] });
    s.db.exec('DROP TRIGGER refuse_chunk');
    expect(s.applyChunk('t1', chunk({ reportId: 'r9', findings: [finding(90)] })).body.findings_created).toBe(
      1,
    );
  });
});
