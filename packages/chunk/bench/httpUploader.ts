// The upload bench's HTTP client, used by BOTH sides of the comparison (the bare client and the engine's
// uploader), so the ratio compares the engine with a bare loop over the same client and the same number in flight.
// Default: the global fetch (test/helpers/fetchUploader.ts, the anchor the figures have always used).
// `BENCH_UPLOADER=http`: node:http over a keep-alive agent on both sides — a much cheaper client, so the same
// engine overhead is a larger share (a stricter ratio), and less client garbage (fetch encodes a string body into
// a fresh Uint8Array and copies it again into its body stream; node:http writes the string to the socket). The
// agent's real client, @rediver/client, uses node:http over a keep-alive agent too (since it left undici).
import { Agent, request } from 'node:http';
import type {
  ChunkUploader,
  ChunkUploadRequest,
  ChunkUploadResponse,
  UploadAttemptOptions,
} from '@rediver/core';
import { API_PATHS, IDEMPOTENCY_KEY_HEADER, RediverError } from '@rediver/core';
import { createFetchChunkUploader } from '../test/helpers/fetchUploader';

/** Which client both sides use. */
export const BENCH_UPLOADER: 'http' | 'fetch' = process.env.BENCH_UPLOADER === 'http' ? 'http' : 'fetch';

/** Posts one prepared JSON body; resolves with the status and the response text. */
export type PostBody = (
  body: string,
  idempotencyKey: string,
  signal?: AbortSignal,
) => Promise<{ status: number; text: string }>;

/** A poster to `${baseUrl}/api/v1/agent/ingest/chunk` with at most `sockets` connections. */
export function createPoster(baseUrl: string, sockets: number): PostBody {
  const url = new URL(API_PATHS.ingestChunk, baseUrl);
  if (BENCH_UPLOADER === 'fetch') {
    return async (body, idempotencyKey, signal) => {
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', [IDEMPOTENCY_KEY_HEADER]: idempotencyKey },
        body,
        ...(signal ? { signal } : {}),
      });
      return { status: res.status, text: await res.text() };
    };
  }
  const agent = new Agent({ keepAlive: true, maxSockets: sockets });
  return (body, idempotencyKey, signal) =>
    new Promise((resolve, reject) => {
      const req = request(
        url,
        {
          method: 'POST',
          agent,
          headers: {
            'content-type': 'application/json',
            'content-length': Buffer.byteLength(body),
            [IDEMPOTENCY_KEY_HEADER]: idempotencyKey,
          },
          ...(signal ? { signal } : {}),
        },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (d: string) => (text += d));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(body);
    });
}

/** The engine's uploader over the same client as the bare side. */
export function createBenchUploader(baseUrl: string, sockets: number): ChunkUploader {
  if (BENCH_UPLOADER === 'fetch') return createFetchChunkUploader(baseUrl);
  const post = createPoster(baseUrl, sockets);
  return {
    async uploadChunk(
      chunk: ChunkUploadRequest,
      options: UploadAttemptOptions & { idempotencyKey: string },
    ): Promise<ChunkUploadResponse> {
      let res: { status: number; text: string };
      try {
        res = await post(JSON.stringify(chunk), options.idempotencyKey, options.signal);
      } catch (err) {
        if (options.signal?.aborted) throw new RediverError('ABORTED', 'upload aborted', { cause: err });
        throw new RediverError('NETWORK', 'chunk upload failed: network error', { cause: err });
      }
      if (res.status === 200 || res.status === 201) return JSON.parse(res.text) as ChunkUploadResponse;
      const message = `chunk upload answered ${res.status}: ${res.text.slice(0, 200)}`;
      if (res.status === 408 || res.status === 429 || res.status >= 500) {
        throw new RediverError('SERVER_ERROR', message, { status: res.status });
      }
      throw new RediverError('REQUEST_REJECTED', message, { status: res.status });
    },
  };
}
