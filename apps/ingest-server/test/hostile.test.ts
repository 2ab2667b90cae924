import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compress } from 'zstd-napi';
import { API_PATHS } from '@rediver/core';
import { startIngestServer } from '../src/index';
import type { IngestServer } from '../src/index';
import { API_KEYS, finding, get, KEYS, makeChunk, post } from './helpers';
import { makeHostileBodies } from './hostileBodies';
import type { HostileBodies } from './hostileBodies';
import { rawRequest } from './rawHttp';
import type { RawAnswer } from './rawHttp';

const MIB = 1024 * 1024;
/** The criterion: RSS growth while a hostile request is handled. */
const MAX_RSS_GROWTH_BYTES = 128 * MIB;
/**
 * The criteria are an answer "within a bound" and a probe of another tenant answered within 250 ms;
 * tests never assert timings tightly on this shared 2-core machine, so these are generous (the bench measures
 * `hostile_p99_probe_ms`). The old server needed 10-190 s and gigabytes for these bodies, or died.
 */
const ANSWER_BOUND_MS = 20_000;
const PROBE_BOUND_MS = 2_000;

let server: IngestServer;

/** Runs `fn` while sampling RSS every few ms and probing the server as another tenant every 25 ms. */
async function underWatch<T>(fn: () => Promise<T>): Promise<{ result: T; growth: number; probes: number[] }> {
  const before = process.memoryUsage().rss;
  let peak = before;
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 5);
  const probes: number[] = [];
  let running = true;
  let n = 0;
  const prober = (async () => {
    while (running) {
      const started = performance.now();
      // Alternately the stats the issue saw take 9.8 s, and a chunk upload that needs a body worker.
      const res =
        n++ % 2 === 0
          ? await get(server.url + '/api/v1/agent/_stats', KEYS.b)
          : await post(server.url + API_PATHS.ingestChunk, makeChunk(`probe-${n}`, 0, 1, [finding(n)]), {
              key: KEYS.b,
            });
      expect(res.status).toBeLessThan(300);
      probes.push(performance.now() - started);
      await new Promise((r) => setTimeout(r, 25));
    }
  })();
  try {
    const result = await fn();
    peak = Math.max(peak, process.memoryUsage().rss);
    return { result, growth: peak - before, probes };
  } finally {
    running = false;
    clearInterval(sampler);
    await prober;
  }
}

function report(name: string, answer: RawAnswer, growth: number, probes: number[]): void {
  process.stdout.write(
    `${name}: HTTP ${answer.status} in ${answer.ms.toFixed(0)} ms, rss growth ${(growth / MIB).toFixed(1)} MiB, ` +
      `probes ${probes.length} max ${Math.max(0, ...probes).toFixed(0)} ms, body accepted ${(answer.written / MIB).toFixed(1)} MiB\n`,
  );
}

let bodies: HostileBodies;

beforeAll(async () => {
  server = await startIngestServer({ apiKeys: API_KEYS });
  bodies = await makeHostileBodies();
  // Warm up: the body workers start on first use.
  await post(server.url + API_PATHS.ingestChunk, makeChunk('warm-up', 0, 1, [finding(0)]), { key: KEYS.b });
}, 120_000);

afterAll(async () => {
  await server.close();
});

