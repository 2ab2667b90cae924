import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { AuditLogger, verifyAuditLog } from '../src/index';
import { tempDir } from '@rediver/testkit';
import { readLines } from './helpers';

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ path: dir, cleanup } = tempDir('rediver-audit-'));
});
afterEach(async () => {
  await cleanup();
});

it('keeps the call order of 10k events from concurrent async tasks, with flushes and rotations interleaved', async () => {
  const logger = new AuditLogger({
    logFile: join(dir, 'audit.log'),
    bufferSize: 37,
    maxSizeMB: 64 / 1024,
    hashChain: true,
  });
  const called: string[] = [];
  const tasks = 20;
  const perTask = 500;
  await Promise.all(
    Array.from({ length: tasks }, async (_, t) => {
      const job = logger.withContext({ jobId: `job-${t}` });
      for (let i = 0; i < perTask; i++) {
        const id = `${t}:${i}`;
        called.push(id);
        if (i % 97 === 0) job.error('scan_failed', id, new Error('x'));
        else job.info('chunk_uploaded', id, { i });
        if (i % 50 === 0) await job.flush();
        else if (i % 3 === 0) await Promise.resolve();
        else if (i % 7 === 0) await new Promise((r) => setImmediate(r));
      }
    }),
  );
  await logger.close();
  const result = await verifyAuditLog(dir);
  // Every rotation adds one record line opening the next file.
  expect(result).toMatchObject({ ok: true, lines: tasks * perTask + result.files.length - 1 });
  const messages: string[] = [];
  for (const f of result.files)
    for (const l of await readLines(f)) {
      const line = JSON.parse(l) as { type: string; message: string };
      if (line.type !== 'audit_rotated') messages.push(line.message);
    }
  expect(result.files.length).toBeGreaterThan(3);
  expect(messages).toEqual(called);
});
