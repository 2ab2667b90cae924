import type { ChunkUploadRequest } from '@rediver/core';
import { COMPRESSION_THRESHOLD_BYTES } from '@rediver/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RediverClient } from '../src/index';
import { createClient, DEFAULT_CLIENT_OPTIONS, isClientError, VERSION } from '../src/index';
import { API_KEY, chunk, chunkAnswer, heartbeatBody, ingestAnswer, report } from './fixtures';
import type { SeenRequest, LoopbackServer } from '@rediver/testkit';
import { sendJson, startLoopbackServer } from '@rediver/testkit';

let server: LoopbackServer;
let client: RediverClient;

beforeEach(async () => {
  server = await startLoopbackServer();
  client = createClient({ baseUrl: server.url, apiKey: API_KEY, agentId: 'agent-7', timeoutMs: 10_000 });
});

afterEach(async () => {
  await client.close();
  await server.close();
});

function last(): SeenRequest {
  const req = server.requests.at(-1);
  if (req === undefined) throw new Error('no request arrived');
  return req;
}

function expectCommonHeaders(req: SeenRequest): void {
  expect(req.headers.authorization).toBe(`Bearer ${API_KEY}`);
  expect(req.headers['user-agent']).toBe(`rediver-agent-sdk-ts/${VERSION}`);
  expect(req.headers['x-agent-id']).toBe('agent-7');
  expect(req.headers.accept).toBe('application/json');
}

describe('ingest / uploadReport', () => {
  it('POSTs the report as is to /api/v1/agent/ingest and returns the validated answer', async () => {
    server.handle((_req, res) => sendJson(res, 200, ingestAnswer()));
    const r = report(1);
    await expect(client.ingest(r)).resolves.toEqual(ingestAnswer());
    const req = last();
    expect(req.method).toBe('POST');
    expect(req.url).toBe('/api/v1/agent/ingest');
    expectCommonHeaders(req);
    expect(req.headers['content-type']).toBe('application/json');
    expect(req.headers['idempotency-key']).toBeUndefined();
    expect(req.json).toEqual(r);
  });

  it('gzip-compresses a body over the threshold, with Content-Encoding, when that is smaller', async () => {
    server.handle((_req, res) => sendJson(res, 200, ingestAnswer()));
    const r = report(50);
    expect(JSON.stringify(r).length).toBeGreaterThan(COMPRESSION_THRESHOLD_BYTES);
    await client.ingest(r);
    const req = last();
    expect(req.headers['content-encoding']).toBe('gzip');
    expect(req.raw.length).toBeLessThan(Buffer.byteLength(JSON.stringify(r)));
    expect(req.json).toEqual(r);
  });

  it('sends a body of exactly the threshold uncompressed and one byte over compressed', async () => {
    server.handle((_req, res) => sendJson(res, 200, ingestAnswer()));
    const base = report(0);
    const size = (pad: string): number => Buffer.byteLength(JSON.stringify({ ...base, properties: { pad } }));
    const padTo = (bytes: number): string => 'a'.repeat(bytes - size(''));
    await client.ingest({ ...base, properties: { pad: padTo(COMPRESSION_THRESHOLD_BYTES) } });
    expect(last().headers['content-encoding']).toBeUndefined();
    expect(last().raw.length).toBe(COMPRESSION_THRESHOLD_BYTES);
    await client.ingest({ ...base, properties: { pad: padTo(COMPRESSION_THRESHOLD_BYTES + 1) } });
    expect(last().headers['content-encoding']).toBe('gzip');
  });

  it('sends a body over the threshold uncompressed when gzip would not make it smaller', async () => {
    // UTF-8 JSON always shrinks at 1 KiB, so lower the threshold: gzip's header makes a tiny body bigger.
    const eager = createClient({ baseUrl: server.url, apiKey: API_KEY, compressionThresholdBytes: 0 });
    try {
      server.handle((_req, res) => sendJson(res, 200, { existing: [], missing: ['fp'] }));
      await eager.checkFingerprints(['fp']);
      const req = last();
      expect(req.headers['content-encoding']).toBeUndefined();
      expect(req.raw.toString()).toBe('{"fingerprints":["fp"]}');
      await eager.checkFingerprints(Array.from({ length: 20 }, () => 'fp'));
      expect(last().headers['content-encoding']).toBe('gzip');
    } finally {
      await eager.close();
    }
  });

  it('sends Idempotency-Key when given one', async () => {
    server.handle((_req, res) => sendJson(res, 200, ingestAnswer()));
    await client.uploadReport(report(1), { idempotencyKey: 'report-key-1' });
    expect(last().headers['idempotency-key']).toBe('report-key-1');
  });

  it('maps the answer to core UploadResult in uploadReport', async () => {
    server.handle((_req, res) => sendJson(res, 200, ingestAnswer({ scan_id: 'scan-9' })));
    const result = await client.uploadReport(report(1, 'rep-1'));
    expect(result).toMatchObject({
      reportId: 'rep-1',
      scanId: 'scan-9',
      assetsCreated: 1,
      assetsUpdated: 0,
      findingsCreated: 2,
      findingsUpdated: 3,
      findingsSkipped: 4,
    });
    expect(result.durationMs).toBeGreaterThanOrEqual(0);
  });

  it('accepts a missing or null `errors` as none (Go encodes empty slices as null)', async () => {
    const { errors: _none, ...withoutErrors } = ingestAnswer();
    server.handle((_req, res) => sendJson(res, 200, withoutErrors));
    await expect(client.ingest(report())).resolves.toMatchObject({ errors: [] });
    server.handle((_req, res) => sendJson(res, 200, { ...withoutErrors, errors: null }));
    await expect(client.ingest(report())).resolves.toMatchObject({ errors: [] });
  });

  it('rejects with REQUEST_REJECTED carrying the server errors when `errors` is not empty', async () => {
    server.handle((_req, res) =>
      sendJson(res, 200, ingestAnswer({ errors: ['finding 3: bad severity', 'asset 1: no value'] })),
    );
    const err: unknown = await client.uploadReport(report()).catch((e: unknown) => e);
    expect(isClientError(err, 'REQUEST_REJECTED')).toBe(true);
    if (!isClientError(err)) return;
    expect(err.retryable).toBe(false);
    expect(err.status).toBe(200);
    expect(err.message).toContain('finding 3: bad severity');
    expect(err.details?.errors).toEqual(['finding 3: bad severity', 'asset 1: no value']);
    expect(err.details?.response).toMatchObject({ scan_id: 'scan-1', findings_created: 2 });
  });

  it('refuses an invalid report id before sending', async () => {
    await expect(client.ingest(report(1, 'bad id!'))).rejects.toMatchObject({ code: 'REPORT_ID_INVALID' });
    await expect(client.ingest(report(1, 'x'.repeat(257)))).rejects.toMatchObject({
      code: 'REPORT_ID_INVALID',
    });
    await expect(client.ingest(report(1, 'x'.repeat(256)))).rejects.toMatchObject({
      code: 'INVALID_RESPONSE',
    });
    expect(server.requests).toHaveLength(1);
  });
});

