import type { ChunkUploadRequest } from '@rediver/core';
import { CHUNK_COMPRESSIONS } from '@rediver/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { serializeChunk } from './chunkBody';

const chunkArb: fc.Arbitrary<ChunkUploadRequest> = fc.record(
  {
    report_id: fc.string({ minLength: 1, maxLength: 40 }),
    chunk_index: fc.nat(),
    total_chunks: fc.nat(),
    compression: fc.constantFrom(...CHUNK_COMPRESSIONS),
    data: fc.uint8Array({ minLength: 1, maxLength: 200 }).map((b) => Buffer.from(b).toString('base64')),
    is_final: fc.boolean(),
    checksum: fc.string(),
  },
  { requiredKeys: ['report_id', 'chunk_index', 'total_chunks', 'compression', 'data', 'is_final'] },
);

describe('serializeChunk', () => {
  it('produces the same JSON value as JSON.stringify, whatever the other fields hold', () => {
    fc.assert(
      fc.property(chunkArb, (chunk) => {
        expect(JSON.parse(serializeChunk(chunk).toString('utf8'))).toEqual(chunk);
      }),
      { numRuns: 500 },
    );
  });

  it('keeps extra fields, including non-ASCII ones, as UTF-8', () => {
    const chunk = {
      report_id: 'r',
      chunk_index: 0,
      total_chunks: 1,
      compression: 'none',
      data: 'QUJD',
      is_final: true,
    };
    const withExtra = { ...chunk, note: 'héllo "quoted" \\ 😀' } as ChunkUploadRequest;
    expect(JSON.parse(serializeChunk(withExtra).toString('utf8'))).toEqual(withExtra);
  });
});
