// A real node:http server on 127.0.0.1 that records what it receives and answers through a handler the test
// sets (and may change mid-test). The base of every loopback stand-in of the platform in the tests.
import { createServer } from 'node:http';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { gunzipSync } from 'node:zlib';

/** One request as the server saw it, body fully read. */
export interface SeenRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  /** Bytes on the wire. */
  readonly raw: Buffer;
  /** Body after a gzip `Content-Encoding` was undone, as UTF-8 text ('' for another encoding). */
  readonly text: string;
  /** Parsed JSON body; undefined when empty or not JSON. */
  readonly json: unknown;
  /** The live request (for `req.socket`, `res.on('close')`, …). */
  readonly req: IncomingMessage;
}

/** Answers one request; may also not answer (hang) or destroy the socket. */
export type LoopbackHandler = (req: SeenRequest, res: ServerResponse, socket: Socket) => unknown;

/** Options of `startLoopbackServer`. */
export interface LoopbackServerOptions {
  /** Port to listen on; default 0 (a free one). A restarted server can take its predecessor's. */
  port?: number;
  /** Keep `raw`/`text` of recorded requests (default true; false for high-volume benches). */
  record?: boolean;
}

/** The running server. */
export interface LoopbackServer {
  /** `http://127.0.0.1:<port>`. */
  readonly url: string;
  readonly port: number;
  /** Requests seen, oldest first (empty when `record: false`). */
  readonly requests: SeenRequest[];
  /** Connections accepted so far. */
  connections(): number;
  /** Requests arrived and not answered (or aborted) yet. */
  inFlight(): number;
  /** The most requests in flight at once so far. */
  maxInFlight(): number;
  /** Replaces the handler. */
  handle(handler: LoopbackHandler): void;
  /** Destroys open connections and stops listening (idempotent). */
  readonly close: () => Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** Sends a JSON answer with its length. */
export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Readonly<Record<string, string>> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

function decode(raw: Buffer, encoding: string | undefined): string {
  if (encoding === 'gzip') return gunzipSync(raw).toString('utf8');
  if (encoding === undefined || encoding === 'identity') return raw.toString('utf8');
  return '';
}

function parseJson(text: string): unknown {
  if (text === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** Starts a server on 127.0.0.1; the default handler answers 200 `{}`. */
export async function startLoopbackServer(
  handler?: LoopbackHandler,
  options: LoopbackServerOptions = {},
): Promise<LoopbackServer> {
  let current: LoopbackHandler = handler ?? ((_req, res) => sendJson(res, 200, {}));
  const requests: SeenRequest[] = [];
  const sockets = new Set<Socket>();
  let connections = 0;
  let inFlight = 0;
  let maxInFlight = 0;
  const server = createServer((req, res) => {
    inFlight += 1;
    maxInFlight = Math.max(maxInFlight, inFlight);
    res.once('close', () => {
      inFlight -= 1;
    });
    const parts: Buffer[] = [];
    req.on('data', (part: Buffer) => parts.push(part));
    req.on('end', () => {
      const raw = Buffer.concat(parts);
      const text = decode(raw, req.headers['content-encoding']);
      const seen: SeenRequest = {
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        raw,
        text,
        json: parseJson(text),
        req,
      };
      if (options.record !== false) requests.push(seen);
      Promise.resolve()
        .then(() => current(seen, res, req.socket))
        .catch(() => {
          if (!res.headersSent) sendJson(res, 500, { error: 'loopback handler failed' });
        });
    });
  });
  server.on('connection', (socket: Socket) => {
    connections += 1;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;
  let closed: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closed ??= new Promise<void>((resolve) => {
      for (const socket of sockets) socket.destroy();
      server.close(() => resolve());
    });
    return closed;
  };
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    connections: () => connections,
    inFlight: () => inFlight,
    maxInFlight: () => maxInFlight,
    handle: (next) => {
      current = next;
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}

/** Where a platform's counters read the live in-flight figures: set to the server once it listens. */
export interface LiveServer {
  server?: LoopbackServer;
}

/** Adds live `inFlight`/`maxInFlight` getters (read from `live.server`) to a platform's `counters`. */
export function withInFlight<T extends object>(
  counters: T,
  live: LiveServer,
): T & { readonly inFlight: number; readonly maxInFlight: number } {
  return Object.defineProperties(counters, {
    inFlight: { enumerable: true, get: () => live.server?.inFlight() ?? 0 },
    maxInFlight: { enumerable: true, get: () => live.server?.maxInFlight() ?? 0 },
  }) as T & { readonly inFlight: number; readonly maxInFlight: number };
}