describe('uploadChunk', () => {
  it('POSTs the chunk with Idempotency-Key and returns the validated 201 answer', async () => {
    server.handle((req, res) => sendJson(res, 201, chunkAnswer(req.json as ChunkUploadRequest)));
    const c = chunk({ chunk_index: 1, is_final: true });
    await expect(client.uploadChunk(c, { idempotencyKey: 'scan-2024-01-15-abc:1' })).resolves.toEqual(
      chunkAnswer(c),
    );
    const req = last();
    expect(req.method).toBe('POST');
    expect(req.url).toBe('/api/v1/agent/ingest/chunk');
    expectCommonHeaders(req);
    expect(req.headers['content-type']).toBe('application/json');
    expect(req.headers['idempotency-key']).toBe('scan-2024-01-15-abc:1');
    expect(req.json).toEqual(c);
  });

  it('does not gzip a chunk whose data is already compressed, but does gzip a `none` chunk', async () => {
    server.handle((req, res) => sendJson(res, 201, chunkAnswer(req.json as ChunkUploadRequest)));
    const zstd = chunk({ compression: 'zstd' }, 8192);
    await client.uploadChunk(zstd, { idempotencyKey: 'k1' });
    expect(last().headers['content-encoding']).toBeUndefined();
    expect(last().raw.length).toBe(Buffer.byteLength(JSON.stringify(zstd)));
    const plain = chunk({ compression: 'none' }, 8192);
    await client.uploadChunk(plain, { idempotencyKey: 'k2' });
    expect(last().headers['content-encoding']).toBe('gzip');
    expect(last().json).toEqual(plain);
  });

  it('rejects an answer for another chunk as INVALID_RESPONSE', async () => {
    server.handle((req, res) =>
      sendJson(res, 201, chunkAnswer({ ...(req.json as ChunkUploadRequest), chunk_index: 1 })),
    );
    await expect(
      client.uploadChunk(chunk({ chunk_index: 0 }), { idempotencyKey: 'k' }),
    ).rejects.toMatchObject({
      code: 'INVALID_RESPONSE',
      status: 201,
    });
  });

  it.each([
    ['report id with a space', { report_id: 'a b' }, 'REPORT_ID_INVALID'],
    ['report id of 257 chars', { report_id: 'r'.repeat(257) }, 'REPORT_ID_INVALID'],
    ['index == total', { chunk_index: 2, total_chunks: 2 }, 'VALIDATION_FAILED'],
    ['negative index', { chunk_index: -1 }, 'VALIDATION_FAILED'],
    ['total over 10000', { chunk_index: 0, total_chunks: 10_001 }, 'VALIDATION_FAILED'],
    ['unknown compression', { compression: 'brotli' as never }, 'VALIDATION_FAILED'],
    ['empty data', { data: '' }, 'VALIDATION_FAILED'],
    ['data that is not base64', { data: 'not base64!' }, 'VALIDATION_FAILED'],
    ['data with a quote that would break the JSON', { data: 'QU"D' }, 'VALIDATION_FAILED'],
    ['unpadded data', { data: 'QUJDQQ' }, 'VALIDATION_FAILED'],
  ])('refuses a chunk with %s before sending', async (_name, overrides, code) => {
    await expect(client.uploadChunk(chunk(overrides), { idempotencyKey: 'k' })).rejects.toMatchObject({
      code,
    });
    expect(server.requests).toHaveLength(0);
  });

  it('accepts the limits exactly: 256-char id, index total-1 of 10000, 10 MiB of data', async () => {
    server.handle((req, res) => sendJson(res, 201, chunkAnswer(req.json as ChunkUploadRequest)));
    const edge = chunk(
      { report_id: 'r'.repeat(256), chunk_index: 9_999, total_chunks: 10_000 },
      10 * 1024 * 1024,
    );
    await expect(client.uploadChunk(edge, { idempotencyKey: 'edge' })).resolves.toMatchObject({
      chunk_index: 9_999,
    });
    const over = chunk({}, 10 * 1024 * 1024 + 1);
    await expect(client.uploadChunk(over, { idempotencyKey: 'over' })).rejects.toMatchObject({
      code: 'REPORT_TOO_LARGE',
    });
    expect(server.requests).toHaveLength(1);
  });

  it('refuses a missing or header-unsafe idempotency key', async () => {
    await expect(client.uploadChunk(chunk(), {} as { idempotencyKey: string })).rejects.toMatchObject({
      code: 'VALIDATION_FAILED',
    });
    await expect(client.uploadChunk(chunk(), { idempotencyKey: 'a\r\nX-Evil: 1' })).rejects.toMatchObject({
      code: 'VALIDATION_FAILED',
    });
    expect(server.requests).toHaveLength(0);
  });
});

