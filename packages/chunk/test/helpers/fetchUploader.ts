// A ChunkUploader over the global fetch, for tests and the bench (the real HTTP client lives in @rediver/client,
// which this package must not depend on). Maps answers to RediverError like the real client: 408/429/5xx and
// network failures are retryable (429 carries `Retry-After`), other 4xx are not.
import type {
  ChunkUploader,
  ChunkUploadRequest,
  ChunkUploadResponse,
  UploadAttemptOptions,
} from '@rediver/core';
import { API_PATHS, IDEMPOTENCY_KEY_HEADER, RediverError } from '@rediver/core';

/** Parses `Retry-After` (delta seconds or an HTTP date) to ms. */
export function parseRetryAfterMs(value: string | null, now = Date.now()): number | undefined {
  if (value === null || value.trim() === '') return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** A fetch-based uploader that also counts its attempts. */
export interface FetchChunkUploader extends ChunkUploader {
  attempts: number;
}

/** Creates a ChunkUploader posting to `${baseUrl}/api/v1/agent/ingest/chunk`. */
export function createFetchChunkUploader(baseUrl: string): FetchChunkUploader {
  const url = new URL(API_PATHS.ingestChunk, baseUrl).toString();
  const uploader: FetchChunkUploader = {
    attempts: 0,
    async uploadChunk(
      chunk: ChunkUploadRequest,
      options: UploadAttemptOptions & { idempotencyKey: string },
    ): Promise<ChunkUploadResponse> {
      uploader.attempts += 1;
      let res: Response;
      try {
        res = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', [IDEMPOTENCY_KEY_HEADER]: options.idempotencyKey },
          body: JSON.stringify(chunk),
          ...(options.signal ? { signal: options.signal } : {}),
        });
      } catch (err) {
        if (options.signal?.aborted) throw new RediverError('ABORTED', 'upload aborted', { cause: err });
        throw new RediverError('NETWORK', 'chunk upload failed: network error', { cause: err });
      }
      if (res.status === 200 || res.status === 201) return (await res.json()) as ChunkUploadResponse;
      const text = await res.text().catch(() => '');
      const message = `chunk upload answered ${res.status}: ${text.slice(0, 200)}`;
      if (res.status === 429) {
        const retryAfterMs = parseRetryAfterMs(res.headers.get('retry-after'));
        throw new RediverError('RATE_LIMITED', message, {
          status: 429,
          ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
        });
      }
      if (res.status === 408 || res.status >= 500) {
        throw new RediverError('SERVER_ERROR', message, { status: res.status });
      }
      if (res.status === 401 || res.status === 403) {
        throw new RediverError('AUTH_FAILED', message, { status: res.status });
      }
      throw new RediverError('REQUEST_REJECTED', message, { status: res.status });
    },
  };
  return uploader;
}
