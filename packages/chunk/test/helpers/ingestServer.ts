// A loopback stand-in for the platform's `POST /api/v1/agent/ingest/chunk`: validates like the platform, applies each
// chunk once per `Idempotency-Key` (the deduplicating server the engine's exactly-once effect relies on), and injects
// the faults the tests need (5xx, dropped connections, 429 + Retry-After, poison chunks, latency). Deterministic:
// faults come from a seeded PRNG.
import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { ChunkData, ChunkUploadRequest, ChunkUploadResponse } from '@rediver/core';
import { API_PATHS, isValidReportId, MAX_CHUNK_DATA_BYTES, MAX_TOTAL_CHUNKS } from '@rediver/core';
import { decompress } from 'fzstd';

/** Faults injected before a chunk is applied (drawn per request, in this order). */
export interface IngestFaults {
  /** Share of requests answered 503. */
  errorRate?: number;
  /** Share of requests whose connection is destroyed before any answer (chunk NOT applied). */
  dropRate?: number;
  /** Share of requests applied, then the connection destroyed (the client cannot know it landed). */
  dropAfterApplyRate?: number;
  /** Share of requests answered 429 with `Retry-After: retryAfterSeconds`. */
  rateLimitRate?: number;
  /** `Retry-After` value of 429 answers, seconds. */
  retryAfterSeconds?: number;
  /** Latency added before answering, ms. */
  latencyMs?: number;
  /** Chunks always refused with 400. */
  isPoison?: (chunk: ChunkUploadRequest) => boolean;
}

/** Options of the loopback server. */
export interface IngestServerOptions extends IngestFaults {
  /** PRNG seed of the faults. */
  seed?: number;
  /** Decompress `data`, check the checksum and the ChunkData header (costly; on for correctness tests). */
  verifyData?: boolean;
  /** Only drain the body and answer 201 (the bench's "server that just acknowledges"). */
  ackOnly?: boolean;
  /** Port to listen on (default: any free one); a restarted server takes its predecessor's. */
  port?: number;
}

/** A chunk the server applied. */
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

/** What the server saw. */
export interface IngestCounters {
  requests: number;
  applied: number;
  duplicates: number;
  errors: number;
  drops: number;
  dropsAfterApply: number;
  rateLimited: number;
  poison: number;
  invalid: number;
  inFlight: number;
  maxInFlight: number;
  bodyBytes: number;
}

/** The running loopback server. */
export interface IngestServer {
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

function send(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on('data', (part: Buffer) => {
      size += part.length;
      if (size > MAX_BODY_BYTES) tooLarge = true;
      else parts.push(part);
    });
    req.on('end', () => resolve(tooLarge ? undefined : Buffer.concat(parts)));
    req.on('error', reject);
  });
}

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

/** Starts the loopback ingest server on 127.0.0.1, port 0. */
export async function startIngestServer(options: IngestServerOptions = {}): Promise<IngestServer> {
  let faults: IngestFaults = { ...options };
  const random = seededRandom(options.seed ?? 1);
  const applied = new Map<string, AppliedChunk>();
  const byPosition = new Map<string, AppliedChunk[]>();
  const order: string[] = [];
  const sockets = new Set<Socket>();
  const counters: IngestCounters = {
    requests: 0,
    applied: 0,
    duplicates: 0,
    errors: 0,
    drops: 0,
    dropsAfterApply: 0,
    rateLimited: 0,
    poison: 0,
    invalid: 0,
    inFlight: 0,
    maxInFlight: 0,
    bodyBytes: 0,
  };
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
    return {
      chunk_id: `c${++seq}`,
      report_id: c.report_id,
      chunk_index: c.chunk_index,
      status: seen ? 'duplicate' : 'processed',
      assets_created: 0,
      assets_updated: 0,
      findings_created: 0,
      findings_updated: 0,
      findings_skipped: 0,
    };
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (req.method !== 'POST' || req.url !== API_PATHS.ingestChunk) {
      send(res, 404, { error: 'not found' });
      return;
    }
    if (options.ackOnly) {
      for await (const part of req) counters.bodyBytes += (part as Buffer).length;
      counters.applied += 1;
      send(res, 201, { status: 'processed' });
      return;
    }
    const raw = await readBody(req);
    if (raw === undefined) {
      counters.invalid += 1;
      send(res, 413, { error: 'body too large' });
      return;
    }
    counters.bodyBytes += raw.length;
    if (faults.latencyMs) await new Promise((r) => setTimeout(r, faults.latencyMs));
    let body: unknown;
    try {
      body = JSON.parse(raw.toString('utf8'));
    } catch {
      counters.invalid += 1;
      send(res, 400, { error: 'invalid JSON' });
      return;
    }
    const problem = validate(body) ?? (options.verifyData ? verify(body as ChunkUploadRequest) : undefined);
    if (problem !== undefined) {
      counters.invalid += 1;
      send(res, 400, { error: problem });
      return;
    }
    const chunk = body as ChunkUploadRequest;
    if (faults.isPoison?.(chunk)) {
      counters.poison += 1;
      send(res, 400, { error: 'poison chunk refused' });
      return;
    }
    if (random() < (faults.errorRate ?? 0)) {
      counters.errors += 1;
      send(res, 503, { error: 'injected 503' });
      return;
    }
    if (random() < (faults.dropRate ?? 0)) {
      counters.drops += 1;
      req.socket.destroy();
      return;
    }
    if (random() < (faults.rateLimitRate ?? 0)) {
      counters.rateLimited += 1;
      send(res, 429, { error: 'slow down' }, { 'retry-after': String(faults.retryAfterSeconds ?? 1) });
      return;
    }
    const keyHeader = req.headers['idempotency-key'];
    const key = typeof keyHeader === 'string' && keyHeader !== '' ? keyHeader : `anon-${++seq}`;
    const answer = apply(key, chunk);
    if (random() < (faults.dropAfterApplyRate ?? 0)) {
      counters.dropsAfterApply += 1;
      req.socket.destroy();
      return;
    }
    send(res, 201, answer);
  };

  const server = createServer((req, res) => {
    counters.requests += 1;
    counters.inFlight += 1;
    counters.maxInFlight = Math.max(counters.maxInFlight, counters.inFlight);
    const done = (): void => {
      counters.inFlight -= 1;
    };
    handle(req, res)
      .catch(() => {
        if (!res.headersSent) send(res, 500, { error: 'internal' });
      })
      .finally(done);
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    applied,
    order,
    counters,
    setFaults(next) {
      faults = { ...next };
    },
    appliedFor(reportId, chunkIndex) {
      return byPosition.get(`${reportId}#${chunkIndex}`) ?? [];
    },
    close() {
      for (const socket of sockets) socket.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