describe('checkFingerprints', () => {
  it('POSTs { fingerprints } and returns existing/missing', async () => {
    server.handle((_req, res) => sendJson(res, 200, { existing: ['a'], missing: ['b', 'c'] }));
    await expect(client.checkFingerprints(['a', 'b', 'c'])).resolves.toEqual({
      existing: ['a'],
      missing: ['b', 'c'],
    });
    const req = last();
    expect(req.method).toBe('POST');
    expect(req.url).toBe('/api/v1/agent/ingest/check');
    expectCommonHeaders(req);
    expect(req.json).toEqual({ fingerprints: ['a', 'b', 'c'] });
  });

  it('reads null lists as empty', async () => {
    server.handle((_req, res) => sendJson(res, 200, { existing: null, missing: ['b'] }));
    await expect(client.checkFingerprints(['b'])).resolves.toEqual({ existing: [], missing: ['b'] });
  });
});

describe('heartbeat', () => {
  it('POSTs the body and returns the answer', async () => {
    server.handle((_req, res) => sendJson(res, 200, { status: 'ok', agent_id: 'agent-7', tenant_id: 't1' }));
    const body = heartbeatBody();
    await expect(client.heartbeat(body)).resolves.toEqual({
      status: 'ok',
      agent_id: 'agent-7',
      tenant_id: 't1',
    });
    const req = last();
    expect(req.method).toBe('POST');
    expect(req.url).toBe('/api/v1/agent/heartbeat');
    expectCommonHeaders(req);
    expect(req.json).toEqual(body);
  });
});