describe('hostile bodies within the byte limits (issue 20)', () => {
  it('the generated bombs are what the issue describes', () => {
    expect(bodies.bomb104.decodedBytes).toBeGreaterThan(100_000_000);
    expect(bodies.bomb104.decodedBytes).toBeLessThan(100 * MIB);
    expect(bodies.bomb104.decodedBytes / bodies.bomb104.frame.length).toBeLessThan(200);
    expect(bodies.bomb104.frame.length).toBeLessThan(2 * MIB);
    expect(bodies.chunkBomb52.decodedBytes).toBeGreaterThan(51_000_000);
    expect(bodies.chunkBomb52.decodedBytes).toBeLessThan(50 * MIB);
    expect(bodies.chunkBomb52.decodedBytes / bodies.chunkBomb52.frame.length).toBeLessThan(100);
    expect(bodies.plain20.length).toBeLessThanOrEqual(20 * MIB);
  });

  it.each([
    [
      '104 MB object bomb in findings (zstd)',
      () => bodies.bomb104.frame,
      'zstd',
      API_PATHS.ingest,
      413,
      'REPORT_TOO_LARGE',
    ],
    [
      '20 MB object bomb in findings (plain JSON)',
      () => bodies.plain20,
      undefined,
      API_PATHS.ingest,
      413,
      'REPORT_TOO_LARGE',
    ],
    [
      '20 MB object bomb in properties',
      () => bodies.plainProperties20,
      undefined,
      API_PATHS.ingest,
      400,
      'VALIDATION_FAILED',
    ],
  ] as const)(
    '%s: a quick 4xx, bounded memory, other tenants served',
    async (name, body, encoding, path, status, code) => {
      const { result, growth, probes } = await underWatch(() =>
        rawRequest(server.url, {
          path,
          body: body(),
          headers: {
            authorization: `Bearer ${KEYS.a}`,
            'content-type': 'application/json',
            ...(encoding === undefined ? {} : { 'content-encoding': encoding }),
          },
        }),
      );
      report(name, result, growth, probes);
      expect(result).toMatchObject({ status, json: { code } });
      expect(result.ms).toBeLessThan(ANSWER_BOUND_MS);
      expect(growth).toBeLessThan(MAX_RSS_GROWTH_BYTES);
      expect(Math.max(0, ...probes)).toBeLessThan(PROBE_BOUND_MS);
    },
  );

  it('52 MB chunk data bomb: a quick 413, bounded memory, other tenants served', async () => {
    const { result, growth, probes } = await underWatch(() =>
      rawRequest(server.url, {
        path: API_PATHS.ingestChunk,
        body: bodies.chunkBomb52Envelope,
        headers: { authorization: `Bearer ${KEYS.a}`, 'content-type': 'application/json' },
      }),
    );
    report('52 MB chunk data bomb', result, growth, probes);
    expect(result).toMatchObject({ status: 413, json: { code: 'REPORT_TOO_LARGE' } });
    expect(result.json.message).toContain('findings per chunk');
    expect(result.ms).toBeLessThan(ANSWER_BOUND_MS);
    expect(growth).toBeLessThan(MAX_RSS_GROWTH_BYTES);
    expect(Math.max(0, ...probes)).toBeLessThan(PROBE_BOUND_MS);
  });

  it('without a key or to an unknown route (four at once): answered before the body, which is not read', async () => {
    // The 104 MB bomb sent uncompressed would be refused by its Content-Length; this one is 40 MiB of `{},`.
    const body = bodies.anonymous40;
    const { result, growth, probes } = await underWatch(() =>
      Promise.all([
        rawRequest(server.url, {
          path: '/no/such/route',
          body,
          headers: { 'content-type': 'application/json' },
        }),
        rawRequest(server.url, {
          path: API_PATHS.ingest,
          body,
          headers: { 'content-type': 'application/json' },
        }),
        rawRequest(server.url, {
          path: API_PATHS.ingestChunk,
          body,
          headers: { authorization: 'Bearer rdv_wrong', 'content-type': 'application/json' },
        }),
        rawRequest(server.url, {
          path: '/_admin/nothing',
          body: bodies.bomb104.frame,
          headers: { 'content-encoding': 'zstd', 'content-type': 'application/json' },
        }),
      ]),
    );
    for (const [i, answer] of result.entries()) report(`anonymous ${i}`, answer, growth, probes);
    expect(result.map((r) => r.status)).toEqual([404, 401, 401, 404]);
    for (const answer of result) {
      expect(answer.headers.connection).toBe('close');
      expect(answer.ms).toBeLessThan(ANSWER_BOUND_MS);
      // The server closed the connection: far less than the body got in (kernel buffers hold a few MiB).
      expect(answer.written).toBeLessThan(16 * MIB);
    }
    expect(growth).toBeLessThan(MAX_RSS_GROWTH_BYTES);
    expect(Math.max(0, ...probes)).toBeLessThan(PROBE_BOUND_MS);
  });

  it('a small unauthenticated body is drained, so the connection stays usable', async () => {
    const r = await rawRequest(server.url, { path: API_PATHS.ingest, body: Buffer.from('{}') });
    expect(r.status).toBe(401);
    expect(r.headers.connection).not.toBe('close');
  });
});

