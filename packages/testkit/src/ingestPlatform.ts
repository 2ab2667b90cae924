// A loopback stand-in of the platform's chunk ingest (`POST /api/v1/agent/ingest/chunk`) for the packages' tests:
// it validates like the platform, applies each chunk once per `Idempotency-Key` (the deduplicating server the
// chunk engine's exactly-once effect relies on), and injects faults under the names of apps/ingest-server's
// `FaultOptions` (`errorRate`, `latencyMs`, `rateLimitRate`, `retryAfterSeconds`, `resetRate`, drawn in its
// order: reset, then 429, then 503), plus two only tests need (`resetAfterApplyRate`, `isPoison`).
// Deterministic: faults come from a seeded PRNG. (The packages cannot use the real ingest server: it is an app,
// and it depends on @rediver/client, whose tests use this kit.)
import { createHash } from 'node:crypto';
import type { ChunkData, ChunkUploadRequest, ChunkUploadResponse } from '@rediver/core';
import { API_PATHS, isValidReportId, MAX_CHUNK_DATA_BYTES, MAX_TOTAL_CHUNKS } from '@rediver/core';
import { decompress } from 'fzstd';
import { sendJson, startLoopbackServer, withInFlight } from './loopback';
import type { LiveServer } from './loopback';

/** Faults injected before (and just after) a chunk is applied. Rates are shares of requests, 0..1. */
export interface IngestFaults {
  /** Share of requests answered 503 (ingest server: `errorRate`). */
  errorRate?: number;
  /** Delay added before a request is handled, ms (ingest server: `latencyMs`). */
  latencyMs?: number;
  /** Share of requests answered 429 with `Retry-After: retryAfterSeconds` (ingest server: `rateLimitRate`). */
  rateLimitRate?: number;
  /** `Retry-After` of injected 429 answers, whole seconds; default 1 (ingest server: `retryAfterSeconds`). */
  retryAfterSeconds?: number;
  /** Share of requests whose connection is reset before any answer, chunk NOT applied (ingest server: `resetRate`). */
  resetRate?: number;
  /** Share of requests applied, then the connection reset: the client cannot know the chunk landed. */
  resetAfterApplyRate?: number;
  /** Chunks always refused with 400. */
  isPoison?: (chunk: ChunkUploadRequest) => boolean;
}

/** Options of `startIngestPlatform`. */
export interface IngestPlatformOptions extends IngestFaults {
  /** PRNG seed of the faults (default 1). */
  seed?: number;
  /** Decompress `data`, check the checksum and the ChunkData header (costly; on for correctness tests). */
  verifyData?: boolean;
  /** Only count the body and answer 201 (the bench's "server that just acknowledges"). */
  ackOnly?: boolean;
  /** Port to listen on (default: any free one); a restarted platform takes its predecessor's. */
  port?: number;
}

/** A chunk the platform applied. */
export interface AppliedChunk {
  readonly key: string;
  readonly reportId: string;
  readonly chunkIndex: number;
  readonly totalChunks: number;
  readonly checksum: string | undefined;
  readonly dataBase64Bytes: number;
  /** Requests that carried this key (1 = never re-sent). */
  deliveries: number;
}

/** What the platform saw. Fault counters are named after the ingest server's `FaultCounts`. */
export interface IngestCounters {
  requests: number;
  applied: number;
  duplicates: number;
  /** Answered 503 by injection. */
  error: number;
  /** Connections reset before the chunk was applied. */
  reset: number;
  /** Connections reset after the chunk was applied. */
  resetAfterApply: number;
  /** Answered 429 by injection. */
  rateLimited: number;
  poison: number;
  invalid: number;
  /** Requests in flight now (arrived, not answered). */
  inFlight: number;
  maxInFlight: number;
  bodyBytes: number;
}

