import { randomBytes } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_PATHS } from '@rediver/core';
import { startIngestServer } from '../src/index';
import type { IngestServer } from '../src/index';
import { API_KEYS, finding, get, KEYS, makeChunk, makeReport, post } from './helpers';

let server: IngestServer;
let base: string;
const url = (path: string) => base + path;

beforeAll(async () => {
  server = await startIngestServer({ apiKeys: API_KEYS });
  base = server.url;
});
afterAll(async () => {
  await server.close();
});

describe('server lifecycle', () => {
  it('listens on 127.0.0.1 on a free port', () => {
    expect(server.host).toBe('127.0.0.1');
    expect(server.port).toBeGreaterThan(0);
    expect(server.url).toBe(`http://127.0.0.1:${server.port}`);
    expect(server.db.prepare('SELECT COUNT(*) AS n FROM chunks').get()).toEqual({ n: 0 });
  });

  it('close() is idempotent and stops listening', async () => {
    const s = await startIngestServer({ apiKeys: API_KEYS });
    const first = s.close();
    expect(s.close()).toBe(first);
    await first;
    await expect(fetch(s.url + API_PATHS.commands)).rejects.toThrow();
  });

  it('refuses invalid options at start with INVALID_OPTION', async () => {
    await expect(startIngestServer({ port: -5 })).rejects.toMatchObject({ code: 'INVALID_OPTION' });
  });
});

describe('logging', () => {
  it('logs one debug line per request through the injected logger, never the API key', async () => {
    const lines: string[] = [];
    const log = (obj: object | string, msg?: string) => lines.push(JSON.stringify([obj, msg]));
    const s = await startIngestServer({
      apiKeys: API_KEYS,
      logger: { debug: log, info: log, warn: log, error: log },
    });
    try {
      await get(s.url + API_PATHS.commands, KEYS.a);
      await post(s.url + API_PATHS.ingest, '{', { key: KEYS.b });
    } finally {
      await s.close();
    }
    const requests = lines.filter((l) => l.includes('ingest-server: request'));
    expect(requests).toHaveLength(2);
    expect(requests[0]).toContain('"status":200');
    expect(requests[1]).toContain('"status":400');
    expect(lines.join('\n')).not.toContain(KEYS.a);
    expect(lines.join('\n')).not.toContain(KEYS.b);
  });
});

describe('authentication', () => {
  it('accepts Bearer and X-API-Key, refuses missing or unknown keys with 401', async () => {
    expect((await get(url(API_PATHS.commands), KEYS.a)).status).toBe(200);
    expect((await get(url(API_PATHS.commands), undefined, { 'x-api-key': KEYS.b })).status).toBe(200);
    const none = await get(url(API_PATHS.commands));
    expect(none).toMatchObject({ status: 401, json: { code: 'AUTH_FAILED' } });
    const unknown = await post(url(API_PATHS.ingest), makeReport('r'), { key: 'rdv_unknown' });
    expect(unknown.status).toBe(401);
    expect(JSON.stringify(unknown.json)).not.toContain('rdv_unknown');
  });

  it('cannot be bypassed with a percent-encoded path that the router decodes', async () => {
    for (const path of ['/api/v1/%61gent/commands', '/api/v1/agent/%63ommands', '/api/v1/agent/%5Fstats']) {
      const res = await get(url(path));
      expect(res.status, path).toBeGreaterThanOrEqual(400);
      expect(res.status, path).not.toBe(200);
    }
    expect((await get(url('/api/v1/%61gent/commands'))).status).toBe(401);
    const s = await startIngestServer({ apiKeys: API_KEYS, adminKey: 'admin-secret' });
    try {
      expect((await get(s.url + '/%5Fadmin/stats')).status).toBe(401);
    } finally {
      await s.close();
    }
  });
});

