import { MAX_CHUNK_DATA_BYTES } from '@rediver/core';
import { describe, expect, it } from 'vitest';
import { base64Length, buildChunkUploadRequest } from './uploadPayload';

describe('buildChunkUploadRequest', () => {
  const frame = new Uint8Array([0x28, 0xb5, 0x2f, 0xfd, 0, 1, 2, 250, 251, 255]);

  it('sends the stored frame as standard base64 with compression zstd and the checksum', () => {
    const req = buildChunkUploadRequest({
      reportId: 'r',
      chunkIndex: 0,
      totalChunks: 2,
      data: frame,
      checksum: 'c',
    });
    expect(req).toEqual({
      report_id: 'r',
      chunk_index: 0,
      total_chunks: 2,
      compression: 'zstd',
      data: Buffer.from(frame).toString('base64'),
      is_final: false,
      checksum: 'c',
    });
    expect(req!.data).toMatch(/^[A-Za-z0-9+/]+=*$/);
    expect(Buffer.from(req!.data, 'base64').equals(Buffer.from(frame))).toBe(true);
  });

  it('marks only the last index final', () => {
    const last = buildChunkUploadRequest({
      reportId: 'r',
      chunkIndex: 1,
      totalChunks: 2,
      data: frame,
      checksum: 'c',
    });
    expect(last!.is_final).toBe(true);
  });

  it('encodes a view into a larger buffer without its neighbours', () => {
    const big = new Uint8Array([9, 9, ...frame, 9]);
    const view = big.subarray(2, 2 + frame.length);
    const req = buildChunkUploadRequest({
      reportId: 'r',
      chunkIndex: 0,
      totalChunks: 1,
      data: view,
      checksum: 'c',
    });
    expect(req!.data).toBe(Buffer.from(frame).toString('base64'));
  });

  it('refuses data whose base64 is over the 10 MiB limit, accepts exactly at it', () => {
    const atLimit = (MAX_CHUNK_DATA_BYTES / 4) * 3;
    expect(base64Length(atLimit)).toBe(MAX_CHUNK_DATA_BYTES);
    const ok = buildChunkUploadRequest({
      reportId: 'r',
      chunkIndex: 0,
      totalChunks: 1,
      data: new Uint8Array(atLimit),
      checksum: 'c',
    });
    expect(ok!.data.length).toBe(MAX_CHUNK_DATA_BYTES);
    const over = buildChunkUploadRequest({
      reportId: 'r',
      chunkIndex: 0,
      totalChunks: 1,
      data: new Uint8Array(atLimit + 1),
      checksum: 'c',
    });
    expect(over).toBeUndefined();
  });
});
