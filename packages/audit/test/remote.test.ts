import type { IncomingMessage } from 'node:http';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AuditLogger } from '../src/index';
import type { AuditDroppedEvent } from '../src/index';
import { tempDir, waitFor } from '@rediver/testkit';
import { useLoopbackServer } from '@rediver/testkit/vitest';
import { readLines } from './helpers';

let dir: string;
let cleanup: () => Promise<void>;
const endpoints = useLoopbackServer();
const loggers: AuditLogger[] = [];

beforeEach(async () => {
  ({ path: dir, cleanup } = tempDir('rediver-audit-'));
});
afterEach(async () => {
  await Promise.allSettled(loggers.splice(0).map((l) => l.close()));
  await cleanup();
});

interface Received {
  headers: IncomingMessage['headers'];
  body: string;
}

describe('remote shipping', () => {
  it('keeps the backlog while the endpoint is down and delivers it in order when it is up again', async () => {
    // Find a free port, and keep it closed for a while: connection refused.
    const probe = await endpoints.start(() => undefined);
    const port = probe.port;
    await probe.close();

    const logger = new AuditLogger({
      logFile: join(dir, 'audit.log'),
      bufferSize: 1000,
      remoteEndpoint: `http://127.0.0.1:${port}/ingest`,
      remoteFormat: 'ndjson',
      remoteHeaders: { authorization: 'Bearer rdv_test' },
      remoteBatchSize: 10,
      remoteMaxBacklog: 50,
      remoteRetryBaseDelayMs: 5,
      remoteRetryMaxDelayMs: 40,
    });
    loggers.push(logger);
    const dropped: AuditDroppedEvent[] = [];
    let retries = 0;
    logger.on('dropped', (e) => dropped.push(e));
    logger.on('remote:retry', () => retries++);
    for (let i = 0; i < 80; i++) logger.info('upload_started', `event ${i}`);
    await logger.flush();
    // Local logging is not held up by the dead endpoint.
    expect(await readLines(join(dir, 'audit.log'))).toHaveLength(80);
    await waitFor(() => retries >= 3);
    expect(dropped).toEqual([{ reason: 'remote_backlog_full', count: 30 }]);
    expect(logger.stats()).toMatchObject({ remoteDropped: 30, remoteBacklog: 50, remoteSent: 0 });

    const received: Received[] = [];
    await endpoints.start(
      (req, res) => {
        received.push({ headers: req.headers, body: req.text });
        res.writeHead(200).end();
      },
      { port },
    );
    await waitFor(() => logger.stats().remoteSent >= 50);
    await logger.close();

    const lines = received.flatMap((r) =>
      r.body
        .trimEnd()
        .split('\n')
        .map((l) => JSON.parse(l) as Record<string, unknown>),
    );
    expect(lines.slice(0, 50).map((l) => l.message)).toEqual(
      Array.from({ length: 50 }, (_, i) => `event ${i + 30}`),
    );
    // The drop is reported in the local log, and that line is shipped too.
    expect(lines.slice(50).map((l) => [l.type, l.severity, l.details])).toEqual([
      ['agent_error', 'WARN', { dropped_lines: 30, endpoint: `http://127.0.0.1:${port}/ingest` }],
    ]);
    expect(received.every((r) => r.headers.authorization === 'Bearer rdv_test')).toBe(true);
    expect(received[0]!.headers['content-type']).toBe('application/x-ndjson');
    expect(received.every((r) => r.body.split('\n').length <= 11)).toBe(true);
    const local = await readLines(join(dir, 'audit.log'));
    expect(local).toHaveLength(81);
  });

  it('sends JSON arrays, retries 5xx/429, drops a batch refused with 400 and goes on', async () => {
    const statuses = [503, 429, 400];
    const bodies: string[] = [];
    const { port } = await endpoints.start((req, res) => {
      const status = statuses.shift() ?? 200;
      if (status === 200) bodies.push(req.text);
      res.writeHead(status, status === 429 ? { 'retry-after': '0' } : {}).end();
    });
    const logger = new AuditLogger({
      logFile: join(dir, 'audit.log'),
      bufferSize: 2,
      remoteEndpoint: `http://127.0.0.1:${port}/`,
      remoteBatchSize: 2,
      remoteRetryBaseMs: 1,
      remoteRetryMaxMs: 5,
    });
    loggers.push(logger);
    const dropped: AuditDroppedEvent[] = [];
    logger.on('dropped', (e) => dropped.push(e));
    logger.info('upload_started', 'a');
    logger.info('upload_started', 'b');
    await logger.flush();
    await waitFor(() => dropped.length === 1);
    logger.info('upload_started', 'c');
    logger.info('upload_started', 'd');
    await logger.flush();
    await waitFor(() => logger.stats().remoteSent >= 2);
    await logger.close();
    expect(dropped).toMatchObject([
      { reason: 'remote_rejected', count: 2, error: { code: 'REQUEST_REJECTED', status: 400 } },
    ]);
    const shipped = bodies.flatMap((b) => (JSON.parse(b) as { message: string }[]).map((e) => e.message));
    expect(shipped.slice(0, 2)).toEqual(['c', 'd']);
    expect(shipped.slice(2).join(' ')).toContain('dropped 2 lines');
  });

  it('gives up at remoteCloseTimeoutMs on a hanging endpoint: counted, reported locally, close() resolves', async () => {
    const { port } = await endpoints.start(() => undefined); // never answers
    const logger = new AuditLogger({
      logFile: join(dir, 'audit.log'),
      remoteEndpoint: `http://127.0.0.1:${port}/`,
      remoteCloseTimeoutMs: 200,
    });
    const dropped: AuditDroppedEvent[] = [];
    logger.on('dropped', (e) => dropped.push(e));
    logger.jobStarted('job-1', 'scan');
    await logger.flush();
    logger.jobCompleted('job-1', 10);
    await logger.close();
    // The two events, then the local line reporting them (written after the endpoint was given up).
    expect(dropped).toEqual([
      { reason: 'remote_closed', count: 2 },
      { reason: 'remote_closed', count: 1 },
    ]);
    const local = (await readLines(join(dir, 'audit.log'))).map(
      (l) => JSON.parse(l) as { type: string; details?: unknown },
    );
    expect(local.map((l) => l.type)).toEqual(['job_started', 'job_completed', 'agent_error']);
    expect(local[2]!.details).toMatchObject({ dropped_lines: 2 });
    expect(logger.stats()).toMatchObject({ remoteDropped: 3, remoteSent: 0 });
  });

  it('backs off with equal jitter and reads Retry-After strictly, honouring it up to remoteRetryMaxDelayMs', async () => {
    // 1.5 is not a Retry-After (RFC 9110: digits only); a date a day ahead is capped at the maximum delay.
    const answers = [
      { status: 503, retryAfter: '1.5' },
      { status: 429, retryAfter: new Date(Date.now() + 86_400_000).toUTCString() },
    ];
    const { port } = await endpoints.start((_req, res) => {
      const a = answers.shift();
      if (a === undefined) res.writeHead(200).end();
      else res.writeHead(a.status, { 'retry-after': a.retryAfter }).end();
    });
    const logger = new AuditLogger({
      logFile: join(dir, 'audit.log'),
      remoteEndpoint: `http://127.0.0.1:${port}/`,
      remoteRetryBaseDelayMs: 20,
      remoteRetryMaxDelayMs: 60,
      random: () => 0,
    });
    loggers.push(logger);
    const delays: number[] = [];
    logger.on('remote:retry', (e) => delays.push(e.delayMs));
    logger.info('upload_started', 'a');
    await logger.flush();
    await waitFor(() => logger.stats().remoteSent >= 1);
    // Equal jitter with random 0: half the step (20 → 10); then the capped Retry-After (60), not 1500 or a day.
    expect(delays).toEqual([10, 60]);
  });

  it('accepts the deprecated remoteRetryBaseMs/remoteRetryMaxMs with a warning, and refuses both spellings', () => {
    const warnings: unknown[] = [];
    const logger = {
      debug: () => {},
      info: () => {},
      error: () => {},
      warn: (obj: unknown, msg?: string) => void warnings.push([obj, msg]),
    };
    const audit = new AuditLogger({
      logFile: join(dir, 'audit.log'),
      remoteEndpoint: 'http://127.0.0.1:9/',
      remoteRetryBaseMs: 5,
      remoteRetryMaxMs: 40,
      logger,
    });
    loggers.push(audit);
    expect(warnings).toEqual([
      [
        { option: 'remoteRetryBaseMs', replacement: 'remoteRetryBaseDelayMs' },
        'audit: option remoteRetryBaseMs is deprecated: use remoteRetryBaseDelayMs (same meaning)',
      ],
      [
        { option: 'remoteRetryMaxMs', replacement: 'remoteRetryMaxDelayMs' },
        'audit: option remoteRetryMaxMs is deprecated: use remoteRetryMaxDelayMs (same meaning)',
      ],
    ]);
    expect(
      () =>
        new AuditLogger({
          logFile: join(dir, 'other.log'),
          remoteEndpoint: 'http://127.0.0.1:9/',
          remoteRetryBaseMs: 5,
          remoteRetryBaseDelayMs: 5,
        }),
    ).toThrow(expect.objectContaining({ code: 'INVALID_OPTION', details: { option: 'remoteRetryBaseMs' } }));
  });
});