describe('POST /api/v1/agent/ingest', () => {
  it('stores a report (plain, gzip, zstd, and the {report} wrapper) and upserts findings by fingerprint', async () => {
    const first = await post(url(API_PATHS.ingest), makeReport('whole-1'), { key: KEYS.a });
    expect(first.status).toBe(200);
    expect(first.json).toMatchObject({
      assets_created: 1,
      findings_created: 3,
      findings_skipped: 0,
      errors: [],
    });
    expect(first.json.scan_id).toEqual(expect.any(String));
    const gz = await post(url(API_PATHS.ingest), makeReport('whole-1'), { key: KEYS.a, encoding: 'gzip' });
    expect(gz.json).toMatchObject({ findings_created: 0, findings_skipped: 3 });
    const zs = await post(
      url(API_PATHS.ingest),
      { report: makeReport('whole-2', 4) },
      { key: KEYS.a, encoding: 'zstd' },
    );
    expect(zs.json).toMatchObject({ findings_created: 1, findings_skipped: 3 });
  });

  it('answers a repeated request with the same Idempotency-Key from the store', async () => {
    const headers = { 'idempotency-key': 'ingest-once-1' };
    const report = makeReport('whole-idem', 2);
    const a = await post(url(API_PATHS.ingest), report, { key: KEYS.a, headers });
    const b = await post(url(API_PATHS.ingest), report, { key: KEYS.a, headers });
    expect(b.json).toEqual(a.json);
    const stats = server.stats('tenant-a').tenants[0]!.reports.find((r) => r.reportId === 'whole-idem');
    expect(stats!.findingsReceived).toBe(2);
  });

  it('refuses invalid reports with a 400 that lists the problems', async () => {
    const bad = { ...makeReport('x'), findings: [{ type: 'secret', title: 't', severity: 'urgent' }] };
    const res = await post(url(API_PATHS.ingest), bad, { key: KEYS.a });
    expect(res.status).toBe(400);
    expect(res.json.code).toBe('VALIDATION_FAILED');
    expect(res.json.message).toContain('findings[0].severity');
    expect(res.json.errors).toEqual(expect.arrayContaining([expect.stringContaining('severity')]));
  });

  it('answers 415 for an unknown Content-Encoding or a non-JSON Content-Type, 400 for broken bodies', async () => {
    expect(
      (await post(url(API_PATHS.ingest), 'x', { key: KEYS.a, headers: { 'content-encoding': 'br' } })).status,
    ).toBe(415);
    expect(
      (await post(url(API_PATHS.ingest), 'x', { key: KEYS.a, headers: { 'content-type': 'text/plain' } }))
        .status,
    ).toBe(415);
    const broken = await post(url(API_PATHS.ingest), Buffer.from('not gzip at all'), {
      key: KEYS.a,
      headers: { 'content-encoding': 'gzip' },
    });
    expect(broken).toMatchObject({ status: 400, json: { code: 'DECOMPRESS_FAILED' } });
    expect((await post(url(API_PATHS.ingest), '{"metadata":', { key: KEYS.a })).status).toBe(400);
    expect((await post(url(API_PATHS.ingest), '', { key: KEYS.a })).status).toBe(400);
  });
});

describe('body limits on the wire', () => {
  it('accepts an ingest body of exactly 20 MiB and refuses one byte more with 413', async () => {
    const limit = 20 * 1024 * 1024;
    const shell = JSON.stringify({ ...makeReport('big-1', 1), properties: { pad: '' } });
    const padded = (size: number) => shell.replace('"pad":""', `"pad":"${'x'.repeat(size - shell.length)}"`);
    const at = await post(url(API_PATHS.ingest), padded(limit), { key: KEYS.a });
    expect(at.status).toBe(200);
    const over = await post(url(API_PATHS.ingest), padded(limit + 1), { key: KEYS.a });
    expect(over).toMatchObject({ status: 413, json: { code: 'DECOMPRESS_LIMIT' } });
    // The connection stays usable after a refusal.
    expect((await get(url(API_PATHS.commands), KEYS.a)).status).toBe(200);
  });

  it('applies the generic 10 MiB limit to other routes', async () => {
    const limit = 10 * 1024 * 1024;
    const shell = JSON.stringify({ name: 'agent', message: '' });
    const padded = (size: number) =>
      shell.replace('"message":""', `"message":"${'m'.repeat(size - shell.length)}"`);
    const over = await post(url(API_PATHS.heartbeat), padded(limit + 1), { key: KEYS.a });
    expect(over.status).toBe(413);
    // At the limit the body is read; the heartbeat's message is then too long for validation (a 400, not a 413).
    const at = await post(url(API_PATHS.heartbeat), padded(limit), { key: KEYS.a });
    expect(at.status).toBe(400);
  });

  it('refuses a chunked (no Content-Length) body that passes the limit, then closes the connection', async () => {
    const s = await startIngestServer({
      apiKeys: API_KEYS,
      ingestLimits: { maxCompressedBytes: 1024, maxDecompressedBytes: 4096, maxRatio: 10 },
    });
    try {
      const target = new URL(s.url + API_PATHS.ingest);
      const status = await new Promise<{ status: number; connection: string | undefined }>(
        (resolve, reject) => {
          const req = httpRequest(
            {
              host: target.hostname,
              port: target.port,
              path: target.pathname,
              method: 'POST',
              headers: { authorization: `Bearer ${KEYS.a}`, 'content-type': 'application/json' },
            },
            (res) => {
              res.resume();
              resolve({ status: res.statusCode ?? 0, connection: res.headers.connection });
            },
          );
          req.on('error', reject);
          req.write(Buffer.alloc(2048, 0x20));
          req.end();
        },
      );
      expect(status).toEqual({ status: 413, connection: 'close' });
    } finally {
      await s.close();
    }
  });
});

