// An in-process ChunkUploader (the engine's output port) for tests about scheduling and timing, where a network
// would only add noise. Each call is recorded; `behave` decides the answer.
import { chunkAck } from '@rediver/testkit';
import type {
  ChunkUploader,
  ChunkUploadRequest,
  ChunkUploadResponse,
  UploadAttemptOptions,
} from '@rediver/core';
import { RediverError } from '@rediver/core';

/** One recorded call. */
export interface UploadCall {
  readonly request: ChunkUploadRequest;
  readonly idempotencyKey: string;
  readonly signal: AbortSignal | undefined;
  readonly at: number;
}

/** What a call does: answer (default), throw, or wait on a promise first. */
export type Behaviour = (call: UploadCall, n: number) => void | Promise<void>;

/** A recording uploader. */
export interface MemoryUploader extends ChunkUploader {
  readonly calls: UploadCall[];
  inFlight: number;
  maxInFlight: number;
  behave: Behaviour;
}

/** Creates a recording uploader that acknowledges everything unless `behave` throws. */
export function memoryUploader(behave: Behaviour = () => undefined): MemoryUploader {
  const u: MemoryUploader = {
    calls: [],
    inFlight: 0,
    maxInFlight: 0,
    behave,
    async uploadChunk(
      request: ChunkUploadRequest,
      options: UploadAttemptOptions & { idempotencyKey: string },
    ): Promise<ChunkUploadResponse> {
      const call: UploadCall = {
        request,
        idempotencyKey: options.idempotencyKey,
        signal: options.signal,
        at: Date.now(),
      };
      u.calls.push(call);
      u.inFlight += 1;
      u.maxInFlight = Math.max(u.maxInFlight, u.inFlight);
      try {
        await u.behave(call, u.calls.length);
        if (options.signal?.aborted) throw new RediverError('ABORTED', 'aborted');
        return ackResponse(request, String(u.calls.length));
      } finally {
        u.inFlight -= 1;
      }
    },
  };
  return u;
}

/** Resolves when `signal` aborts (for uploads that hang until shutdown). */
export function untilAborted(signal: AbortSignal | undefined): Promise<void> {
  return new Promise((_, reject) => {
    signal?.addEventListener('abort', () => reject(new RediverError('ABORTED', 'aborted')), { once: true });
  });
}

/** The platform's answer acknowledging a chunk (the kit's `chunkAck`). */
export const ackResponse = chunkAck;
