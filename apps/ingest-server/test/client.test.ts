import { compress } from 'zstd-napi';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient, isClientError } from '@rediver/client';
import type { RediverClient } from '@rediver/client';
import type { HeartbeatRequest } from '@rediver/core';
import { startIngestServer } from '../src/index';
import type { IngestServer } from '../src/index';
import { API_KEYS, finding, KEYS, makeChunk, makeReport } from './helpers';

let server: IngestServer;
let client: RediverClient;
let clientB: RediverClient;

beforeAll(async () => {
  server = await startIngestServer({ apiKeys: API_KEYS });
  client = createClient({ baseUrl: server.url, apiKey: KEYS.a, agentId: 'agent-a', timeoutMs: 10_000 });
  clientB = createClient({ baseUrl: server.url, apiKey: KEYS.b, agentId: 'agent-b', timeoutMs: 10_000 });
});
afterAll(async () => {
  await client.close();
  await clientB.close();
  await server.close();
});

async function failure(p: Promise<unknown>): Promise<Record<string, unknown>> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(isClientError(err)).toBe(true);
  return err as Record<string, unknown>;
}

const heartbeat: HeartbeatRequest = {
  name: 'agent-a',
  status: 'online',
  version: '0.1.0',
  hostname: 'host-1',
  scanners: ['gitleaks'],
  collectors: [],
  uptime_seconds: 10,
  total_scans: 1,
  errors: 0,
  cpu_percent: 5,
  memory_percent: 30,
  active_jobs: 0,
};

describe('@rediver/client against the ingest server: every endpoint', () => {
  it('ingest / uploadReport: a large report goes gzip-compressed and is stored', async () => {
    const report = makeReport('client-whole-1', 50);
    const res = await client.ingest(report);
    expect(res).toMatchObject({ findings_created: 50, assets_created: 1, errors: [] });
    const again = await client.uploadReport(report);
    expect(again).toMatchObject({ reportId: 'client-whole-1', findingsSkipped: 50, findingsCreated: 0 });
    const stats = server.stats('tenant-a').tenants[0]!.reports.find((r) => r.reportId === 'client-whole-1');
    expect(stats).toMatchObject({ findingsReceived: 100, complete: true });
  });

  it('uploadChunk: every compression, exactly once per idempotency key', async () => {
    const compressions = ['zstd', 'gzip', 'none'] as const;
    const chunks = compressions.map((c, i) =>
      makeChunk(
        'client-chunked-1',
        i,
        3,
        Array.from({ length: 20 }, (_, j) => finding(1000 + i * 100 + j)),
        c,
      ),
    );
    for (const c of chunks) {
      const key = `client-chunked-1:${c.chunk_index}`;
      const first = await client.uploadChunk(c, { idempotencyKey: key });
      expect(first).toMatchObject({
        report_id: 'client-chunked-1',
        chunk_index: c.chunk_index,
        findings_created: 20,
      });
      expect(await client.uploadChunk(c, { idempotencyKey: key })).toEqual(first);
    }
    const stats = server.stats('tenant-a').tenants[0]!.reports.find((r) => r.reportId === 'client-chunked-1');
    expect(stats).toMatchObject({ chunksReceived: 3, totalChunks: 3, findingsReceived: 60, complete: true });
  });

  it('checkFingerprints and heartbeat', async () => {
    expect(await client.checkFingerprints(['fp-1', 'fp-1000', 'unknown'])).toEqual({
      existing: ['fp-1', 'fp-1000'],
      missing: ['unknown'],
    });
    expect(await client.heartbeat(heartbeat)).toEqual({
      status: 'ok',
      agent_id: 'agent-a',
      tenant_id: 'tenant-a',
    });
    expect(server.lastHeartbeat('tenant-a', 'agent-a')).toMatchObject({ body: { hostname: 'host-1' } });
  });

  it('pollCommands and the whole command lifecycle', async () => {
    const scan = server.enqueueCommand({
      tenantId: 'tenant-a',
      type: 'scan',
      payload: { target: '.' },
      priority: 5,
    });
    const doomed = server.enqueueCommand({ tenantId: 'tenant-a', type: 'scan' });
    const polled = await client.pollCommands({ limit: 10 });
    expect(polled.map((c) => c.id)).toEqual([scan.id, doomed.id]);
    await client.acknowledgeCommand(scan.id);
    await client.startCommand(scan.id);
    await client.completeCommand(scan.id, { findings: 3 });
    expect(server.getCommand('tenant-a', scan.id)).toMatchObject({
      status: 'completed',
      result: { findings: 3 },
    });
    await client.failCommand(doomed.id, 'scanner not installed');
    expect(server.getCommand('tenant-a', doomed.id)).toMatchObject({
      status: 'failed',
      error_message: 'scanner not installed',
    });
    expect(await client.pollCommands()).toEqual([]);
  });
});

