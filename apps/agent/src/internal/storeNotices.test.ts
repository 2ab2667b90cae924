// The notices of a damaged store and of an audit log the disk cannot take (issue 18, items 5 and 6): a real
// ChunkManager over a real SQLite file damaged under it, a real AuditLogger writing to /dev/full.
import { mkdtempSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AuditLogger } from '@rediver/audit';
import { ChunkManager, ChunkStore } from '@rediver/chunk';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { generateLargeReport } from '../synthetic';
import type { AuditEntry } from '../ports';
import { announceSetAside, watchAuditWrites, watchStoreDamage } from './storeNotices';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'agent-store-notices-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const uploader = { uploadChunk: () => Promise.reject(new Error('not used')) };

async function filledStore(path: string): Promise<void> {
  const store = new ChunkStore({ databasePath: path, cleanupIntervalMinutes: 0 });
  await store.submitReport(generateLargeReport({ reportId: 'kept-1', findings: 3000 }), { tenantId: 't' });
  await store.close();
}

it('a store set aside at open: one line and one ERROR audit line naming both files', async () => {
  const path = join(dir, 'chunks.db');
  await filledStore(path);
  truncateSync(path, 100_000);
  const manager = new ChunkManager({ databasePath: path, uploader, cleanupIntervalMinutes: 0 });
  try {
    const logged: AuditEntry[] = [];
    const said: string[] = [];
    announceSetAside(manager.store, { log: (e) => logged.push(e) }, (t) => said.push(t));
    const movedTo = manager.store.setAside[0]!.movedTo;
    expect(said).toEqual([expect.stringContaining(`the chunk store ${path} was damaged`)]);
    expect(said[0]).toContain(`moved aside to ${movedTo}`);
    expect(logged).toEqual([
      expect.objectContaining({
        type: 'agent_error',
        severity: 'ERROR',
        details: expect.objectContaining({ store: path, moved_to: movedTo }),
      }),
    ]);
  } finally {
    await manager.close();
  }
});

it('a store damaged while running: audited and said once, however many operations fail', async () => {
  const path = join(dir, 'chunks.db');
  await filledStore(path);
  const manager = new ChunkManager({ databasePath: path, uploader, cleanupIntervalMinutes: 0 });
  const logged: AuditEntry[] = [];
  const said: string[] = [];
  watchStoreDamage(manager.events, { log: (e) => logged.push(e) }, (t) => said.push(t));
  // Garbage over every page but the first, under the open connection (a failing disk, another writer).
  // eslint-disable-next-line rediver/no-internal-member -- fault injection: reads must reach the damaged file
  manager.store.sqlite.pragma('cache_size = 0');
  const bytes = readFileSync(path);
  bytes.fill(0x5a, 8192);
  writeFileSync(path, bytes.subarray(0, statSync(path).size));
  for (let i = 0; i < 3; i++) {
    await manager.store.decompressChunk('t', 'kept-1', i).catch(() => undefined);
    await manager.listReports('t').catch(() => undefined);
  }
  await manager.close();
  expect(said).toHaveLength(1);
  expect(said[0]).toMatch(new RegExp(`the chunk store ${path} is damaged \\(SQLITE_(CORRUPT|NOTADB)`));
  expect(logged).toEqual([
    expect.objectContaining({
      type: 'agent_error',
      severity: 'CRITICAL',
      details: expect.objectContaining({ store: path }),
    }),
  ]);
});

it.runIf(process.platform === 'linux')(
  'an audit log on a full disk is said once, not per failed write',
  async () => {
    // /dev/full accepts opens and fails every write with ENOSPC: a real full disk without mocks.
    const logger = new AuditLogger({ logFile: '/dev/full', bufferSize: 1 });
    const said: string[] = [];
    watchAuditWrites(logger, '/dev/full', (t) => said.push(t));
    logger.on('error', () => {});
    for (let i = 0; i < 3; i++) {
      logger.agentStart();
      await logger.flush().catch(() => undefined);
    }
    await logger.close().catch(() => undefined);
    expect(said).toEqual([expect.stringContaining('the audit log /dev/full cannot be written (DISK_FULL)')]);
  },
);
