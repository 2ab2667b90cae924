import type { IncomingHttpHeaders, IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { gunzipSync } from 'node:zlib';

/** One request as the test server saw it. */
export interface SeenRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  /** Bytes on the wire. */
  raw: Buffer;
  /** Body after `Content-Encoding` was undone, as text. */
  text: string;
  /** Parsed JSON body, or undefined when there was none. */
  json: unknown;
}

/** Answers one request; may also do nothing (hang) or destroy the socket. */
export type Handler = (req: SeenRequest, res: ServerResponse, socket: Socket) => void;

/** A real node:http server on 127.0.0.1 port 0 that records what it receives. */
export interface TestServer {
  readonly url: string;
  readonly requests: SeenRequest[];
  /** Connections accepted so far. */
  connections(): number;
  handle(handler: Handler): void;
  close(): Promise<void>;
}

/** Sends a JSON answer. */
export function sendJson(
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

function decode(raw: Buffer, encoding: string | undefined): string {
  if (encoding === 'gzip') return gunzipSync(raw).toString('utf8');
  if (encoding === undefined || encoding === 'identity') return raw.toString('utf8');
  throw new Error(`test server: unexpected content-encoding ${encoding}`);
}

/** Starts a server; the default handler answers 200 `{}`. */
export async function startTestServer(handler?: Handler): Promise<TestServer> {
  let current: Handler = handler ?? ((_req, res) => sendJson(res, 200, {}));
  const requests: SeenRequest[] = [];
  const sockets = new Set<Socket>();
  let connections = 0;
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      const text = decode(raw, req.headers['content-encoding']);
      const seen: SeenRequest = {
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        raw,
        text,
        json: text === '' ? undefined : JSON.parse(text),
      };
      requests.push(seen);
      current(seen, res, req.socket);
    });
  });
  server.on('connection', (socket: Socket) => {
    connections += 1;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    connections: () => connections,
    handle: (h) => {
      current = h;
    },
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
