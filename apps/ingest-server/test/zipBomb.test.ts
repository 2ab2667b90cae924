import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CompressStream } from 'zstd-napi';
import { API_PATHS } from '@rediver/core';
import { startIngestServer } from '../src/index';
import type { IngestServer } from '../src/index';
import { API_KEYS, KEYS, post } from './helpers';

const GIB = 1024 * 1024 * 1024;
const MIB = 1024 * 1024;
/** Peak RSS growth allowed while a bomb is refused; materialising it would take 1 GiB (the cap alone 100 MiB). */
const MAX_RSS_GROWTH_BYTES = 64 * MIB;

let server: IngestServer;
let zstdBomb: Buffer;
let gzipBomb: Buffer;

/** 1 GiB of zeros through zstd-napi's streaming compressor, fed 1 MiB at a time (never materialised). */
async function makeZstdBomb(): Promise<Buffer> {
  const zeros = Buffer.alloc(MIB);
  const source = Readable.from(
    (function* () {
      for (let i = 0; i < GIB / MIB; i++) yield zeros;
    })(),
  );
  const parts: Buffer[] = [];
  for await (const part of source.pipe(new CompressStream({ compressionLevel: 1 })))
    parts.push(part as Buffer);
  return Buffer.concat(parts);
}

/** 1 GiB of zeros as 1024 gzip members of 1 MiB each (a valid multi-member gzip stream; gunzip reads them all). */
function makeGzipBomb(): Buffer {
  const member = gzipSync(Buffer.alloc(MIB), { level: 9 });
  return Buffer.concat(Array.from({ length: GIB / MIB }, () => member));
}

/** Runs `fn` while sampling RSS every few ms; returns its result and the peak growth. */
async function peakRssGrowth<T>(fn: () => Promise<T>): Promise<{ result: T; growth: number }> {
  const before = process.memoryUsage().rss;
  let peak = before;
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 2);
  try {
    const result = await fn();
    peak = Math.max(peak, process.memoryUsage().rss);
    return { result, growth: peak - before };
  } finally {
    clearInterval(timer);
  }
}

beforeAll(async () => {
  server = await startIngestServer({ apiKeys: API_KEYS });
  zstdBomb = await makeZstdBomb();
  gzipBomb = makeGzipBomb();
}, 60_000);

afterAll(async () => {
  await server.close();
});

describe('zip bombs (1 GiB of zeros)', () => {
  it('are small on the wire, so only the decompression limits can stop them', () => {
    expect(zstdBomb.length).toBeLessThan(MIB);
    expect(gzipBomb.length).toBeLessThan(4 * MIB);
  });

  it.each(['zstd', 'gzip'] as const)('as a %s request body: 413 with bounded memory', async (encoding) => {
    const bomb = encoding === 'zstd' ? zstdBomb : gzipBomb;
    const { result, growth } = await peakRssGrowth(() =>
      post(server.url + API_PATHS.ingest, bomb, { key: KEYS.a, headers: { 'content-encoding': encoding } }),
    );
    expect(result).toMatchObject({ status: 413, json: { code: 'DECOMPRESS_LIMIT' } });
    expect(growth).toBeLessThan(MAX_RSS_GROWTH_BYTES);
    process.stdout.write(`rss growth (${encoding} body): ${(growth / MIB).toFixed(1)} MiB\n`);
  });

  it.each(['zstd', 'gzip'] as const)(
    'as a chunk data field (%s): 413 with bounded memory',
    async (compression) => {
      const bomb = compression === 'zstd' ? zstdBomb : gzipBomb;
      const chunk = {
        report_id: 'bomb-1',
        chunk_index: 0,
        total_chunks: 1,
        compression,
        data: bomb.toString('base64'),
        is_final: true,
      };
      const { result, growth } = await peakRssGrowth(() =>
        post(server.url + API_PATHS.ingestChunk, chunk, { key: KEYS.a }),
      );
      expect(result).toMatchObject({ status: 413, json: { code: 'DECOMPRESS_LIMIT' } });
      expect(growth).toBeLessThan(MAX_RSS_GROWTH_BYTES);
      process.stdout.write(`rss growth (${compression} chunk data): ${(growth / MIB).toFixed(1)} MiB\n`);
    },
  );

  it('leaves the server healthy and the store untouched', async () => {
    expect(
      (await post(server.url + API_PATHS.ingestCheck, { fingerprints: [] }, { key: KEYS.a })).status,
    ).toBe(200);
    expect(server.stats('tenant-a').tenants[0]!.totals.chunks).toBe(0);
  });
});