describe('POST /api/v1/agent/ingest/chunk', () => {
  it('applies every chunk of a report and marks it complete', async () => {
    const chunks = [0, 1, 2].map((i) =>
      makeChunk(
        'chunked-1',
        i,
        3,
        [finding(100 + i), finding(200 + i)],
        (['zstd', 'gzip', 'none'] as const)[i],
      ),
    );
    const answers = [];
    for (const c of chunks)
      answers.push(
        await post(url(API_PATHS.ingestChunk), c, {
          key: KEYS.a,
          headers: { 'idempotency-key': `chunked-1:${c.chunk_index}` },
        }),
      );
    expect(answers.map((a) => a.status)).toEqual([201, 201, 201]);
    expect(answers[0]!.json).toMatchObject({
      report_id: 'chunked-1',
      chunk_index: 0,
      status: 'received',
      findings_created: 2,
    });
    expect(answers[2]!.json.status).toBe('completed');
    const report = server.stats('tenant-a').tenants[0]!.reports.find((r) => r.reportId === 'chunked-1');
    expect(report).toMatchObject({
      chunksReceived: 3,
      totalChunks: 3,
      findingsReceived: 6,
      complete: true,
      source: 'chunks',
    });
  });

  it('applies a duplicated chunk once, with or without Idempotency-Key, even when sent concurrently', async () => {
    const c = makeChunk('dup-1', 0, 2, [finding(300), finding(301)]);
    const headers = { 'idempotency-key': 'dup-1:0' };
    const answers = await Promise.all(
      Array.from({ length: 6 }, () => post(url(API_PATHS.ingestChunk), c, { key: KEYS.a, headers })),
    );
    const bare = await post(url(API_PATHS.ingestChunk), c, { key: KEYS.a });
    const other = await post(url(API_PATHS.ingestChunk), c, {
      key: KEYS.a,
      headers: { 'idempotency-key': 'another-key' },
    });
    for (const a of [...answers, bare, other]) {
      expect(a.status).toBe(201);
      expect(a.json).toEqual(answers[0]!.json);
    }
    const report = server.stats('tenant-a').tenants[0]!.reports.find((r) => r.reportId === 'dup-1');
    expect(report).toMatchObject({ chunksReceived: 1, findingsReceived: 2, complete: false });
  });

  it('refuses other content under an applied index, and a reused Idempotency-Key, with 409', async () => {
    await post(url(API_PATHS.ingestChunk), makeChunk('conf-1', 0, 2, [finding(400)]), {
      key: KEYS.a,
      headers: { 'idempotency-key': 'conf-1:0' },
    });
    const changed = await post(url(API_PATHS.ingestChunk), makeChunk('conf-1', 0, 2, [finding(401)]), {
      key: KEYS.a,
    });
    expect(changed).toMatchObject({ status: 409, json: { code: 'REPORT_CONFLICT' } });
    const reused = await post(url(API_PATHS.ingestChunk), makeChunk('conf-1', 1, 2, [finding(402)]), {
      key: KEYS.a,
      headers: { 'idempotency-key': 'conf-1:0' },
    });
    expect(reused.status).toBe(409);
  });

  it('refuses a checksum that does not match the data (400 CHECKSUM_MISMATCH)', async () => {
    const c = { ...makeChunk('sum-1', 0, 1, [finding(1)]), checksum: 'a'.repeat(64) };
    expect(await post(url(API_PATHS.ingestChunk), c, { key: KEYS.a })).toMatchObject({
      status: 400,
      json: { code: 'CHECKSUM_MISMATCH' },
    });
  });

  it('bounds the inner data: a chunk whose data inflates past 100:1 is a 413', async () => {
    const { compress } = await import('zstd-napi');
    const inner = JSON.stringify({
      report_id: 'inner-1',
      chunk_index: 0,
      total_chunks: 1,
      is_final: true,
      findings: [],
      pad: ' '.repeat(1_000_000),
    });
    const body = {
      report_id: 'inner-1',
      chunk_index: 0,
      total_chunks: 1,
      compression: 'zstd',
      is_final: true,
      data: compress(Buffer.from(inner)).toString('base64'),
    };
    expect(await post(url(API_PATHS.ingestChunk), body, { key: KEYS.a })).toMatchObject({
      status: 413,
      json: { code: 'DECOMPRESS_LIMIT' },
    });
  });

  it('refuses envelopes that break the platform rules with 4xx and a message', async () => {
    const good = makeChunk('rules-1', 0, 2, [finding(1)]);
    const cases: Array<[Record<string, unknown>, number, string]> = [
      [{ report_id: 'bad id!' }, 400, 'report_id'],
      [{ report_id: 'x'.repeat(257) }, 400, 'report_id'],
      [{ chunk_index: 2 }, 400, 'chunk_index'],
      [{ total_chunks: 10_001 }, 400, 'total_chunks'],
      [{ data: undefined }, 400, 'data is required'],
      [{ data: '!!!!' }, 400, 'base64'],
      [{ data: Buffer.from('not a zstd frame').toString('base64') }, 400, 'decompress'],
      [{ compression: 'lz4' }, 400, 'compression'],
    ];
    for (const [patch, status, text] of cases) {
      const res = await post(url(API_PATHS.ingestChunk), { ...good, ...patch }, { key: KEYS.a });
      expect(res.status, JSON.stringify(patch).slice(0, 80)).toBe(status);
      expect(res.json.message).toContain(text);
    }
  });
});

