import { randomBytes } from 'node:crypto';
import { DEFAULT_DECOMPRESSION_LIMITS, isRediverError } from '@rediver/core';
import type { DecompressionLimits } from '@rediver/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { CompressStream } from 'zstd-napi';
import { sha256Hex } from './checksum';
import { ChunkCompressor } from './compress';
import { decompressBounded, loadDecoder } from './decompress';

beforeAll(() => loadDecoder());

const compressor = new ChunkCompressor(3);

function caught(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected a throw');
}

/** Compresses `total` zero bytes with zstd-napi's streaming compressor, never holding more than 1 MiB of input. */
async function zeroBomb(total: number): Promise<Buffer> {
  const zeros = Buffer.alloc(1024 * 1024);
  const stream = new CompressStream({ compressionLevel: 3 });
  const out: Buffer[] = [];
  stream.on('data', (b: Buffer) => out.push(b));
  const done = new Promise<void>((resolve, reject) => {
    stream.on('end', resolve);
    stream.on('error', reject);
  });
  for (let written = 0; written < total; written += zeros.length) {
    if (!stream.write(zeros)) await new Promise((r) => stream.once('drain', r));
  }
  stream.end();
  await done;
  return Buffer.concat(out);
}

describe('decompressBounded', () => {
  it('round-trips and checksums what ChunkCompressor wrote', () => {
    const input = Buffer.from(
      JSON.stringify({ hello: 'world', n: Array.from({ length: 500 }, (_, i) => i) }),
    );
    const frame = compressor.compress(input);
    const r = decompressBounded(frame, DEFAULT_DECOMPRESSION_LIMITS, true);
    expect(Buffer.from(r.data!).equals(input)).toBe(true);
    expect(r.bytes).toBe(input.length);
    expect(r.checksum).toBe(sha256Hex(input));
    expect(decompressBounded(frame, DEFAULT_DECOMPRESSION_LIMITS, false).data).toBeUndefined();
  });

  it('refuses a 1 GB zero bomb while streaming, having produced at most the limit plus one block', async () => {
    const bomb = await zeroBomb(1024 * 1024 * 1024);
    expect(bomb.length).toBeLessThan(DEFAULT_DECOMPRESSION_LIMITS.maxCompressedBytes);
    const before = process.memoryUsage().arrayBuffers;
    const err = caught(() => decompressBounded(bomb, DEFAULT_DECOMPRESSION_LIMITS, true));
    expect(isRediverError(err, 'DECOMPRESS_LIMIT')).toBe(true);
    const limit = Math.min(
      DEFAULT_DECOMPRESSION_LIMITS.maxDecompressedBytes,
      DEFAULT_DECOMPRESSION_LIMITS.maxRatio * bomb.length,
    );
    const produced = (err as { details: { decompressedSoFar: number } }).details.decompressedSoFar;
    expect(produced).toBeGreaterThan(limit);
    expect(produced).toBeLessThanOrEqual(limit + 128 * 1024);
    // Far below the gigabyte: the kept output is bounded by the limit.
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(256 * 1024 * 1024);
    // With the ratio limit lifted, the decompressed-size limit stops it (still streaming).
    const sizeOnly: DecompressionLimits = { ...DEFAULT_DECOMPRESSION_LIMITS, maxRatio: 1e9 };
    const err2 = caught(() => decompressBounded(bomb, sizeOnly, false));
    expect(isRediverError(err2, 'DECOMPRESS_LIMIT')).toBe(true);
    const produced2 = (err2 as { details: { decompressedSoFar: number } }).details.decompressedSoFar;
    expect(produced2).toBeLessThanOrEqual(sizeOnly.maxDecompressedBytes + 128 * 1024);
  }, 60_000);

  it('enforces maxDecompressedBytes at its edge', () => {
    const data = randomBytes(1000);
    const frame = compressor.compress(data);
    const limits = { maxCompressedBytes: 1e6, maxDecompressedBytes: 1000, maxRatio: 100 };
    expect(decompressBounded(frame, limits, false).bytes).toBe(1000);
    const err = caught(() => decompressBounded(frame, { ...limits, maxDecompressedBytes: 999 }, false));
    expect(isRediverError(err, 'DECOMPRESS_LIMIT')).toBe(true);
  });

  it('enforces maxRatio at its edge', () => {
    const data = Buffer.alloc(100_000, 7);
    const frame = compressor.compress(data);
    const ratio = data.length / frame.length;
    const limits = { maxCompressedBytes: 1e6, maxDecompressedBytes: 1e6, maxRatio: ratio };
    expect(decompressBounded(frame, limits, false).bytes).toBe(100_000);
    const err = caught(() =>
      decompressBounded(frame, { ...limits, maxRatio: (data.length - 1) / frame.length }, false),
    );
    expect(isRediverError(err, 'DECOMPRESS_LIMIT')).toBe(true);
  });

  it('enforces maxCompressedBytes at its edge', () => {
    const frame = compressor.compress(randomBytes(500));
    const limits = { maxCompressedBytes: frame.length, maxDecompressedBytes: 1e6, maxRatio: 100 };
    expect(decompressBounded(frame, limits, false).bytes).toBe(500);
    const err = caught(() =>
      decompressBounded(frame, { ...limits, maxCompressedBytes: frame.length - 1 }, false),
    );
    expect(isRediverError(err, 'DECOMPRESS_LIMIT')).toBe(true);
  });

  it('refuses a header declaring a huge window before allocating it', () => {
    // magic, descriptor (no single segment, no checksum), window descriptor 2 GiB, one last RLE block of 1 byte.
    const frame = Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x00, 21 << 3, 0x0b, 0x00, 0x00, 0x41]);
    const err = caught(() =>
      decompressBounded(frame, { maxCompressedBytes: 1e6, maxDecompressedBytes: 1e9, maxRatio: 1e12 }, false),
    );
    expect(isRediverError(err, 'DECOMPRESS_LIMIT')).toBe(true);
    // Single segment declaring 1 TB of content.
    const fcs = Buffer.alloc(8);
    fcs.writeBigUInt64LE(10n ** 12n);
    const frame2 = Buffer.concat([
      Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0xe0]),
      fcs,
      Buffer.from([0x0b, 0x00, 0x00, 0x41]),
    ]);
    const err2 = caught(() => decompressBounded(frame2, DEFAULT_DECOMPRESSION_LIMITS, false));
    expect(isRediverError(err2, 'DECOMPRESS_LIMIT')).toBe(true);
  });

  it('reports torn and garbage data as DECOMPRESS_FAILED', () => {
    const frame = compressor.compress(Buffer.from('x'.repeat(10_000) + randomBytes(2000).toString('hex')));
    const lax = { ...DEFAULT_DECOMPRESSION_LIMITS, maxRatio: 1e9 };
    for (const bad of [
      frame.subarray(0, frame.length - 10),
      frame.subarray(0, 7),
      randomBytes(64),
      Buffer.alloc(0),
    ]) {
      const err = caught(() => decompressBounded(bad, lax, false));
      expect(isRediverError(err, 'DECOMPRESS_FAILED')).toBe(true);
    }
  });
});
