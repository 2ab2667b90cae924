import * as http from 'node:http';
import type { IncomingHttpHeaders, IncomingMessage, OutgoingHttpHeaders } from 'node:http';
import * as https from 'node:https';

/** One request as the client sends it. */
export interface TransportRequest {
  method: string;
  /** Path and query, already prefixed. */
  path: string;
  headers: Readonly<Record<string, string>>;
  body?: Uint8Array | undefined;
  /** Aborts the request (and its answer's body). */
  signal: AbortSignal;
}

/** An answer's head; its body is read by the caller (and destroyed on abort). */
export interface TransportResponse {
  statusCode: number;
  headers: IncomingHttpHeaders;
  body: IncomingMessage;
}

/** Why a request was not sent: the transport is closed (classified as `CLOSED`). */
export const TRANSPORT_CLOSED = 'REDIVER_TRANSPORT_CLOSED';

/**
 * Keep-alive HTTP(S) to one origin on Node's own `http`/`https` agents: at most `connections` sockets, one
 * request at a time on each. Node's modules instead of undici's `Pool`: undici loads `node:http2` (with `http` and
 * `tls`) and its WebAssembly HTTP parser at start, about 11 MB of RSS against 3.6 MB for `http` + `https`
 * (measured alone, Node 20), which was most of an idle agent's footprint above a bare Node (issue 17).
 * Timeouts are the caller's: it aborts through `signal` when its deadline passes.
 */
export class Transport {
  /** Where every request goes: the origin's protocol, host (without IPv6 brackets) and port, taken once. */
  readonly #target: { protocol: string; hostname: string; port: number | undefined };
  readonly #agent: http.Agent;
  readonly #request: typeof http.request;
  readonly #inFlight = new Set<Promise<void>>();
  #closed = false;

  constructor(origin: URL, options: { connections: number }) {
    this.#target = {
      protocol: origin.protocol,
      hostname: origin.hostname.replace(/^\[|\]$/g, ''),
      port: origin.port === '' ? undefined : Number(origin.port),
    };
    const secure = origin.protocol === 'https:';
    const agentOptions: http.AgentOptions = {
      keepAlive: true,
      maxSockets: options.connections,
      maxFreeSockets: options.connections,
      scheduling: 'lifo',
    };
    this.#agent = secure ? new https.Agent(agentOptions) : new http.Agent(agentOptions);
    this.#request = secure ? https.request : http.request;
  }

  /** Sends one request; resolves with the answer's head once it arrives. */
  request(r: TransportRequest): Promise<TransportResponse> {
    if (this.#closed) {
      return Promise.reject(Object.assign(new Error('the client is closed'), { code: TRANSPORT_CLOSED }));
    }
    let settle!: () => void;
    const done = new Promise<void>((resolve) => (settle = resolve));
    this.#inFlight.add(done);
    void done.then(() => this.#inFlight.delete(done));
    return new Promise<TransportResponse>((resolve, reject) => {
      const headers: OutgoingHttpHeaders = { ...r.headers };
      if (r.body !== undefined) headers['content-length'] = r.body.byteLength;
      const req = this.#request({
        ...this.#target,
        method: r.method,
        path: r.path,
        headers,
        agent: this.#agent,
        signal: r.signal,
      });
      req.once('response', (res) => {
        // In flight until its body is read or dropped (close() waits for it).
        res.once('close', settle);
        resolve({ statusCode: res.statusCode ?? 0, headers: res.headers, body: res });
      });
      req.once('error', (err) => {
        settle();
        reject(err);
      });
      req.end(r.body);
    });
  }

  /** Refuses new requests, waits for those in flight (each bounded by its caller's deadline), closes the sockets. */
  async close(): Promise<void> {
    this.#closed = true;
    while (this.#inFlight.size > 0) await Promise.allSettled([...this.#inFlight]);
    this.#agent.destroy();
  }
}
