// A loopback chunk ingest with a capacity: it serves K requests at once at full speed (`baseLatencyMs` each), slows
// down past K (each request takes `baseLatencyMs × inFlight / K`, so throughput stays at its capacity K/base), and
// answers 429 with `Retry-After` past 2K. For adaptive-concurrency tests and benches.
import { API_PATHS } from '@rediver/core';
import { chunkAck } from './ingestPlatform';
import { sendJson, startLoopbackServer, withInFlight } from './loopback';
import type { LiveServer } from './loopback';

/** Options of `startCapacityPlatform`. */
export interface CapacityPlatformOptions {
  /** Requests served at once at full speed. */
  capacity: number;
  /** Latency of one request at or under capacity, ms. */
  baseLatencyMs: number;
  /** `Retry-After` of a 429, seconds (default 1). */
  retryAfterSeconds?: number;
}

/** The running platform. */
export interface CapacityPlatform {
  readonly url: string;
  readonly counters: {
    requests: number;
    acked: number;
    rateLimited: number;
    inFlight: number;
    maxInFlight: number;
  };
  /** Distinct `Idempotency-Key`s acknowledged. */
  readonly keys: Set<string>;
  /** Changes the capacity (the platform slows down or recovers). */
  setCapacity(capacity: number): void;
  /** Capacity in requests per second: K / base latency. */
  readonly capacityPerSecond: () => number;
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** Starts the platform on 127.0.0.1, port 0. */
export async function startCapacityPlatform(options: CapacityPlatformOptions): Promise<CapacityPlatform> {
  let capacity = options.capacity;
  // Set once listening; the counters read the live figures from it.
  const live: LiveServer = {};
  const counters = withInFlight({ requests: 0, acked: 0, rateLimited: 0 }, live);
  const keys = new Set<string>();
  const server = await startLoopbackServer(
    (req, res) => {
      counters.requests += 1;
      if (req.url !== API_PATHS.ingestChunk) {
        res.writeHead(404).end();
        return;
      }
      if (counters.inFlight > 2 * capacity) {
        counters.rateLimited += 1;
        sendJson(res, 429, { error: 'slow down' }, { 'retry-after': String(options.retryAfterSeconds ?? 1) });
        return;
      }
      const latency = options.baseLatencyMs * Math.max(1, counters.inFlight / capacity);
      setTimeout(() => {
        const key = req.headers['idempotency-key'];
        if (typeof key === 'string') keys.add(key);
        counters.acked += 1;
        // The answer names the chunk it acknowledges, as the platform's does (a client may check it).
        const chunk = (req.json ?? { report_id: 'r', chunk_index: 0 }) as {
          report_id: string;
          chunk_index: number;
        };
        sendJson(res, 201, chunkAck(chunk, String(counters.acked)));
      }, latency);
    },
    { record: false },
  );
  live.server = server;
  const { url, close } = server;
  return {
    url,
    counters,
    keys,
    setCapacity(next) {
      capacity = next;
    },
    capacityPerSecond: () => (capacity * 1000) / options.baseLatencyMs,
    close,
    [Symbol.asyncDispose]: close,
  };
}
