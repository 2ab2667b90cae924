import { randomBytes } from 'node:crypto';
import { isRediverError, silentLogger } from '@rediver/core';
import { decompress } from 'fzstd';
import { afterEach, describe, expect, it } from 'vitest';
import { sha256Hex, sha256Stream } from './checksum';
import { BufferPool, CompressionWorkerLost, InlineCompression, WorkerCompression } from './compress';
import type { ChunkCompression } from './compress';

const backends: ChunkCompression[] = [];
afterEach(async () => {
  await Promise.all(backends.splice(0).map((b) => b.close()));
});

function worker(pool?: BufferPool): WorkerCompression {
  const w = new WorkerCompression(3, silentLogger, pool);
  backends.push(w);
  return w;
}

/** A buffer over memory of its own (transferable), holding `text`. */
function own(text: string): Buffer {
  const b = Buffer.allocUnsafeSlow(Buffer.byteLength(text));
  b.write(text);
  return b;
}

const json = (i: number): string =>
  JSON.stringify({ report_id: 'r', chunk_index: i, findings: [{ title: `t${i}`, d: 'x'.repeat(5000) }] });

describe('chunk compression backends', () => {
  it('give the same frames, checksums and content hash on a worker thread as on this one', async () => {
    const inline = new InlineCompression(3);
    const w = worker();
    expect(w.available()).toBe(true);
    const prefix = Buffer.from('prefix\n');
    const hi = inline.beginHash(prefix);
    const hw = w.beginHash(prefix);
    const expected = sha256Stream().update(prefix);
    for (let i = 0; i < 5; i++) {
      const text = json(i);
      const at = text.indexOf('[') + 1;
      const end = text.lastIndexOf(']');
      expected.update(text.slice(at, end)).update(',');
      const a = await inline.compress(Buffer.from(text), false, { hash: hi, at, end });
      const b = await w.compress(own(text), true, { hash: hw, at, end });
      expect(Buffer.compare(a.data, b.data)).toBe(0);
      expect(b.checksum).toBe(sha256Hex(text));
      expect(a.checksum).toBe(b.checksum);
      expect(b.frameChecksum).toBe(sha256Hex(b.data));
      expect(b.originalBytes).toBe(Buffer.byteLength(text));
      expect(Buffer.from(decompress(b.data)).toString()).toBe(text);
    }
    const hex = expected.digest('hex');
    expect(await inline.endHash(hi)).toBe(hex);
    expect(await w.endHash(hw)).toBe(hex);
  });

  it('keeps chunk hashes open until the tail is known, then gives the checksums of the whole JSON', async () => {
    const inline = new InlineCompression(3);
    const w = worker();
    const body = (i: number): string => `{"report_id":"r","chunk_index":${i},"findings":[{"a":${i}}]`;
    const tail = Buffer.from(',"total_chunks":3,"is_final":false}');
    const lastTail = Buffer.from(',"total_chunks":3,"is_final":true}');
    for (const b of [inline, w]) {
      const hash = b.beginHash(Buffer.from('p'));
      for (let i = 0; i < 3; i++) {
        const text = body(i);
        const c = await b.compress(own(text), true, { hash, at: 0, end: 0, index: i });
        expect(c.checksum).toBe('');
        expect(Buffer.from(decompress(c.data)).toString()).toBe(text);
        expect(c.frameChecksum).toBe(sha256Hex(c.data));
      }
      expect(await b.finishChunks(hash, tail, lastTail, 2)).toEqual([
        sha256Hex(body(0) + tail.toString()),
        sha256Hex(body(1) + tail.toString()),
        sha256Hex(body(2) + lastTail.toString()),
      ]);
      // Forgotten once finished.
      await expect(b.finishChunks(hash, tail, lastTail, 0)).rejects.toThrow(/no open hash for chunk 0/);
    }
  });

  it('takes a transferable buffer (it is detached here) and hands its memory back to the pool', async () => {
    const pool = new BufferPool(4);
    const w = worker(pool);
    const input = pool.take(100_000);
    input.fill(0x61);
    const memory = input.buffer;
    await w.compress(input, true);
    expect(input.length).toBe(0); // transferred, not copied
    const next = pool.take(90_000);
    expect(next.buffer).not.toBe(memory); // a new wrapper…
    expect(next.buffer.byteLength).toBeGreaterThanOrEqual(100_000); // …over the memory the worker returned
  });

  it('copies a buffer that is not transferable (Buffer pool memory stays usable here)', async () => {
    const w = worker();
    const small = Buffer.from('{"a":"pooled"}'); // from Buffer's shared pool
    const r = await w.compress(small, false);
    expect(small.toString()).toBe('{"a":"pooled"}');
    expect(Buffer.from(decompress(r.data)).toString()).toBe('{"a":"pooled"}');
  });

  it('rejects work in flight with CompressionWorkerLost when the worker dies, and is unavailable after', async () => {
    const w = worker();
    w.beginHash(undefined as unknown as Buffer); // the worker throws outside any job: it dies
    const jobs = Array.from({ length: 4 }, () => w.compress(own(randomBytes(200_000).toString('hex')), true));
    const results = await Promise.allSettled(jobs);
    expect(results.every((r) => r.status === 'rejected')).toBe(true);
    for (const r of results) {
      const reason = (r as PromiseRejectedResult).reason as unknown;
      expect(reason).toBeInstanceOf(CompressionWorkerLost);
      expect(isRediverError(reason, 'INTERNAL')).toBe(true);
    }
    expect(w.available()).toBe(false);
    await expect(w.compress(own('{}'), true)).rejects.toBeInstanceOf(CompressionWorkerLost);
  });

  it('finishes the work it holds before close() stops it', async () => {
    const w = worker();
    const jobs = Array.from({ length: 4 }, () => w.compress(own(randomBytes(100_000).toString('hex')), true));
    await w.close();
    const results = await Promise.allSettled(jobs);
    expect(results.every((r) => r.status === 'fulfilled')).toBe(true);
    expect(w.available()).toBe(false);
  });

  it('reports a failure inside the worker as a typed error for that job only', async () => {
    const w = worker();
    await expect(w.endHash(12345)).rejects.toThrow(/no content hash 12345/);
    const ok = await w.compress(own('{"still":"works"}'), true);
    expect(Buffer.from(decompress(ok.data)).toString()).toBe('{"still":"works"}');
  });
});

describe('BufferPool', () => {
  it('hands out the smallest free buffer that fits, else a new one with some slack', () => {
    const pool = new BufferPool(2);
    const a = Buffer.allocUnsafeSlow(1000);
    const b = Buffer.allocUnsafeSlow(5000);
    pool.give(b.buffer);
    pool.give(a.buffer);
    pool.give(Buffer.allocUnsafeSlow(9000).buffer); // over the pool's size: dropped
    expect(pool.take(800).buffer).toBe(a.buffer);
    expect(pool.take(800).buffer).toBe(b.buffer);
    const fresh = pool.take(800);
    expect(fresh.length).toBe(800);
    expect(fresh.buffer.byteLength).toBeGreaterThanOrEqual(1000);
  });

  it("does not keep a buffer over its size bound (an oversize chunk's)", () => {
    const pool = new BufferPool(4, 10_000);
    const huge = Buffer.allocUnsafeSlow(50_000);
    pool.give(huge.buffer);
    expect(pool.take(40_000).buffer).not.toBe(huge.buffer);
  });
});
