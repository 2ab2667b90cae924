import type { ChunkUploadRequest } from '@rediver/core';

/**
 * Serialises a chunk request to JSON bytes without running `JSON.stringify` over its `data`. `data` is most of the
 * body (up to 10 MiB of base64) and needs no escaping, yet `JSON.stringify` scans it at ~150 MB/s on Node 20 — slower
 * than loopback. Here it is copied once, as Latin-1, into the middle of the JSON of the other fields.
 * Precondition: `chunk.data` passed `isBase64` (ASCII alphabet only: nothing to escape, nothing to break out of).
 */
export function serializeChunk(chunk: ChunkUploadRequest): Buffer {
  const { data, ...rest } = chunk;
  const head = JSON.stringify(rest);
  const prefix = `${head.slice(0, -1)}${head.length > 2 ? ',' : ''}"data":"`;
  const prefixBytes = Buffer.byteLength(prefix);
  const out = Buffer.allocUnsafe(prefixBytes + data.length + 2);
  out.write(prefix, 0, 'utf8');
  out.write(data, prefixBytes, 'latin1');
  out.write('"}', prefixBytes + data.length, 'latin1');
  return out;
}
