// A loopback platform with a capacity: it serves K requests at once at full speed (`baseLatencyMs` each), slows
// down past K (each request takes `baseLatencyMs × inFlight / K`, so throughput stays at its capacity K/base), and
// answers 429 with `Retry-After` past 2K. For the adaptive-concurrency test and bench (issue 13).
import { createServer } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { API_PATHS } from '@rediver/core';
import { ackResponse } from './memoryUploader';

/** Options of the capacity-limited server. */
export interface CapacityServerOptions {
  /** Requests served at once at full speed. */
  capacity: number;
  /** Latency of one request at or under capacity, ms. */
  baseLatencyMs: number;
  /** `Retry-After` of a 429, seconds (default 1). */
  retryAfterSeconds?: number;
}

/** The running server. */
export interface CapacityServer {
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
}

/** Starts the server on 127.0.0.1, port 0. */
export async function startCapacityServer(options: CapacityServerOptions): Promise<CapacityServer> {
  let capacity = options.capacity;
  const counters = { requests: 0, acked: 0, rateLimited: 0, inFlight: 0, maxInFlight: 0 };
  const keys = new Set<string>();
  const sockets = new Set<Socket>();
  const server = createServer((req, res) => {
    counters.requests += 1;
    counters.inFlight += 1;
    counters.maxInFlight = Math.max(counters.maxInFlight, counters.inFlight);
    const done = (): void => {
      counters.inFlight -= 1;
    };
    const body: Buffer[] = [];
    req.on('data', (b: Buffer) => body.push(b));
    req.on('end', () => {
      if (req.url !== API_PATHS.ingestChunk) {
        res.writeHead(404).end();
        done();
        return;
      }
      if (counters.inFlight > 2 * capacity) {
        counters.rateLimited += 1;
        res.writeHead(429, {
          'retry-after': String(options.retryAfterSeconds ?? 1),
          'content-type': 'application/json',
        });
        res.end('{"error":"slow down"}');
        done();
        return;
      }
      const latency = options.baseLatencyMs * Math.max(1, counters.inFlight / capacity);
      setTimeout(() => {
        const key = req.headers['idempotency-key'];
        if (typeof key === 'string') keys.add(key);
        counters.acked += 1;
        // The answer names the chunk it acknowledges, as the platform's does (a client may check it).
        let chunk = { report_id: 'r', chunk_index: 0 };
        try {
          chunk = JSON.parse(Buffer.concat(body).toString('utf8')) as typeof chunk;
        } catch {
          // Not JSON: acknowledged as chunk 0 of report r.
        }
        const answer = JSON.stringify(
          ackResponse({ report_id: chunk.report_id, chunk_index: chunk.chunk_index }, String(counters.acked)),
        );
        res.writeHead(201, {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(answer),
        });
        res.end(answer);
        done();
      }, latency);
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    counters,
    keys,
    setCapacity(next) {
      capacity = next;
    },
    capacityPerSecond: () => (capacity * 1000) / options.baseLatencyMs,
    close() {
      for (const s of sockets) s.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
