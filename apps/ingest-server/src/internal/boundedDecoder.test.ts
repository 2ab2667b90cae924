import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { compress } from 'zstd-napi';
import { isRediverError } from '@rediver/core';
import type { DecompressionLimits } from '@rediver/core';
import { decodeBuffer, parseContentEncoding, readBoundedBody } from './boundedDecoder';
import type { BodyEncoding } from './boundedDecoder';

const limits = (
  maxCompressedBytes: number,
  maxDecompressedBytes: number,
  maxRatio: number,
): DecompressionLimits => ({
  maxCompressedBytes,
  maxDecompressedBytes,
  maxRatio,
});
const wide = limits(1 << 30, 1 << 30, 1e9);

function encode(encoding: BodyEncoding, data: Buffer): Buffer {
  if (encoding === 'gzip') return gzipSync(data);
  if (encoding === 'zstd') return compress(data);
  return data;
}

async function rejection(p: Promise<unknown>): Promise<{ code: string; status: number | undefined }> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(isRediverError(err)).toBe(true);
  const e = err as { code: string; status?: number };
  return { code: e.code, status: e.status };
}

describe('parseContentEncoding', () => {
  it('maps supported encodings and refuses others with 415', () => {
    expect(parseContentEncoding(undefined)).toBe('identity');
    expect(parseContentEncoding('identity')).toBe('identity');
    expect(parseContentEncoding(' GZIP ')).toBe('gzip');
    expect(parseContentEncoding('zstd')).toBe('zstd');
    for (const bad of ['br', 'deflate', 'gzip, zstd', 'compress']) {
      expect(() => parseContentEncoding(bad)).toThrow(
        expect.objectContaining({ code: 'UNSUPPORTED_ENCODING', status: 415 }),
      );
    }
  });
});

describe.each(['gzip', 'zstd'] as const)('decodeBuffer (%s)', (encoding) => {
  const data = Buffer.from(
    JSON.stringify({ items: Array.from({ length: 200 }, (_, i) => ({ i, s: `v${i * 7919}` })) }),
  );
  const packed = encode(encoding, data);

  it('round-trips within limits', async () => {
    expect((await decodeBuffer(packed, encoding, wide)).equals(data)).toBe(true);
  });

  it('accepts output exactly at maxDecompressedBytes and refuses one byte less of room', async () => {
    expect((await decodeBuffer(packed, encoding, limits(1 << 20, data.length, 1e6))).length).toBe(
      data.length,
    );
    expect(await rejection(decodeBuffer(packed, encoding, limits(1 << 20, data.length - 1, 1e6)))).toEqual({
      code: 'DECOMPRESS_LIMIT',
      status: 413,
    });
  });

  it('accepts input exactly at maxCompressedBytes and refuses one over', async () => {
    expect((await decodeBuffer(packed, encoding, limits(packed.length, 1 << 20, 1e6))).length).toBe(
      data.length,
    );
    expect(await rejection(decodeBuffer(packed, encoding, limits(packed.length - 1, 1 << 20, 1e6)))).toEqual({
      code: 'DECOMPRESS_LIMIT',
      status: 413,
    });
  });

  it('measures the ratio exactly for input within one slice: at the ratio passes, just over refuses', async () => {
    const zeros = Buffer.alloc(64 * 1024);
    const bomb = encode(encoding, zeros);
    const exact = zeros.length / bomb.length;
    expect((await decodeBuffer(bomb, encoding, limits(1 << 20, 1 << 20, exact))).length).toBe(zeros.length);
    expect(await rejection(decodeBuffer(bomb, encoding, limits(1 << 20, 1 << 20, exact - 0.01)))).toEqual({
      code: 'DECOMPRESS_LIMIT',
      status: 413,
    });
  });

  it('refuses broken and truncated data with 400 DECOMPRESS_FAILED', async () => {
    const garbage = Buffer.from('this is not compressed at all, not even a little');
    expect(await rejection(decodeBuffer(garbage, encoding, wide))).toEqual({
      code: 'DECOMPRESS_FAILED',
      status: 400,
    });
    const truncated = packed.subarray(0, Math.floor(packed.length / 2));
    expect(await rejection(decodeBuffer(truncated, encoding, wide))).toEqual({
      code: 'DECOMPRESS_FAILED',
      status: 400,
    });
  });
});

describe('readBoundedBody', () => {
  const read = (parts: Buffer[], encoding: BodyEncoding, l: DecompressionLimits, declaredLength?: number) =>
    readBoundedBody(Readable.from(parts, { objectMode: false }), { encoding, limits: l, declaredLength });

  it('decodes a body that arrives in many small pieces', async () => {
    const data = Buffer.from('{"hello":"world"}'.repeat(500));
    for (const encoding of ['identity', 'gzip', 'zstd'] as const) {
      const packed = encode(encoding, data);
      const parts: Buffer[] = [];
      for (let i = 0; i < packed.length; i += 7) parts.push(packed.subarray(i, i + 7));
      const out = await read(parts, encoding, wide);
      expect(out.ok && out.body.equals(data)).toBe(true);
    }
  });

  it('refuses a declared length over the wire limit before reading, and one at the limit is read', async () => {
    const body = Buffer.from('{"a":1}');
    const at = await read([body], 'identity', limits(body.length, 100, 1), body.length);
    expect(at.ok).toBe(true);
    const over = await read([body], 'identity', limits(body.length - 1, 100, 1), body.length);
    expect(over.ok).toBe(false);
    if (!over.ok) {
      expect(over.failure.error).toMatchObject({ code: 'DECOMPRESS_LIMIT', status: 413 });
      expect(over.failure.drained).toBe(true);
    }
  });

  it('refuses an undeclared body once it passes the wire limit and asks to close the connection', async () => {
    const out = await read(
      [Buffer.alloc(600, 32), Buffer.alloc(600, 32)],
      'identity',
      limits(1000, 5000, 10),
      undefined,
    );
    expect(out.ok).toBe(false);
    if (!out.ok) {
      expect(out.failure.error).toMatchObject({ code: 'DECOMPRESS_LIMIT' });
      expect(out.failure.drained).toBe(false);
    }
  });

  it('refuses a broken gzip stream with 400', async () => {
    const out = await read([Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 1, 2, 3, 4, 5])], 'gzip', wide);
    expect(!out.ok && out.failure.error).toMatchObject({ code: 'DECOMPRESS_FAILED', status: 400 });
  });

  it('refuses a zstd stream that stops mid-frame with 400', async () => {
    const packed = compress(Buffer.from('x'.repeat(10_000) + 'y'.repeat(10_000)));
    const out = await read([packed.subarray(0, packed.length - 3)], 'zstd', wide);
    expect(!out.ok && out.failure.error).toMatchObject({ code: 'DECOMPRESS_FAILED', status: 400 });
  });
});