describe('tenant isolation through the client', () => {
  it('another tenant neither sees nor moves the commands', async () => {
    const cmd = server.enqueueCommand({ tenantId: 'tenant-a', type: 'scan' });
    expect((await clientB.pollCommands()).map((c) => c.id)).not.toContain(cmd.id);
    const err = await failure(clientB.acknowledgeCommand(cmd.id));
    expect(err).toMatchObject({ code: 'REQUEST_REJECTED', status: 404 });
    expect(server.getCommand('tenant-a', cmd.id)!.status).toBe('pending');
  });
});

describe("the client's error classification for each status the server gives", () => {
  it('401 → AUTH_FAILED, and the key never shows', async () => {
    const stranger = createClient({ baseUrl: server.url, apiKey: 'rdv_not_a_known_key', timeoutMs: 10_000 });
    try {
      const err = await failure(stranger.pollCommands());
      expect(err).toMatchObject({ code: 'AUTH_FAILED', status: 401, retryable: false });
      expect(String(err.message)).not.toContain('rdv_not_a_known_key');
    } finally {
      await stranger.close();
    }
  });

  it('400 (schema), 409 (conflict), 413 (inner bomb) → REQUEST_REJECTED with the server message', async () => {
    const bad = {
      ...makeReport('client-bad'),
      findings: [{ type: 'secret', title: 'x', severity: 'urgent' as never }],
    };
    const e400 = await failure(client.ingest(bad));
    expect(e400).toMatchObject({ code: 'REQUEST_REJECTED', status: 400, retryable: false });
    expect(String(e400.message)).toContain('severity');

    await client.uploadChunk(makeChunk('client-conflict', 0, 2, [finding(1)]), { idempotencyKey: 'cc:0' });
    const e409 = await failure(
      client.uploadChunk(makeChunk('client-conflict', 0, 2, [finding(2)]), { idempotencyKey: 'cc:0b' }),
    );
    expect(e409).toMatchObject({ code: 'REQUEST_REJECTED', status: 409 });

    const inner = Buffer.from(
      JSON.stringify({
        report_id: 'client-bomb',
        chunk_index: 0,
        total_chunks: 1,
        is_final: true,
        pad: ' '.repeat(2_000_000),
      }),
    );
    const bomb = {
      report_id: 'client-bomb',
      chunk_index: 0,
      total_chunks: 1,
      compression: 'zstd' as const,
      data: compress(inner).toString('base64'),
      is_final: true,
    };
    expect(await failure(client.uploadChunk(bomb, { idempotencyKey: 'bomb' }))).toMatchObject({
      code: 'REQUEST_REJECTED',
      status: 413,
    });
  });

  it('503, 429 with Retry-After, resets and slowness → retryable errors', async () => {
    const s = await startIngestServer({ apiKeys: API_KEYS });
    const c = createClient({ baseUrl: s.url, apiKey: KEYS.a, timeoutMs: 2000 });
    try {
      s.setFaults({ errorRate: 1 });
      expect(await failure(c.pollCommands())).toMatchObject({
        code: 'SERVER_ERROR',
        status: 503,
        retryable: true,
      });
      s.setFaults({ errorRate: 0, rateLimitRate: 1, retryAfterSeconds: 2 });
      expect(await failure(c.heartbeat(heartbeat))).toMatchObject({
        code: 'RATE_LIMITED',
        status: 429,
        retryable: true,
        retryAfterMs: 2000,
      });
      s.setFaults({ rateLimitRate: 0, resetRate: 1 });
      expect(await failure(c.pollCommands())).toMatchObject({ code: 'NETWORK', retryable: true });
      s.setFaults({ resetRate: 0, latencyMs: 60_000 });
      expect(await failure(c.pollCommands())).toMatchObject({ code: 'TIMEOUT', retryable: true });
      s.setFaults({ latencyMs: 0 });
      expect(await c.pollCommands()).toEqual([]);
    } finally {
      await c.close();
      await s.close();
    }
  });
});
