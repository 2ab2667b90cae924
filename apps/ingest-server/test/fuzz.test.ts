import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compress } from 'zstd-napi';
import { API_PATHS } from '@rediver/core';
import { startIngestServer } from '../src/index';
import type { IngestServer } from '../src/index';
import { API_KEYS, KEYS, makeChunk, makeReport, post } from './helpers';

let server: IngestServer;
const NUM_RUNS = 40;

beforeAll(async () => {
  server = await startIngestServer({ apiKeys: API_KEYS });
});
afterAll(async () => {
  await server.close();
});

const is4xx = (status: number) => status >= 400 && status < 500;

/** Strings meant to hurt: traversal, control and non-ASCII characters, SQL, huge, empty. */
const hostileString = fc.oneof(
  fc.string(),
  fc.string({ unit: 'grapheme', maxLength: 300 }),
  fc.constantFrom(
    '../../etc/passwd',
    "'; DROP TABLE chunks; --",
    '\u0000',
    'a b',
    'é',
    '%00',
    '__proto__',
    'constructor',
    '',
  ),
  fc.integer({ min: 257, max: 5000 }).map((n) => 'a'.repeat(n)),
  fc.constant('x'.repeat(2 * 1024 * 1024)),
);

const hostileNumber = fc.oneof(
  fc.integer(),
  fc.double(),
  fc.constantFrom(-1, 10_000, 10_001, Number.MAX_SAFE_INTEGER, 0.5, -0),
  fc.string(),
  fc.constant(null),
  fc.boolean(),
);

const badBase64 = fc.oneof(
  fc.string({ minLength: 1 }),
  fc.constantFrom('!!!!', 'AAA', 'AA==AA==', '====', 'A-_B', 'data:;base64,AAAA'),
  fc.uint8Array({ minLength: 1, maxLength: 512 }).map((b) => Buffer.from(b).toString('base64')),
);

describe('fuzzed hostile bodies always get a 4xx, never a 5xx or a crash', () => {
  it('random JSON to every POST route', async () => {
    const routes = [
      API_PATHS.ingest,
      API_PATHS.ingestChunk,
      API_PATHS.ingestCheck,
      API_PATHS.heartbeat,
      `${API_PATHS.commands}/x/fail`,
    ];
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...routes), fc.jsonValue({ maxDepth: 6 }), async (route, body) => {
        const res = await post(server.url + route, JSON.stringify(body) ?? 'null', {
          key: KEYS.a,
          headers: { 'x-agent-id': 'fuzz' },
        });
        expect(res.status).toBeLessThan(500);
        if (route === API_PATHS.ingest || route === API_PATHS.ingestChunk)
          expect(is4xx(res.status)).toBe(true);
      }),
      { numRuns: NUM_RUNS * 2 },
    );
  });

  it('chunk envelopes with hostile ids, wrong types, bad base64 and bad frames', async () => {
    const envelope = fc.record(
      {
        report_id: fc.oneof(hostileString, hostileNumber),
        chunk_index: hostileNumber,
        total_chunks: hostileNumber,
        compression: fc.oneof(fc.constantFrom('zstd', 'gzip', 'none', '', 'lz4', 'ZSTD'), hostileNumber),
        data: fc.oneof(badBase64, hostileNumber, fc.constant(undefined)),
        is_final: fc.oneof(fc.boolean(), hostileNumber),
        checksum: fc.oneof(fc.constant(undefined), hostileString),
      },
      { requiredKeys: [] },
    );
    await fc.assert(
      fc.asyncProperty(envelope, async (body) => {
        const res = await post(server.url + API_PATHS.ingestChunk, body, { key: KEYS.a });
        expect(is4xx(res.status)).toBe(true);
        expect(typeof res.json.message).toBe('string');
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('valid envelopes whose data is random bytes, truncated frames or JSON of the wrong shape', async () => {
    const payload = fc.oneof(
      fc.uint8Array({ maxLength: 2048 }).map((b) => Buffer.from(b)),
      fc.jsonValue().map((v) => Buffer.from(JSON.stringify(v) ?? 'null')),
    );
    await fc.assert(
      fc.asyncProperty(
        payload,
        fc.constantFrom('zstd', 'gzip', 'none'),
        fc.constantFrom('raw', 'packed', 'truncated'),
        async (bytes, compression, mode) => {
          let data: Buffer = bytes;
          if (mode !== 'raw' && compression !== 'none')
            data = compression === 'zstd' ? compress(bytes) : gzipSync(bytes);
          if (mode === 'truncated') data = data.subarray(0, Math.max(1, data.length - 3));
          if (data.length === 0) data = Buffer.from([0]);
          const body = {
            report_id: 'fuzz-frames',
            chunk_index: 0,
            total_chunks: 1,
            compression,
            data: data.toString('base64'),
            is_final: true,
          };
          const res = await post(server.url + API_PATHS.ingestChunk, body, { key: KEYS.a });
          expect(is4xx(res.status)).toBe(true);
        },
      ),
      { numRuns: NUM_RUNS },
    );
  });

  it('reports whose required fields have the wrong type', async () => {
    const paths = [
      ['metadata', 'id'],
      ['metadata', 'timestamp'],
      ['findings', 0, 'title'],
      ['findings', 0, 'severity'],
      ['findings', 0, 'type'],
      ['assets', 0, 'value'],
    ] as const;
    const wrong = fc.oneof(
      fc.integer(),
      fc.double(),
      fc.boolean(),
      fc.constant(null),
      fc.array(fc.string()),
      fc.object(),
    );
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...paths), wrong, fc.boolean(), async (path, value, wrapped) => {
        type Node = Record<string | number, unknown>;
        const report = makeReport('fuzz-types', 1) as unknown as Node;
        let node = report;
        for (const key of path.slice(0, -1)) node = node[key] as Node;
        node[path[path.length - 1]!] = value;
        const res = await post(server.url + API_PATHS.ingest, wrapped ? { report } : report, { key: KEYS.a });
        expect(is4xx(res.status)).toBe(true);
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('compressed bodies that are garbage, truncated, or JSON of random values', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ minLength: 1, maxLength: 4096 }),
        fc.constantFrom('zstd', 'gzip'),
        fc.boolean(),
        async (bytes, encoding, truncate) => {
          let body: Buffer = Buffer.from(bytes);
          if (truncate) body = (encoding === 'zstd' ? compress(body) : gzipSync(body)).subarray(0, -2);
          const res = await post(server.url + API_PATHS.ingestChunk, body, {
            key: KEYS.a,
            headers: { 'content-encoding': encoding },
          });
          expect(is4xx(res.status)).toBe(true);
        },
      ),
      { numRuns: NUM_RUNS },
    );
  });

  it('leaves no 5xx behind and still serves valid requests', async () => {
    const chunk = makeChunk('after-fuzz', 0, 1, [
      { type: 'secret', title: 't', severity: 'low', fingerprint: 'af' },
    ]);
    expect((await post(server.url + API_PATHS.ingestChunk, chunk, { key: KEYS.a })).status).toBe(201);
    const statuses = Object.keys(server.metrics().byStatus).map(Number);
    expect(statuses.filter((s) => s >= 500)).toEqual([]);
  });
});
