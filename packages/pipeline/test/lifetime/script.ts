// A user's program on @rediver/pipeline with nothing else alive: it awaits each public promise in turn and
// prints one word per settled step. Run by test/lifetime.test.ts in a child process; it must print every step
// and exit 0 by itself (a timer a pending promise needs must keep the process alive).
import { RediverError } from '@rediver/core';
import type { Report, UploadResult } from '../../src/index';
import { UploadPipeline } from '../../src/index';

const steps: string[] = [];
const report = (id: string): Report => ({
  version: '1.0',
  metadata: { id, timestamp: '2026-01-01T00:00:00Z' },
});
const ok = (r: Report): UploadResult => ({
  reportId: r.metadata.id,
  assetsCreated: 0,
  assetsUpdated: 0,
  findingsCreated: 0,
  findingsUpdated: 0,
  findingsSkipped: 0,
});

// 1. flush() while a retry waits: the first attempt fails like a 503, nothing else is alive.
let attempts = 0;
const retrying = new UploadPipeline(
  {
    uploadReport: async (r) => {
      if (++attempts === 1) throw new RediverError('SERVER_ERROR', 'HTTP 503');
      return ok(r);
    },
  },
  { retryDelayMs: 100, retryJitterRatio: 0 },
);
retrying.submit(report('retried'));
await retrying.flush();
steps.push(`flushed-after-retry:${retrying.getStats().completed}`);
await retrying.close();

// 2. flush() while an attempt hangs: the uploader never settles, ignores its signal and holds no handle;
// only the pipeline's deadline timer can end the attempt (TIMEOUT, then the 1 s abort grace).
const hanging = new UploadPipeline(
  { uploadReport: () => new Promise<UploadResult>(() => {}) },
  { uploadTimeoutMs: 200, retryAttempts: 0 },
);
hanging.submit(report('hung'));
await hanging.flush();
steps.push(`flushed-after-timeout:${hanging.getStats().failed}`);

// 3. stop() with drain waits for the upload in flight (the uploader's own timer keeps it going).
const slow = new UploadPipeline({
  uploadReport: (r) => new Promise((resolve) => setTimeout(() => resolve(ok(r)), 50)),
});
slow.submit(report('slow'));
steps.push(`drained:${(await slow.stop()).length}`);

// 4. stop({ drain: false }) hands back what is in flight at once.
const stuck = new UploadPipeline({ uploadReport: () => new Promise<UploadResult>(() => {}) });
stuck.submit(report('stuck'));
await Promise.resolve();
steps.push(`handed-back:${(await stuck.stop({ drain: false })).length}`);

// 5. close() after stop: the same promise, settled.
await stuck.close();
await hanging.close();
steps.push('closed');
process.stdout.write(`${steps.join(' ')}\n`);
