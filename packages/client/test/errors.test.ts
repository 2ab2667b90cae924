import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { inspect } from 'node:util';
import type { ChunkUploadRequest, Logger } from '@rediver/core';
import { isRetryableError } from '@rediver/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ClientError, RediverClient } from '../src/index';
import { createClient, isClientError } from '../src/index';
import { API_KEY, chunk, chunkAnswer, heartbeatBody, ingestAnswer, report } from './fixtures';
import type { LoopbackServer } from '@rediver/testkit';
import { sendJson, startLoopbackServer } from '@rediver/testkit';

/** Everything logged, for the key-leak search. */
const logged: unknown[] = [];
const captureLogger: Logger = {
  debug: (...args: unknown[]) => logged.push(args),
  info: (...args: unknown[]) => logged.push(args),
  warn: (...args: unknown[]) => logged.push(args),
  error: (...args: unknown[]) => logged.push(args),
};

const NOW_MS = Date.parse('2026-01-01T00:00:00Z');

let server: LoopbackServer;
let client: RediverClient;

function makeClient(url: string, timeoutMs = 10_000): RediverClient {
  return createClient({
    baseUrl: url,
    apiKey: API_KEY,
    timeoutMs,
    logger: captureLogger,
    clock: { now: () => NOW_MS },
  });
}

beforeEach(async () => {
  logged.length = 0;
  server = await startLoopbackServer();
  client = makeClient(server.url);
});

afterEach(async () => {
  await client.close();
  await server.close();
});

async function failure(p: Promise<unknown>): Promise<ClientError> {
  const err: unknown = await p.then(
    () => new Error('expected the call to fail'),
    (e: unknown) => e,
  );
  if (!isClientError(err)) throw err;
  return err;
}

const heartbeatCall = (c: RediverClient): Promise<unknown> => c.heartbeat(heartbeatBody());