describe('big bodies go to body workers (issue 20: no body holds the event loop)', () => {
  // About 500 bytes that compress like prose (a few :1), so the data is big without being a bomb.
  const text = (i: number) =>
    `${randomBytes(100).toString('hex')} ${i} ${'lorem ipsum dolor sit amet '.repeat(10)}`;

  it('a chunk whose data decodes past 1 MiB is applied once, from a worker', async () => {
    const s = await startIngestServer({ apiKeys: API_KEYS });
    try {
      const findings = Array.from({ length: 3000 }, (_, i) => finding(50_000 + i, { description: text(i) }));
      const c = makeChunk('big-chunk', 0, 1, findings);
      const first = await post(s.url + API_PATHS.ingestChunk, c, { key: KEYS.a });
      expect(first).toMatchObject({ status: 201, json: { findings_created: 3000, status: 'completed' } });
      expect(s.metrics().bodies.worker).toBe(1);
      const again = await post(s.url + API_PATHS.ingestChunk, c, { key: KEYS.a });
      expect(again.json).toEqual(first.json);
      const report = {
        ...makeReport('big-whole', 0),
        findings: findings.map((f) => ({ ...f, fingerprint: `w-${f.fingerprint}` })),
      };
      const whole = await post(s.url + API_PATHS.ingest, report, { key: KEYS.a });
      expect(whole).toMatchObject({ status: 200, json: { findings_created: 3000 } });
      expect(s.metrics().bodies.worker).toBe(3);
      expect(s.stats('tenant-a').tenants[0]!.totals.findings).toBe(6000);
    } finally {
      await s.close();
    }
  });

  it('with bodyWorkers 0 everything is decoded on the main thread, with the same answers', async () => {
    const s = await startIngestServer({ apiKeys: API_KEYS, bodyWorkers: 0 });
    try {
      const findings = Array.from({ length: 3000 }, (_, i) => finding(60_000 + i, { description: text(i) }));
      const res = await post(s.url + API_PATHS.ingestChunk, makeChunk('big-inline', 0, 1, findings), {
        key: KEYS.a,
      });
      expect(res).toMatchObject({ status: 201, json: { findings_created: 3000 } });
      expect(s.metrics().bodies).toEqual({ inline: 1, worker: 0 });
    } finally {
      await s.close();
    }
  });
});

describe('POST /api/v1/agent/ingest/check', () => {
  it('splits fingerprints into existing and missing for the caller tenant', async () => {
    await post(url(API_PATHS.ingest), makeReport('check-1', 2), { key: KEYS.a });
    const res = await post(
      url(API_PATHS.ingestCheck),
      { fingerprints: ['fp-0', 'fp-1', 'nope'] },
      { key: KEYS.a },
    );
    expect(res).toMatchObject({ status: 200, json: { existing: ['fp-0', 'fp-1'], missing: ['nope'] } });
    expect((await post(url(API_PATHS.ingestCheck), { fingerprints: 'fp-0' }, { key: KEYS.a })).status).toBe(
      400,
    );
  });
});