describe('commands', () => {
  const commands = [
    {
      id: 'c1',
      type: 'scan',
      priority: 'high',
      payload: { target: '/src' },
      status: 'pending',
      created_at: '2024-01-15T10:00:00Z',
    },
    { id: 'c2', type: 'collect', priority: 5 },
  ];

  it('GETs /commands?limit=N without a body and returns the array', async () => {
    server.handle((_req, res) => sendJson(res, 200, commands));
    await expect(client.pollCommands({ limit: 10 })).resolves.toEqual(commands);
    const req = last();
    expect(req.method).toBe('GET');
    expect(req.url).toBe('/api/v1/agent/commands?limit=10');
    expectCommonHeaders(req);
    expect(req.headers['content-type']).toBeUndefined();
    expect(req.raw.length).toBe(0);
  });

  it('omits limit when not given, and accepts a { commands } wrapper and null', async () => {
    server.handle((_req, res) => sendJson(res, 200, { commands }));
    await expect(client.pollCommands()).resolves.toEqual(commands);
    expect(last().url).toBe('/api/v1/agent/commands');
    server.handle((_req, res) => sendJson(res, 200, null));
    await expect(client.pollCommands()).resolves.toEqual([]);
  });

  it.each([0, -1, 1.5])('refuses limit %s', async (limit) => {
    await expect(client.pollCommands({ limit })).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
  });

  it('drives the lifecycle: acknowledge, start, complete {result}, fail {error_message}', async () => {
    server.handle((_req, res) => {
      res.writeHead(204);
      res.end();
    });
    await client.acknowledgeCommand('c/1');
    await client.startCommand('c/1');
    await client.completeCommand('c/1', { findings: 3 });
    await client.completeCommand('c2');
    await client.failCommand('c3', 'scanner crashed');
    const seen = server.requests.map((r) => [r.method, r.url, r.json]);
    expect(seen).toEqual([
      ['POST', '/api/v1/agent/commands/c%2F1/acknowledge', {}],
      ['POST', '/api/v1/agent/commands/c%2F1/start', {}],
      ['POST', '/api/v1/agent/commands/c%2F1/complete', { result: { findings: 3 } }],
      ['POST', '/api/v1/agent/commands/c2/complete', {}],
      ['POST', '/api/v1/agent/commands/c3/fail', { error_message: 'scanner crashed' }],
    ]);
    for (const r of server.requests) expectCommonHeaders(r);
  });

  it('accepts any 2xx answer body for lifecycle calls', async () => {
    server.handle((_req, res) => sendJson(res, 200, { status: 'acknowledged', anything: [1, 2] }));
    await expect(client.acknowledgeCommand('c1')).resolves.toBeUndefined();
    server.handle((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('fine');
    });
    await expect(client.startCommand('c1')).resolves.toBeUndefined();
  });

  it('refuses an empty command id', async () => {
    await expect(client.acknowledgeCommand('')).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    expect(server.requests).toHaveLength(0);
  });
});

describe('options on the wire', () => {
  it('uses the base URL path prefix, the user agent, and no X-Agent-ID without an agent id', async () => {
    const other = createClient({
      baseUrl: `${server.url}/platform/`,
      apiKey: API_KEY,
      userAgent: 'my-agent/2.0',
    });
    try {
      server.handle((_req, res) => sendJson(res, 200, { status: 'ok', agent_id: 'a', tenant_id: 't' }));
      await other.heartbeat(heartbeatBody());
      const req = last();
      expect(req.url).toBe('/platform/api/v1/agent/heartbeat');
      expect(req.headers['user-agent']).toBe('my-agent/2.0');
      expect(req.headers['x-agent-id']).toBeUndefined();
    } finally {
      await other.close();
    }
  });

  it('logs one debug line per request with method, path, status, bytes and encoding, never headers', async () => {
    const lines: unknown[][] = [];
    const push = (...args: unknown[]): void => {
      lines.push(args);
    };
    const logged = createClient({
      baseUrl: server.url,
      apiKey: API_KEY,
      logger: { debug: push, info: push, warn: push, error: push },
    });
    try {
      server.handle((_req, res) => sendJson(res, 200, ingestAnswer()));
      await logged.ingest(report(50));
      expect(lines).toHaveLength(1);
      expect(lines[0]![0]).toMatchObject({
        method: 'POST',
        path: '/api/v1/agent/ingest',
        status: 200,
        bytes: last().raw.length,
        encoding: 'gzip',
      });
      expect(JSON.stringify(lines)).not.toMatch(/authorization|bearer/i);
    } finally {
      await logged.close();
    }
  });

  it('exposes frozen defaults', () => {
    expect(Object.isFrozen(DEFAULT_CLIENT_OPTIONS)).toBe(true);
    expect(DEFAULT_CLIENT_OPTIONS.compressionThresholdBytes).toBe(COMPRESSION_THRESHOLD_BYTES);
  });
});
