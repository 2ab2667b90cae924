import { createHash, randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { compress } from 'zstd-napi';
import { DEFAULT_DECOMPRESSION_LIMITS, silentLogger } from '@rediver/core';
import { runBodyJob } from './bodyJobs';
import type { BodyJob } from './bodyJobs';
import { BodyPool } from './bodyPool';
import type { BodyPoolOptions } from './bodyPool';

/** A description of `bytes` bytes that compresses about 8:1, like real text (not a bomb, not noise). */
function description(bytes: number): string {
  const words = randomBytes(Math.ceil(bytes / 16)).toString('hex');
  return `${words}${' the quick brown fox jumps over it'.repeat(Math.ceil(bytes / 34))}`.slice(0, bytes);
}

/** A chunk upload body: `findings` findings with `descriptionBytes` of description each. */
function chunkBody(reportId: string, findings: number, descriptionBytes = 100): Buffer {
  const data = {
    report_id: reportId,
    chunk_index: 0,
    total_chunks: 1,
    tool: { name: 'pool-test' },
    metadata: { id: reportId, timestamp: '2026-01-15T10:00:00Z' },
    findings: Array.from({ length: findings }, (_, i) => ({
      type: 'code',
      title: `finding ${i}`,
      severity: 'low',
      description: description(descriptionBytes),
      fingerprint: `${reportId}-${i}`,
    })),
    is_final: true,
  };
  const json = Buffer.from(JSON.stringify(data));
  return Buffer.from(
    JSON.stringify({
      report_id: reportId,
      chunk_index: 0,
      total_chunks: 1,
      compression: 'zstd',
      data: compress(json).toString('base64'),
      is_final: true,
      checksum: createHash('sha256').update(json).digest('hex'),
    }),
  );
}

const job = (body: Buffer): BodyJob => ({
  kind: 'chunk',
  body,
  scanned: false,
  chunkDataLimits: DEFAULT_DECOMPRESSION_LIMITS,
});

const pools: BodyPool[] = [];
function pool(options: Partial<BodyPoolOptions> = {}): BodyPool {
  const p = new BodyPool({
    workers: 1,
    maxWorkerHeapMb: 256,
    maxQueuedPerTenant: 64,
    inlineBytes: 0,
    logger: silentLogger,
    ...options,
  });
  pools.push(p);
  return p;
}

afterEach(async () => {
  await Promise.all(pools.splice(0).map((p) => p.close()));
});

describe('BodyPool', () => {
  it('gives on a worker exactly what the calling thread gives', async () => {
    const body = chunkBody('same', 50);
    const here = await runBodyJob(job(Buffer.from(body)));
    const p = pool();
    const there = await p.run('t', job(Buffer.from(body)));
    expect(there).toEqual(here);
    expect(p.counts).toEqual({ inline: 0, worker: 1 });
    expect(p.workers).toBe(1);
  });

  it('keeps small bodies on the calling thread and sends big ones to a worker', async () => {
    const p = pool({ inlineBytes: 256 * 1024 });
    await p.run('t', job(chunkBody('small', 10)));
    expect(p.counts).toEqual({ inline: 1, worker: 0 });
    // A small envelope whose data decodes past the budget goes to a worker too.
    const big = chunkBody('big', 2000, 400);
    expect(big.length).toBeLessThan(256 * 1024);
    const result = await p.run('t', job(big));
    expect(result.kind === 'chunk' && result.chunk.findings).toHaveLength(2000);
    expect(p.counts).toEqual({ inline: 1, worker: 1 });
  });

  it('passes a refusal from the worker on as the same 4xx', async () => {
    const p = pool();
    const bad = Buffer.from(
      JSON.stringify({ report_id: 'x y', chunk_index: 0, total_chunks: 1, data: 'AAAA' }),
    );
    await expect(p.run('t', job(bad))).rejects.toMatchObject({ code: 'REPORT_ID_INVALID', status: 400 });
  });

  it('serves tenants round-robin: a flood from one does not delay another', async () => {
    const p = pool();
    const order: string[] = [];
    const flood = Array.from({ length: 6 }, (_, i) =>
      p.run('flood', job(chunkBody(`flood-${i}`, 300))).then(() => order.push(`flood-${i}`)),
    );
    const other = p.run('other', job(chunkBody('other', 10))).then(() => order.push('other'));
    await Promise.all([...flood, other]);
    // The first flood job was already on the worker; the other tenant's comes next, not seventh.
    expect(order.indexOf('other')).toBeLessThanOrEqual(2);
  });

  it("answers 429 once a tenant's queue is full, without touching other tenants", async () => {
    const p = pool({ maxQueuedPerTenant: 2 });
    const runs = Array.from({ length: 5 }, (_, i) => p.run('greedy', job(chunkBody(`g-${i}`, 200))));
    const settled = await Promise.allSettled(runs);
    const refused = settled.filter((s): s is PromiseRejectedResult => s.status === 'rejected');
    expect(refused.length).toBeGreaterThan(0);
    for (const r of refused) expect(r.reason).toMatchObject({ code: 'RATE_LIMITED', status: 429 });
    await expect(p.run('polite', job(chunkBody('polite', 5)))).resolves.toMatchObject({ kind: 'chunk' });
  });

  it('refuses a body that needs more than a worker heap with a 413, and replaces the worker', async () => {
    const p = pool({ maxWorkerHeapMb: 48 });
    // 20,000 findings of 40 small properties: 900,000 values (within every content bound) in 8 MiB of JSON,
    // which take far more than 48 MiB once parsed and serialised again; no single allocation is near 48 MiB.
    const report = {
      version: '1.0',
      metadata: { id: 'huge', timestamp: '2026-01-15T10:00:00Z' },
      findings: Array.from({ length: 20_000 }, (_, i) => ({
        type: 'code',
        title: `finding ${i}`,
        severity: 'low',
        properties: Object.fromEntries(Array.from({ length: 40 }, (_, k) => [`p${k}`, `${k}-${i}`])),
      })),
    };
    const body = Buffer.from(JSON.stringify(report));
    await expect(p.run('t', { kind: 'report', body, scanned: false })).rejects.toMatchObject({
      code: 'REPORT_TOO_LARGE',
      status: 413,
      message: expect.stringContaining('48 MiB of memory'),
    });
    await expect(p.run('t', job(chunkBody('after', 5)))).resolves.toMatchObject({ kind: 'chunk' });
  });

  it('refuses waiting jobs with CLOSED when closed', async () => {
    const p = pool();
    const running = p.run('t', job(chunkBody('c-0', 300)));
    const waiting = p.run('t', job(chunkBody('c-1', 300)));
    await p.close();
    await expect(waiting).rejects.toMatchObject({ code: 'CLOSED', status: 503 });
    await running.catch(() => {});
    await expect(p.run('t', job(chunkBody('c-2', 1)))).rejects.toMatchObject({ code: 'CLOSED' });
  });
});