describe('POST /api/v1/agent/heartbeat', () => {
  it('stores the last heartbeat per agent and answers ok with agent and tenant', async () => {
    const body = {
      name: 'scanner-1',
      status: 'online',
      version: '1.0.0',
      hostname: 'h',
      scanners: ['gitleaks'],
      collectors: [],
      uptime_seconds: 5,
      total_scans: 0,
      errors: 0,
      cpu_percent: 12.5,
      memory_percent: 40,
      active_jobs: 0,
    };
    const res = await post(url(API_PATHS.heartbeat), body, {
      key: KEYS.a,
      headers: { 'x-agent-id': 'agent-7' },
    });
    expect(res).toMatchObject({
      status: 200,
      json: { status: 'ok', agent_id: 'agent-7', tenant_id: 'tenant-a' },
    });
    await post(
      url(API_PATHS.heartbeat),
      { ...body, status: 'busy' },
      { key: KEYS.a, headers: { 'x-agent-id': 'agent-7' } },
    );
    expect(server.lastHeartbeat('tenant-a', 'agent-7')).toMatchObject({ count: 2, body: { status: 'busy' } });
    expect(
      (
        await post(
          url(API_PATHS.heartbeat),
          { cpu_percent: 'x' },
          { key: KEYS.a, headers: { 'x-agent-id': 'a' } },
        )
      ).status,
    ).toBe(400);
    expect((await post(url(API_PATHS.heartbeat), {}, { key: KEYS.a })).status).toBe(400);
  });
});

describe('commands', () => {
  it('polls pending commands with a limit and walks acknowledge → start → complete', async () => {
    const c1 = server.enqueueCommand({
      tenantId: 'tenant-b',
      type: 'scan',
      payload: { target: '/src' },
      priority: 5,
    });
    const c2 = server.enqueueCommand({ tenantId: 'tenant-b', type: 'scan' });
    const list = await get(url(`${API_PATHS.commands}?limit=1`), KEYS.b);
    expect(list.status).toBe(200);
    expect(list.json).toEqual([
      expect.objectContaining({ id: c1.id, type: 'scan', payload: { target: '/src' }, status: 'pending' }),
    ]);
    expect((await get(url(`${API_PATHS.commands}?limit=0`), KEYS.b)).status).toBe(400);
    expect((await get(url(`${API_PATHS.commands}?limit=abc`), KEYS.b)).status).toBe(400);
    const cmd = (id: string, action: string, body: unknown = {}) =>
      post(url(`${API_PATHS.commands}/${id}/${action}`), body, { key: KEYS.b });
    expect((await cmd(c1.id, 'complete')).status).toBe(409);
    expect((await cmd(c1.id, 'acknowledge')).json.status).toBe('acknowledged');
    expect((await cmd(c1.id, 'start')).json.status).toBe('running');
    expect((await cmd(c1.id, 'complete', { result: { findings: 2 } })).json).toMatchObject({
      status: 'completed',
      result: { findings: 2 },
    });
    expect((await cmd(c2.id, 'fail', {})).status).toBe(400);
    expect((await cmd(c2.id, 'fail', { error_message: 'scanner missing' })).json.status).toBe('failed');
    expect((await cmd('no-such-id', 'acknowledge')).status).toBe(404);
    expect(server.getCommand('tenant-b', c1.id)!.status).toBe('completed');
  });

  it('can be enqueued through the admin endpoint', async () => {
    const res = await post(url('/_admin/commands'), { tenant_id: 'tenant-b', type: 'collect', priority: 99 });
    expect(res.status).toBe(201);
    const list = await get(url(`${API_PATHS.commands}?limit=1`), KEYS.b);
    expect(list.json[0].id).toBe(res.json.id);
    expect((await post(url('/_admin/commands'), { type: 'scan' })).status).toBe(400);
  });
});