describe('status classification', () => {
  it.each([
    [400, 'REQUEST_REJECTED', false],
    [401, 'AUTH_FAILED', false],
    [403, 'AUTH_FAILED', false],
    [404, 'REQUEST_REJECTED', false],
    [408, 'SERVER_ERROR', true],
    [409, 'REQUEST_REJECTED', false],
    [413, 'REQUEST_REJECTED', false],
    [415, 'REQUEST_REJECTED', false],
    [422, 'REQUEST_REJECTED', false],
    [429, 'RATE_LIMITED', true],
    [500, 'SERVER_ERROR', true],
    [502, 'SERVER_ERROR', true],
    [503, 'SERVER_ERROR', true],
  ] as const)(
    'HTTP %i -> %s (retryable: %s), with status and the server message',
    async (status, code, retryable) => {
      server.handle((_req, res) => sendJson(res, status, { error: `server says ${status}` }));
      const err = await failure(heartbeatCall(client));
      expect(err.code).toBe(code);
      expect(err.retryable).toBe(retryable);
      expect(isRetryableError(err)).toBe(retryable);
      expect(err.status).toBe(status);
      expect(err.method).toBe('POST');
      expect(err.path).toBe('/api/v1/agent/heartbeat');
      expect(err.message).toContain(`server says ${status}`);
      expect(err.name).toBe('ClientError');
    },
  );

  it('takes the message from `message`, `error.message`, or plain text', async () => {
    server.handle((_req, res) => sendJson(res, 422, { message: 'report_id: invalid characters' }));
    expect((await failure(heartbeatCall(client))).message).toContain('report_id: invalid characters');
    server.handle((_req, res) => sendJson(res, 400, { error: { code: 'X', message: 'nested message' } }));
    expect((await failure(heartbeatCall(client))).message).toContain('nested message');
    server.handle((_req, res) => {
      res.writeHead(413, { 'content-type': 'text/plain' });
      res.end('body too large');
    });
    const err = await failure(heartbeatCall(client));
    expect(err.message).toContain('body too large');
    expect(err.details?.serverMessage).toBe('body too large');
  });

  it('truncates a long server message to 512 characters', async () => {
    server.handle((_req, res) => sendJson(res, 400, { error: 'x'.repeat(5000) }));
    const err = await failure(heartbeatCall(client));
    expect(err.details?.serverMessage).toBe(`${'x'.repeat(512)}…`);
  });

  it('reads Retry-After as delta seconds', async () => {
    server.handle((_req, res) => sendJson(res, 429, { error: 'slow down' }, { 'retry-after': '7' }));
    const err = await failure(heartbeatCall(client));
    expect(err.code).toBe('RATE_LIMITED');
    expect(err.retryAfterMs).toBe(7000);
  });

  it('reads Retry-After as an HTTP date, relative to the clock', async () => {
    const at = new Date(NOW_MS + 90_000).toUTCString();
    server.handle((_req, res) => sendJson(res, 429, { error: 'slow down' }, { 'retry-after': at }));
    expect((await failure(heartbeatCall(client))).retryAfterMs).toBe(90_000);
  });

  it('leaves retryAfterMs undefined on 429 without a readable Retry-After', async () => {
    server.handle((_req, res) => sendJson(res, 429, {}));
    expect((await failure(heartbeatCall(client))).retryAfterMs).toBeUndefined();
    server.handle((_req, res) => sendJson(res, 429, {}, { 'retry-after': 'soon' }));
    expect((await failure(heartbeatCall(client))).retryAfterMs).toBeUndefined();
  });

  it('honours Retry-After on 503 too', async () => {
    server.handle((_req, res) => sendJson(res, 503, {}, { 'retry-after': '2' }));
    const err = await failure(heartbeatCall(client));
    expect(err.code).toBe('SERVER_ERROR');
    expect(err.retryAfterMs).toBe(2000);
  });

  it('does not follow a redirect: 3xx is INVALID_RESPONSE', async () => {
    server.handle((_req, res) => {
      res.writeHead(302, { location: '/elsewhere' });
      res.end();
    });
    const err = await failure(heartbeatCall(client));
    expect(err.code).toBe('INVALID_RESPONSE');
    expect(err.status).toBe(302);
    expect(server.requests).toHaveLength(1);
  });

  it('classifies errors on every endpoint the same way', async () => {
    server.handle((_req, res) => sendJson(res, 503, { error: 'down' }));
    const calls: Array<() => Promise<unknown>> = [
      () => client.ingest(report()),
      () => client.uploadReport(report()),
      () => client.uploadChunk(chunk(), { idempotencyKey: 'k' }),
      () => client.checkFingerprints(['a']),
      () => client.heartbeat(heartbeatBody()),
      () => client.pollCommands({ limit: 1 }),
      () => client.acknowledgeCommand('c1'),
      () => client.startCommand('c1'),
      () => client.completeCommand('c1', {}),
      () => client.failCommand('c1', 'x'),
    ];
    for (const call of calls) {
      const err = await failure(call());
      expect([err.code, err.status, err.retryable]).toEqual(['SERVER_ERROR', 503, true]);
    }
  });
});

describe('failures without an answer', () => {
  it('connection reset -> NETWORK, retryable, no status', async () => {
    server.handle((_req, _res, socket) => socket.destroy());
    const err = await failure(heartbeatCall(client));
    expect(err.code).toBe('NETWORK');
    expect(err.retryable).toBe(true);
    expect(err.status).toBeUndefined();
    expect(err.cause).toBeInstanceOf(Error);
  });

  it('connection refused -> NETWORK, retryable', async () => {
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const { port } = probe.address() as AddressInfo;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const refused = makeClient(`http://127.0.0.1:${port}`);
    try {
      const err = await failure(heartbeatCall(refused));
      expect(err.code).toBe('NETWORK');
      expect(err.retryable).toBe(true);
      expect(err.message).toContain('ECONNREFUSED');
    } finally {
      await refused.close();
    }
  });

  it('no answer within timeoutMs -> TIMEOUT, retryable', async () => {
    server.handle(() => {
      // Never answer.
    });
    const slow = makeClient(server.url, 150);
    try {
      const err = await failure(heartbeatCall(slow));
      expect(err.code).toBe('TIMEOUT');
      expect(err.retryable).toBe(true);
    } finally {
      await slow.close();
    }
  });

  it('a body that stalls after the headers -> TIMEOUT', async () => {
    server.handle((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"status":');
    });
    const slow = makeClient(server.url, 150);
    try {
      expect((await failure(heartbeatCall(slow))).code).toBe('TIMEOUT');
    } finally {
      await slow.close();
    }
  });

  it('caller abort in flight -> ABORTED, not retryable', async () => {
    const controller = new AbortController();
    server.handle(() => controller.abort());
    const err = await failure(client.heartbeat(heartbeatBody(), { signal: controller.signal }));
    expect(err.code).toBe('ABORTED');
    expect(err.retryable).toBe(false);
  });

  it('an already-aborted signal -> ABORTED without a request', async () => {
    const err = await failure(
      client.uploadChunk(chunk(), { idempotencyKey: 'k', signal: AbortSignal.abort() }),
    );
    expect(err.code).toBe('ABORTED');
    expect(server.requests).toHaveLength(0);
  });
});