/** The running platform. */
export interface IngestPlatform {
  readonly url: string;
  /** Applied chunks by idempotency key. */
  readonly applied: Map<string, AppliedChunk>;
  /** Arrival order of applied chunks: `reportId#index`. */
  readonly order: string[];
  readonly counters: IngestCounters;
  /** Replaces the fault settings. */
  setFaults(faults: IngestFaults): void;
  /** Distinct keys applied for one chunk position (exactly-once means 1). */
  appliedFor(reportId: string, chunkIndex: number): AppliedChunk[];
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** Small, seedable PRNG (mulberry32). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const MAX_BODY_BYTES = MAX_CHUNK_DATA_BYTES + 64 * 1024;

function validate(body: unknown): string | undefined {
  if (typeof body !== 'object' || body === null) return 'body must be an object';
  const c = body as Partial<ChunkUploadRequest>;
  if (!isValidReportId(c.report_id)) return 'invalid report_id';
  if (!Number.isInteger(c.total_chunks) || c.total_chunks! < 1 || c.total_chunks! > MAX_TOTAL_CHUNKS) {
    return 'invalid total_chunks';
  }
  if (!Number.isInteger(c.chunk_index) || c.chunk_index! < 0 || c.chunk_index! >= c.total_chunks!) {
    return 'invalid chunk_index';
  }
  if (c.compression !== undefined && !['zstd', 'gzip', 'none', ''].includes(c.compression))
    return 'bad compression';
  if (typeof c.data !== 'string' || c.data.length === 0) return 'data required';
  if (c.data.length > MAX_CHUNK_DATA_BYTES) return 'data too large';
  return undefined;
}

function verify(c: ChunkUploadRequest): string | undefined {
  const frame = Buffer.from(c.data, 'base64');
  if (frame.toString('base64') !== c.data) return 'data is not standard base64';
  let json: Uint8Array;
  try {
    json = decompress(frame);
  } catch {
    return 'data is not a zstd frame';
  }
  if (c.checksum !== undefined && createHash('sha256').update(json).digest('hex') !== c.checksum) {
    return 'checksum mismatch';
  }
  const inner = JSON.parse(Buffer.from(json).toString('utf8')) as ChunkData;
  if (
    inner.report_id !== c.report_id ||
    inner.chunk_index !== c.chunk_index ||
    inner.total_chunks !== c.total_chunks
  ) {
    return 'ChunkData header disagrees with the envelope';
  }
  if (inner.is_final !== c.is_final) return 'is_final disagrees';
  return undefined;
}

/** The platform's answer acknowledging `chunk` (status `processed`, or `duplicate`). */
export function chunkAck(
  c: Pick<ChunkUploadRequest, 'report_id' | 'chunk_index'>,
  chunkId = '1',
  duplicate = false,
): ChunkUploadResponse {
  return {
    chunk_id: chunkId,
    report_id: c.report_id,
    chunk_index: c.chunk_index,
    status: duplicate ? 'duplicate' : 'processed',
    assets_created: 0,
    assets_updated: 0,
    findings_created: 0,
    findings_updated: 0,
    findings_skipped: 0,
  };
}

/** Starts the loopback chunk ingest on 127.0.0.1. */
export async function startIngestPlatform(options: IngestPlatformOptions = {}): Promise<IngestPlatform> {
  let faults: IngestFaults = { ...options };
  const random = seededRandom(options.seed ?? 1);
  // Set once listening; the counters read the live figures from it.
  const live: LiveServer = {};
  const applied = new Map<string, AppliedChunk>();
  const byPosition = new Map<string, AppliedChunk[]>();
  const order: string[] = [];
  const counters: IngestCounters = withInFlight(
    {
      requests: 0,
      applied: 0,
      duplicates: 0,
      error: 0,
      reset: 0,
      resetAfterApply: 0,
      rateLimited: 0,
      poison: 0,
      invalid: 0,
      bodyBytes: 0,
    },
    live,
  );
  let seq = 0;

  const apply = (key: string, c: ChunkUploadRequest): ChunkUploadResponse => {
    const seen = applied.get(key);
    if (seen) {
      seen.deliveries += 1;
      counters.duplicates += 1;
    } else {
      const entry: AppliedChunk = {
        key,
        reportId: c.report_id,
        chunkIndex: c.chunk_index,
        totalChunks: c.total_chunks,
        checksum: c.checksum,
        dataBase64Bytes: c.data.length,
        deliveries: 1,
      };
      applied.set(key, entry);
      const pos = `${c.report_id}#${c.chunk_index}`;
      const list = byPosition.get(pos) ?? [];
      list.push(entry);
      byPosition.set(pos, list);
      order.push(pos);
      counters.applied += 1;
    }
    return chunkAck(c, `c${++seq}`, seen !== undefined);
  };

  /** The fault to inject into one request, drawn in the ingest server's order (reset, 429, 503). */
  const drawFault = (): 'reset' | 'rateLimited' | 'error' | undefined => {
    if (random() < (faults.resetRate ?? 0)) return 'reset';
    if (random() < (faults.rateLimitRate ?? 0)) return 'rateLimited';
    if (random() < (faults.errorRate ?? 0)) return 'error';
    return undefined;
  };

  const server = await startLoopbackServer(
    async (req, res) => {
      counters.requests += 1;
      if (req.method !== 'POST' || req.url !== API_PATHS.ingestChunk) {
        sendJson(res, 404, { error: 'not found' });
        return;
      }
      counters.bodyBytes += req.raw.length;
      if (options.ackOnly) {
        counters.applied += 1;
        sendJson(res, 201, { status: 'processed' });
        return;
      }
      if (req.raw.length > MAX_BODY_BYTES) {
        counters.invalid += 1;
        sendJson(res, 413, { error: 'body too large' });
        return;
      }
      if (faults.latencyMs) await new Promise((r) => setTimeout(r, faults.latencyMs));
      if (req.json === undefined) {
        counters.invalid += 1;
        sendJson(res, 400, { error: 'invalid JSON' });
        return;
      }
      const problem =
        validate(req.json) ?? (options.verifyData ? verify(req.json as ChunkUploadRequest) : undefined);
      if (problem !== undefined) {
        counters.invalid += 1;
        sendJson(res, 400, { error: problem });
        return;
      }
      const chunk = req.json as ChunkUploadRequest;
      if (faults.isPoison?.(chunk)) {
        counters.poison += 1;
        sendJson(res, 400, { error: 'poison chunk refused' });
        return;
      }
      switch (drawFault()) {
        case 'reset':
          counters.reset += 1;
          req.req.socket.destroy();
          return;
        case 'rateLimited':
          counters.rateLimited += 1;
          sendJson(
            res,
            429,
            { error: 'slow down' },
            { 'retry-after': String(faults.retryAfterSeconds ?? 1) },
          );
          return;
        case 'error':
          counters.error += 1;
          sendJson(res, 503, { error: 'injected 503' });
          return;
        case undefined:
          break;
      }
      const keyHeader = req.headers['idempotency-key'];
      const key = typeof keyHeader === 'string' && keyHeader !== '' ? keyHeader : `anon-${++seq}`;
      const answer = apply(key, chunk);
      if (random() < (faults.resetAfterApplyRate ?? 0)) {
        counters.resetAfterApply += 1;
        req.req.socket.destroy();
        return;
      }
      sendJson(res, 201, answer);
    },
    { port: options.port ?? 0, record: false },
  );

  live.server = server;
  const { url, close } = server;
  return {
    url,
    applied,
    order,
    counters,
    setFaults(next) {
      faults = { ...next };
    },
    appliedFor(reportId, chunkIndex) {
      return byPosition.get(`${reportId}#${chunkIndex}`) ?? [];
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}