describe('tenant isolation', () => {
  it('a key reads and writes only its own tenant: commands, stats, chunks, fingerprints', async () => {
    const theirs = server.enqueueCommand({ tenantId: 'tenant-a', type: 'scan' });
    expect((await get(url(API_PATHS.commands), KEYS.b)).json.map((c: { id: string }) => c.id)).not.toContain(
      theirs.id,
    );
    expect(
      (await post(url(`${API_PATHS.commands}/${theirs.id}/acknowledge`), {}, { key: KEYS.b })).status,
    ).toBe(404);
    expect(server.getCommand('tenant-a', theirs.id)!.status).toBe('pending');

    const c = makeChunk('iso-1', 0, 1, [finding(900)]);
    expect(
      (await post(url(API_PATHS.ingestChunk), c, { key: KEYS.a, headers: { 'idempotency-key': 'iso-key' } }))
        .json.findings_created,
    ).toBe(1);
    const b = await post(url(API_PATHS.ingestChunk), c, {
      key: KEYS.b,
      headers: { 'idempotency-key': 'iso-key' },
    });
    expect(b.json).toMatchObject({ findings_created: 1 });
    expect(
      (await post(url(API_PATHS.ingestCheck), { fingerprints: ['fp-0'] }, { key: KEYS.b })).json.existing,
    ).toEqual([]);

    const statsB = await get(url('/api/v1/agent/_stats'), KEYS.b);
    expect(statsB.json.tenantId).toBe('tenant-b');
    expect(statsB.json.reports.map((r: { reportId: string }) => r.reportId)).toEqual(['iso-1']);
    expect(JSON.stringify(statsB.json)).not.toContain('whole-1');
  });
});

describe('admin endpoints', () => {
  it('serve stats for all tenants and change faults at runtime', async () => {
    const all = await get(url('/_admin/stats'));
    expect(all.json.tenants.map((t: { tenantId: string }) => t.tenantId)).toEqual(['tenant-a', 'tenant-b']);
    expect((await get(url('/_admin/faults'))).json).toMatchObject({ errorRate: 0 });
    const bad = await fetch(url('/_admin/faults'), {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: '{"errorRate":2}',
    });
    expect(bad.status).toBe(400);
  });

  it('require the admin key when one is configured', async () => {
    const s = await startIngestServer({ apiKeys: API_KEYS, adminKey: 'admin-secret' });
    try {
      expect((await get(s.url + '/_admin/stats')).status).toBe(401);
      expect((await get(s.url + '/_admin/stats', KEYS.a)).status).toBe(401);
      expect((await get(s.url + '/_admin/stats', 'admin-secret')).status).toBe(200);
    } finally {
      await s.close();
    }
  });

  it('answers unknown routes with a JSON 404', async () => {
    expect(await get(url('/api/v1/agent/nothing'), KEYS.a)).toMatchObject({
      status: 404,
      json: { code: 'NOT_FOUND' },
    });
  });
});

describe('fault injection', () => {
  it('injects 503, 429 with Retry-After, connection resets and latency, and can be switched off', async () => {
    const s = await startIngestServer({ apiKeys: API_KEYS });
    try {
      const poll = () => get(s.url + API_PATHS.commands, KEYS.a);
      s.setFaults({ errorRate: 1 });
      expect(await poll()).toMatchObject({ status: 503, json: { code: 'SERVER_ERROR' } });
      s.setFaults({ errorRate: 0, rateLimitRate: 1, retryAfterSeconds: 7 });
      const limited = await poll();
      expect(limited.status).toBe(429);
      expect(limited.headers.get('retry-after')).toBe('7');
      s.setFaults({ rateLimitRate: 0, resetRate: 1 });
      await expect(poll()).rejects.toThrow();
      const put = await fetch(s.url + '/_admin/faults', {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ resetRate: 0, latencyMs: 5 }),
      });
      expect(put.status).toBe(200);
      expect((await poll()).status).toBe(200);
      // _stats is never faulted, so a test can always count what arrived.
      s.setFaults({ errorRate: 1 });
      expect((await get(s.url + '/api/v1/agent/_stats', KEYS.a)).status).toBe(200);
      expect(s.metrics().faults).toEqual({ latency: 1, reset: 1, rateLimited: 1, error: 1 });
      s.setFaults({ errorRate: 0, latencyMs: 0 });
      expect((await poll()).status).toBe(200);
    } finally {
      await s.close();
    }
  });

  it('injects faults at the configured rate with an injected random source', async () => {
    let i = 0;
    const draws = [0.1, 0.9, 0.3, 0.7];
    const s = await startIngestServer({
      apiKeys: API_KEYS,
      faults: { errorRate: 0.5 },
      random: () => draws[i++ % draws.length]!,
    });
    try {
      const statuses = [];
      for (let n = 0; n < 4; n++) statuses.push((await get(s.url + API_PATHS.commands, KEYS.a)).status);
      expect(statuses).toEqual([503, 200, 503, 200]);
    } finally {
      await s.close();
    }
  });
});