describe('invalid responses', () => {
  it.each([
    ['not JSON', 'hello'],
    ['a JSON array', '[]'],
    ['missing agent_id', JSON.stringify({ status: 'ok', tenant_id: 't' })],
    ['a number where a string belongs', JSON.stringify({ status: 'ok', agent_id: 1, tenant_id: 't' })],
  ])('heartbeat answer that is %s -> INVALID_RESPONSE', async (_name, body) => {
    server.handle((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(body);
    });
    const err = await failure(heartbeatCall(client));
    expect(err.code).toBe('INVALID_RESPONSE');
    expect(err.retryable).toBe(false);
    expect(err.status).toBe(200);
  });

  it.each([
    ['a negative count', { ...ingestAnswer(), findings_created: -1 }],
    ['a fractional count', { ...ingestAnswer(), assets_created: 1.5 }],
    ['errors that are not strings', { ...ingestAnswer(), errors: [1] }],
    ['no scan_id', { ...ingestAnswer(), scan_id: undefined }],
  ])('ingest answer with %s -> INVALID_RESPONSE', async (_name, body) => {
    server.handle((_req, res) => sendJson(res, 200, body));
    expect((await failure(client.ingest(report()))).code).toBe('INVALID_RESPONSE');
  });

  it.each([
    ['a count as a string', (c: ChunkUploadRequest) => ({ ...chunkAnswer(c), findings_created: '5' })],
    ['no chunk_id', (c: ChunkUploadRequest) => ({ ...chunkAnswer(c), chunk_id: undefined })],
    ['another report id', (c: ChunkUploadRequest) => ({ ...chunkAnswer(c), report_id: 'other' })],
  ])('chunk answer with %s -> INVALID_RESPONSE', async (_name, make) => {
    server.handle((req, res) => sendJson(res, 201, make(req.json as ChunkUploadRequest)));
    expect((await failure(client.uploadChunk(chunk(), { idempotencyKey: 'k' }))).code).toBe(
      'INVALID_RESPONSE',
    );
  });

  it.each([
    ['an object', { id: 'c1' }],
    ['a command without id', [{ type: 'scan' }]],
    ['a command without type', [{ id: 'c1' }]],
    ['a non-object payload', [{ id: 'c1', type: 'scan', payload: 'x' }]],
    ['a boolean priority', [{ id: 'c1', type: 'scan', priority: true }]],
  ])('commands answer that is %s -> INVALID_RESPONSE', async (_name, body) => {
    server.handle((_req, res) => sendJson(res, 200, body));
    expect((await failure(client.pollCommands())).code).toBe('INVALID_RESPONSE');
  });

  it('fingerprint answer with a non-list -> INVALID_RESPONSE', async () => {
    server.handle((_req, res) => sendJson(res, 200, { existing: 'a', missing: [] }));
    expect((await failure(client.checkFingerprints(['a']))).code).toBe('INVALID_RESPONSE');
  });

  it('an answer over 16 MiB -> INVALID_RESPONSE (read no further)', async () => {
    const huge = JSON.stringify({
      status: 'ok',
      agent_id: 'a',
      tenant_id: 't',
      pad: 'x'.repeat(16 * 1024 * 1024),
    });
    server.handle((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(huge);
    });
    expect((await failure(heartbeatCall(client))).code).toBe('INVALID_RESPONSE');
  });
});