describe('crafted bodies get a 4xx with a clear message', () => {
  // Uncompressed (`none`), so the decompression ratio limit does not answer first.
  const chunkWith = (data: Buffer, compression: 'zstd' | 'none' = 'none') => ({
    report_id: 'crafted',
    chunk_index: 0,
    total_chunks: 1,
    compression,
    data: (compression === 'zstd' ? compress(data) : data).toString('base64'),
    is_final: true,
  });
  const head =
    '"report_id":"crafted","chunk_index":0,"total_chunks":1,"is_final":true,' +
    '"tool":{"name":"t"},"metadata":{"id":"crafted","timestamp":"2026-01-15T10:00:00Z"}';

  it.each([
    [
      'nesting 100,000 deep',
      `{${head},"properties":{"x":${'['.repeat(100_000)}${']'.repeat(100_000)}}}`,
      400,
      'nested deeper',
    ],
    ['a member name of 2 KiB', `{${head},"properties":{"${'k'.repeat(2048)}":1}}`, 400, 'member name'],
    [
      'a string of 5 MiB',
      `{${head},"properties":{"x":"${'s'.repeat(5 * MIB)}"}}`,
      400,
      'string of more than',
    ],
    [
      'an escaped lone surrogate',
      `{${head},"findings":[{"type":"t","title":"\\ud800","severity":"low"}]}`,
      400,
      'lone surrogate',
    ],
    [
      'start_line 1e300',
      `{${head},"findings":[{"type":"t","title":"x","severity":"low","location":{"start_line":1e300}}]}`,
      400,
      'start_line',
    ],
    [
      'a number of 100 digits',
      `{${head},"properties":{"x":${'9'.repeat(100)}}}`,
      400,
      'a number of more than',
    ],
    [
      '6,000 findings',
      `{${head},"findings":[${Array(6000).fill('{"type":"t","title":"x","severity":"low"}').join(',')}]}`,
      413,
      'findings per chunk',
    ],
  ])('chunk data with %s', async (_name, json, status, text) => {
    const res = await post(server.url + API_PATHS.ingestChunk, chunkWith(Buffer.from(json)), { key: KEYS.a });
    expect(res.status).toBe(status);
    expect(res.json.message).toContain(text);
  });

  it('chunk data and bodies that are not UTF-8', async () => {
    const bad = Buffer.concat([
      Buffer.from(`{${head},"findings":[{"type":"t","title":"`),
      Buffer.from([0xc3, 0x28]),
      Buffer.from('","severity":"low"}]}'),
    ]);
    const res = await post(server.url + API_PATHS.ingestChunk, chunkWith(bad), { key: KEYS.a });
    expect(res).toMatchObject({ status: 400, json: { message: expect.stringContaining('not valid UTF-8') } });
    const body = Buffer.concat([Buffer.from('{"name":"'), Buffer.from([0xff]), Buffer.from('"}')]);
    const hb = await post(server.url + API_PATHS.heartbeat, body, { key: KEYS.a });
    expect(hb).toMatchObject({ status: 400, json: { message: expect.stringContaining('not valid UTF-8') } });
  });

  it('a command id longer than the router allows: 414 with a documented code', async () => {
    const res = await post(
      server.url + `${API_PATHS.commands}/${'a'.repeat(200)}/start`,
      {},
      { key: KEYS.a },
    );
    expect(res).toMatchObject({ status: 414, json: { code: 'VALIDATION_FAILED' } });
  });

  it('fuzzed values anywhere in a chunk never give a 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.jsonValue({ maxDepth: 5 }),
        fc.constantFrom('findings', 'assets', 'properties', 'tool', 'metadata'),
        async (value, field) => {
          const data = {
            report_id: 'fuzz-in',
            chunk_index: 0,
            total_chunks: 1,
            is_final: true,
            tool: { name: 't' },
            metadata: { id: 'fuzz-in', timestamp: '2026-01-15T10:00:00Z' },
            [field]: value,
          };
          const res = await post(
            server.url + API_PATHS.ingestChunk,
            chunkWith(Buffer.from(JSON.stringify(data)), 'zstd'),
            { key: KEYS.a },
          );
          expect(res.status).toBeLessThan(500);
        },
      ),
      { numRuns: 60 },
    );
    expect(Object.keys(server.metrics().byStatus).filter((s) => Number(s) >= 500)).toEqual([]);
  });
});

describe('X-Agent-ID in UTF-8', () => {
  /** A heartbeat whose `X-Agent-ID` header is these bytes. */
  const heartbeat = (agentIdBytes: Buffer, body: string) =>
    rawRequest(server.url, {
      path: API_PATHS.heartbeat,
      body: Buffer.from(body),
      headers: {
        authorization: `Bearer ${KEYS.a}`,
        'content-type': 'application/json',
        'x-agent-id': agentIdBytes.toString('latin1'),
      },
    });

  it('is stored as sent, and refused when it is not UTF-8', async () => {
    const id = 'agent-é-東京';
    const res = await heartbeat(Buffer.from(id, 'utf8'), '{"status":"online"}');
    expect(res).toMatchObject({ status: 200, json: { agent_id: id } });
    expect(server.lastHeartbeat('tenant-a', id)).toMatchObject({ agentId: id, count: 1 });
    const broken = await heartbeat(Buffer.from([0xff, 0xfe]), '{}');
    expect(broken).toMatchObject({ status: 400, json: { message: expect.stringContaining('UTF-8') } });
  });
});