describe('lifecycle', () => {
  it('close() returns the same promise each call, and later calls reject with CLOSED', async () => {
    server.handle((_req, res) => sendJson(res, 200, { status: 'ok', agent_id: 'a', tenant_id: 't' }));
    await heartbeatCall(client);
    const first = client.close();
    expect(client.close()).toBe(first);
    expect(client.closed).toBe(true);
    await first;
    const err = await failure(heartbeatCall(client));
    expect(err.code).toBe('CLOSED');
    expect(err.retryable).toBe(false);
  });

  it('close() lets an in-flight request finish', async () => {
    let answer: (() => void) | undefined;
    server.handle((_req, res) => {
      answer = () => sendJson(res, 200, { status: 'ok', agent_id: 'a', tenant_id: 't' });
    });
    const call = heartbeatCall(client);
    await expect.poll(() => answer !== undefined, { timeout: 5000 }).toBe(true);
    const closing = client.close();
    answer?.();
    await expect(call).resolves.toMatchObject({ status: 'ok' });
    await closing;
  });

  it('Symbol.asyncDispose closes the client', async () => {
    await client[Symbol.asyncDispose]();
    expect(client.closed).toBe(true);
  });
});

describe('the API key never leaks', () => {
  /** Every text an error exposes: message, stack, JSON, details, and the whole cause chain. */
  function texts(err: unknown): string[] {
    return [
      String(err),
      inspect(err, { depth: null, showHidden: true }),
      JSON.stringify(err),
      JSON.stringify((err as ClientError).details ?? {}),
      (err as Error).stack ?? '',
    ];
  }

  it('is absent from every error and log line, whatever the failure', async () => {
    // A hostile server echoes the Authorization header everywhere it can.
    const echo = (req: { headers: Record<string, unknown> }): string => String(req.headers.authorization);
    const errors: unknown[] = [];
    const collect = async (p: Promise<unknown>): Promise<void> => {
      errors.push(
        await p.then(
          () => new Error('unexpected success'),
          (e: unknown) => e,
        ),
      );
    };
    for (const status of [400, 401, 403, 404, 408, 409, 413, 422, 429, 500, 502, 503]) {
      server.handle((req, res) =>
        sendJson(res, status, { error: `bad key ${echo(req)}` }, { 'retry-after': echo(req) }),
      );
      await collect(heartbeatCall(client));
      server.handle((req, res) => {
        res.writeHead(status, { 'content-type': 'text/plain' });
        res.end(`key was ${echo(req)}`);
      });
      await collect(client.uploadChunk(chunk(), { idempotencyKey: 'k' }));
    }
    server.handle((req, res) =>
      sendJson(res, 200, ingestAnswer({ errors: [`tenant for ${echo(req)} unknown`] })),
    );
    await collect(client.ingest(report()));
    server.handle((req, res) => sendJson(res, 200, { status: 'ok', agent_id: echo(req) }));
    await collect(heartbeatCall(client));
    server.handle((req, res) => {
      res.writeHead(200);
      res.end(`not json ${echo(req)}`);
    });
    await collect(client.pollCommands());
    server.handle((_req, _res, socket) => socket.destroy());
    await collect(heartbeatCall(client));
    const controller = new AbortController();
    server.handle(() => controller.abort());
    await collect(client.heartbeat(heartbeatBody(), { signal: controller.signal }));
    server.handle(() => {
      // Never answer.
    });
    const slow = makeClient(server.url, 100);
    await collect(heartbeatCall(slow));
    await slow.close();
    const refused = makeClient('http://127.0.0.1:1');
    await collect(heartbeatCall(refused));
    await refused.close();
    await collect(client.ingest({ ...report(), metadata: { id: API_KEY + '!', timestamp: 'x' } }));
    await collect(Promise.resolve().then(() => createClient({ baseUrl: 'ftp://x', apiKey: API_KEY })));
    await collect(Promise.resolve().then(() => createClient({ baseUrl: server.url, apiKey: `${API_KEY} ` })));
    await client.close();
    await collect(heartbeatCall(client));

    expect(errors.length).toBeGreaterThan(30);
    for (const err of errors) {
      expect(isClientError(err), String(err)).toBe(true);
      for (const text of texts(err)) expect(text).not.toContain(API_KEY);
    }
    expect(logged.length).toBeGreaterThan(30);
    for (const entry of logged) {
      expect(JSON.stringify(entry)).not.toContain(API_KEY);
      expect(inspect(entry, { depth: null, showHidden: true })).not.toContain(API_KEY);
    }
    // The hostile server did see the key: the search above would have found an unscrubbed echo.
    expect(server.requests.every((r) => r.headers.authorization === `Bearer ${API_KEY}`)).toBe(true);
  });
});
