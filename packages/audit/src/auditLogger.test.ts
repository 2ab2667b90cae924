import { stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AUDIT_EVENT_TYPES, RediverError } from '@rediver/core';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { manualClock, tempDir } from '@rediver/testkit';
import { readLines } from '../test/helpers';
import { AuditLogger, createAuditLogger } from './auditLogger';
import type { AuditLoggerOptions } from './options';
import { DEFAULT_AUDIT_LOGGER_OPTIONS } from './options';

let dir: string;
let cleanup: () => Promise<void>;
const open: AuditLogger[] = [];

beforeEach(async () => {
  ({ path: dir, cleanup } = tempDir('rediver-audit-'));
});
afterEach(async () => {
  vi.useRealTimers();
  await Promise.allSettled(open.splice(0).map((l) => l.close()));
  await cleanup();
});

function make(options: AuditLoggerOptions = {}): AuditLogger {
  const logger = new AuditLogger({
    agentId: 'agent-001',
    tenantId: 'tenant-123',
    logFile: join(dir, 'audit.log'),
    clock: manualClock(),
    ...options,
  });
  open.push(logger);
  return logger;
}

const TS = '"timestamp":"2026-01-15T10:30:00.000Z"';
const IDS = '"agent_id":"agent-001","tenant_id":"tenant-123"';
const boom = new RediverError('NETWORK', 'connection refused');

/** One call per event type and its exact expected line. */
const golden: [string, (l: AuditLogger) => void, string][] = [
  [
    'agent_start',
    (l) => l.agentStart({ version: '1.0.0' }),
    `{${TS},"type":"agent_start","severity":"INFO",${IDS},"message":"Agent started","details":{"version":"1.0.0"}}`,
  ],
  [
    'agent_stop',
    (l) => l.agentStop(),
    `{${TS},"type":"agent_stop","severity":"INFO",${IDS},"message":"Agent stopped"}`,
  ],
  [
    'agent_error',
    (l) => l.agentError(boom),
    `{${TS},"type":"agent_error","severity":"ERROR",${IDS},"message":"Agent error","error":{"message":"connection refused","code":"NETWORK"}}`,
  ],
  [
    'job_received',
    (l) => l.jobReceived('job-1', 'scan'),
    `{${TS},"type":"job_received","severity":"INFO",${IDS},"job_id":"job-1","message":"Job received","details":{"job_type":"scan"}}`,
  ],
  [
    'job_started',
    (l) => l.jobStarted('job-1', 'scan', { target: '/src' }),
    `{${TS},"type":"job_started","severity":"INFO",${IDS},"job_id":"job-1","message":"Job started","details":{"target":"/src","job_type":"scan"}}`,
  ],
  [
    'job_completed',
    (l) => l.jobCompleted('job-456', 45000, { findings_count: 23, tool: 'semgrep' }),
    `{${TS},"type":"job_completed","severity":"INFO",${IDS},"job_id":"job-456","message":"Job completed successfully","duration_ms":45000,"details":{"findings_count":23,"tool":"semgrep"}}`,
  ],
  [
    'job_failed',
    (l) => l.jobFailed('job-1', new Error('exit 1'), { exit_code: 1 }),
    `{${TS},"type":"job_failed","severity":"ERROR",${IDS},"job_id":"job-1","message":"Job failed","error":{"message":"exit 1"},"details":{"exit_code":1}}`,
  ],
  [
    'job_timeout',
    (l) => l.jobTimeout('job-1', 600000),
    `{${TS},"type":"job_timeout","severity":"ERROR",${IDS},"job_id":"job-1","message":"Job timed out","duration_ms":600000}`,
  ],
  [
    'scan_started',
    (l) => l.scanStarted('semgrep'),
    `{${TS},"type":"scan_started","severity":"INFO",${IDS},"message":"Scan started","details":{"scanner":"semgrep"}}`,
  ],
  [
    'scan_completed',
    (l) => l.scanCompleted('semgrep', 1234.4),
    `{${TS},"type":"scan_completed","severity":"INFO",${IDS},"message":"Scan completed","duration_ms":1234,"details":{"scanner":"semgrep"}}`,
  ],
  [
    'scan_failed',
    (l) => l.scanFailed('semgrep', 'no output'),
    `{${TS},"type":"scan_failed","severity":"ERROR",${IDS},"message":"Scan failed","error":{"message":"no output"},"details":{"scanner":"semgrep"}}`,
  ],
  [
    'upload_started',
    (l) => l.uploadStarted('rep-1'),
    `{${TS},"type":"upload_started","severity":"INFO",${IDS},"report_id":"rep-1","message":"Upload started"}`,
  ],
  [
    'upload_completed',
    (l) => l.uploadCompleted('rep-1', 250, { findings: 3 }),
    `{${TS},"type":"upload_completed","severity":"INFO",${IDS},"report_id":"rep-1","message":"Upload completed","duration_ms":250,"details":{"findings":3}}`,
  ],
  [
    'upload_failed',
    (l) => l.uploadFailed('rep-1', boom),
    `{${TS},"type":"upload_failed","severity":"ERROR",${IDS},"report_id":"rep-1","message":"Upload failed","error":{"message":"connection refused","code":"NETWORK"}}`,
  ],
  [
    'upload_retry',
    (l) => l.uploadRetry('rep-1', 2, boom),
    `{${TS},"type":"upload_retry","severity":"WARN",${IDS},"report_id":"rep-1","message":"Upload retry","error":{"message":"connection refused","code":"NETWORK"},"details":{"attempt":2}}`,
  ],
  [
    'chunk_created',
    (l) => l.chunkCreated('rep-1', 0, 12, 1024),
    `{${TS},"type":"chunk_created","severity":"DEBUG",${IDS},"report_id":"rep-1","message":"Chunk created","details":{"chunk_index":0,"total_chunks":12,"size_bytes":1024}}`,
  ],
  [
    'chunk_uploaded',
    (l) => l.chunkUploaded('rep-1', 3, 12, 2048),
    `{${TS},"type":"chunk_uploaded","severity":"INFO",${IDS},"report_id":"rep-1","message":"Chunk uploaded","details":{"chunk_index":3,"total_chunks":12,"size_bytes":2048}}`,
  ],
  [
    'chunk_failed',
    (l) => l.chunkFailed('rep-1', 3, boom),
    `{${TS},"type":"chunk_failed","severity":"ERROR",${IDS},"report_id":"rep-1","message":"Chunk failed","error":{"message":"connection refused","code":"NETWORK"},"details":{"chunk_index":3}}`,
  ],
  [
    'chunk_cleanup',
    (l) => l.chunkCleanup('rep-1', { chunks: 12 }),
    `{${TS},"type":"chunk_cleanup","severity":"DEBUG",${IDS},"report_id":"rep-1","message":"Chunk cleanup","details":{"chunks":12}}`,
  ],
  [
    'resource_throttle',
    (l) => l.resourceThrottle('CPU 90% >= 85%', { cpu: 90, memory: 40 }),
    `{${TS},"type":"resource_throttle","severity":"WARN",${IDS},"message":"Resource throttling activated","details":{"reason":"CPU 90% >= 85%","cpu":90,"memory":40}}`,
  ],
  [
    'resource_resume',
    (l) => l.resourceResume(),
    `{${TS},"type":"resource_resume","severity":"INFO",${IDS},"message":"Resource throttling cleared"}`,
  ],
  [
    'resource_warning',
    (l) => l.resourceWarning('Job queued due to resource limits'),
    `{${TS},"type":"resource_warning","severity":"WARN",${IDS},"message":"Job queued due to resource limits"}`,
  ],
  [
    'auth_failed',
    (l) => l.authFailed(new RediverError('AUTH_FAILED', 'API key refused')),
    `{${TS},"type":"auth_failed","severity":"ERROR",${IDS},"message":"Authentication failed","error":{"message":"API key refused","code":"AUTH_FAILED"}}`,
  ],
  [
    'rate_limited',
    (l) => l.rateLimited(3000),
    `{${TS},"type":"rate_limited","severity":"WARN",${IDS},"message":"Rate limited","details":{"retry_after_ms":3000}}`,
  ],
  [
    'validation_error',
    (l) => l.validationError(new RediverError('REPORT_ID_INVALID', 'bad id')),
    `{${TS},"type":"validation_error","severity":"WARN",${IDS},"message":"Validation error","error":{"message":"bad id","code":"REPORT_ID_INVALID"}}`,
  ],
];

describe('line format', () => {
  it('covers every event type of core', () => {
    expect(new Set(golden.map(([t]) => t))).toEqual(new Set(Object.values(AUDIT_EVENT_TYPES)));
  });

  it.each(golden)('writes the golden line for %s', async (_type, call, expected) => {
    const logger = make();
    call(logger);
    await logger.flush();
    expect(await readLines(join(dir, 'audit.log'))).toEqual([expected]);
    expect(JSON.parse(expected)).toMatchObject({ type: _type });
  });

  it('writes each severity through the convenience methods, in call order', async () => {
    const logger = make({ agentId: '', tenantId: '' });
    logger.debug('scan_started', 'd');
    logger.info('scan_started', 'i', { a: 1 });
    logger.warn('scan_started', 'w');
    logger.error('scan_failed', 'e', new Error('x'), { exit_code: 2 });
    logger.critical('agent_error', 'c');
    await logger.flush();
    const lines = (await readLines(join(dir, 'audit.log'))).map(
      (l) => JSON.parse(l) as Record<string, unknown>,
    );
    expect(lines.map((l) => l.severity)).toEqual(['DEBUG', 'INFO', 'WARN', 'ERROR', 'CRITICAL']);
    // Empty ids are absent, not empty strings.
    expect(lines[0]).toEqual({
      timestamp: '2026-01-15T10:30:00.000Z',
      type: 'scan_started',
      severity: 'DEBUG',
      message: 'd',
    });
    expect(lines[3]).toMatchObject({ error: { message: 'x' }, details: { exit_code: 2 } });
  });

  it('never mutates the caller’s details, even with redaction', async () => {
    const logger = make({ redact: ['details.password', 'details.nested.token'] });
    const details = Object.freeze({
      password: 'hunter2',
      nested: Object.freeze({ token: 't', keep: 1 }),
      tool: 'x',
    });
    logger.jobStarted('job-1', 'scan', details);
    logger.info('scan_started', 'again', details);
    await logger.flush();
    expect(details).toEqual({ password: 'hunter2', nested: { token: 't', keep: 1 }, tool: 'x' });
    const lines = await readLines(join(dir, 'audit.log'));
    expect(lines.join('\n')).not.toContain('hunter2');
    expect(JSON.parse(lines[1]!).details).toEqual({
      password: '[Redacted]',
      nested: { token: '[Redacted]', keep: 1 },
      tool: 'x',
    });
  });

  it('withContext stamps job and report ids; explicit ids win; views share the file', async () => {
    const logger = make();
    const job = logger.withContext({ jobId: 'job-9', reportId: 'rep-9' });
    const nested = job.withContext({ reportId: 'rep-10' });
    job.info('scan_started', 'a');
    nested.info('scan_started', 'b');
    job.chunkUploaded('rep-x', 0, 1, 10);
    logger.info('scan_started', 'c');
    await job.flush();
    const lines = (await readLines(join(dir, 'audit.log'))).map(
      (l) => JSON.parse(l) as Record<string, unknown>,
    );
    expect(lines.map((l) => [l.job_id, l.report_id, l.message])).toEqual([
      ['job-9', 'rep-9', 'a'],
      ['job-9', 'rep-10', 'b'],
      ['job-9', 'rep-x', 'Chunk uploaded'],
      [undefined, undefined, 'c'],
    ]);
    expect(job.stats().written).toBe(4);
  });

  it('never throws on odd details: cycles, BigInt and hostile proxies still give one complete line each', async () => {
    const logger = make();
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.self = cyclic;
    const dropped: unknown[] = [];
    const errors: string[] = [];
    logger.on('dropped', (e) => dropped.push(e));
    logger.on('error', (e) => errors.push(e.operation));
    logger.info('scan_started', 'cyclic', cyclic);
    logger.info('scan_started', 'bigint', { n: 10n });
    const hostile = new Proxy(
      {},
      {
        ownKeys() {
          throw new Error('no keys for you');
        },
      },
    );
    expect(() => logger.info('scan_started', 'hostile', hostile)).not.toThrow();
    await logger.flush();
    const lines = (await readLines(join(dir, 'audit.log'))).map(
      (l) => JSON.parse(l) as Record<string, unknown>,
    );
    expect(lines.map((l) => l.message)).toEqual(['cyclic', 'bigint', 'hostile']);
    expect(lines[0]!.details).toEqual({ a: 1, self: '[Circular]' });
    expect(lines[1]!.details).toEqual({ n: 10 });
    expect(dropped).toEqual([]);
    expect(errors).toEqual([]);
  });

  it('writes duration_ms in milliseconds and omits a non-finite one', async () => {
    const logger = make();
    logger.jobCompleted('j', 1500);
    logger.jobCompleted('j', Number.NaN);
    await logger.flush();
    const lines = (await readLines(join(dir, 'audit.log'))).map(
      (l) => JSON.parse(l) as Record<string, unknown>,
    );
    expect(lines[0]!.duration_ms).toBe(1500);
    expect('duration_ms' in lines[1]!).toBe(false);
  });
});

describe('file', () => {
  it('creates the folder and a 0640 file, and expands ~', async () => {
    const home = process.env.HOME;
    process.env.HOME = dir;
    try {
      const logger = await createAuditLogger({ logFile: '~/nested/deeper/audit.log' });
      open.push(logger);
      logger.agentStart();
      await logger.close();
      const s = await stat(join(dir, 'nested', 'deeper', 'audit.log'));
      expect(s.mode & 0o777).toBe(0o640);
      expect(await readLines(join(dir, 'nested', 'deeper', 'audit.log'))).toHaveLength(1);
    } finally {
      process.env.HOME = home;
    }
  });

  it('defaults to ~/.rediver/audit.log', () => {
    expect(DEFAULT_AUDIT_LOGGER_OPTIONS.logFile).toBe('~/.rediver/audit.log');
    expect(DEFAULT_AUDIT_LOGGER_OPTIONS).toMatchObject({
      maxSizeMB: 100,
      maxAgeDays: 30,
      bufferSize: 100,
      flushIntervalMs: 1000,
    });
    expect(Object.isFrozen(DEFAULT_AUDIT_LOGGER_OPTIONS)).toBe(true);
  });

  it('rejects an unwritable path at start with a typed error', async () => {
    await writeFile(join(dir, 'a-file'), 'x');
    const logger = make({ logFile: join(dir, 'a-file', 'sub', 'audit.log') });
    const errors: string[] = [];
    logger.on('error', (e) => errors.push(e.operation));
    await expect(logger.start()).rejects.toMatchObject({ name: 'AuditError', code: 'INTERNAL' });
    expect(errors).toEqual(['open']);
    logger.agentStart();
    await expect(logger.close()).rejects.toMatchObject({ name: 'AuditError' });
  });
});

describe('buffering', () => {
  it('writes when bufferSize events are buffered, not one before', async () => {
    const logger = make({ bufferSize: 3, flushIntervalMs: 3_600_000 });
    await logger.start();
    const flushed: number[] = [];
    logger.on('flushed', (e) => flushed.push(e.lines));
    logger.info('upload_started', '1');
    logger.info('upload_started', '2');
    await new Promise((r) => setTimeout(r, 20));
    expect(flushed).toEqual([]);
    logger.info('upload_started', '3');
    await new Promise<void>((resolve) => logger.once('flushed', () => resolve()));
    expect(flushed).toEqual([3]);
  });

  it('writes ERROR and CRITICAL at once, with everything before them, fsync’d', async () => {
    const logger = make({ bufferSize: 1000, flushIntervalMs: 3_600_000 });
    const seen = new Promise<{ lines: number; synced: boolean }>((resolve) =>
      logger.once('flushed', resolve),
    );
    logger.info('upload_started', 'before');
    logger.error('scan_failed', 'now');
    expect(await seen).toEqual({ lines: 2, bytes: expect.any(Number) as number, synced: true });
    const types = (await readLines(join(dir, 'audit.log'))).map((l) => JSON.parse(l).message as string);
    expect(types).toEqual(['before', 'now']);
  });

  it('writes buffered events every flushIntervalMs', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    const logger = make({ bufferSize: 1000, flushIntervalMs: 5000 });
    await logger.start();
    const flushed = new Promise<{ synced: boolean }>((resolve) => logger.once('flushed', resolve));
    logger.info('upload_started', 'x');
    vi.advanceTimersByTime(4999);
    expect(logger.stats().written).toBe(0);
    vi.advanceTimersByTime(1);
    expect((await flushed).synced).toBe(true);
    expect(await readLines(join(dir, 'audit.log'))).toHaveLength(1);
  });

  it('arms the flush tick only while something is buffered: an idle logger never wakes', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    const logger = make({ bufferSize: 1000, flushIntervalMs: 1000 });
    await logger.start();
    await logger.flush();
    // Only the hourly retention check is left.
    expect(vi.getTimerCount()).toBe(1);
    logger.info('upload_started', 'x');
    expect(vi.getTimerCount()).toBe(2);
    const flushed = new Promise<{ synced: boolean }>((resolve) => logger.once('flushed', resolve));
    vi.advanceTimersByTime(1000);
    expect((await flushed).synced).toBe(true);
    await new Promise((r) => setTimeout(r, 20));
    // The next tick finds nothing to write or fsync and disarms itself.
    vi.advanceTimersByTime(1000);
    expect(vi.getTimerCount()).toBe(1);
    vi.advanceTimersByTime(60_000);
    expect(vi.getTimerCount()).toBe(1);
    expect(await readLines(join(dir, 'audit.log'))).toHaveLength(1);
    await logger.close();
    expect(vi.getTimerCount()).toBe(0);
  });
});

describe('close', () => {
  it('flushes everything; later events are counted and reported, never written', async () => {
    const logger = make();
    const dropped: unknown[] = [];
    logger.on('dropped', (e) => dropped.push(e));
    logger.info('scan_started', 'kept');
    const p1 = logger.close();
    expect(logger.close()).toBe(p1);
    logger.info('scan_started', 'late');
    await p1;
    expect(() => logger.jobFailed('j', new Error('late too'))).not.toThrow();
    await logger[Symbol.asyncDispose]();
    expect(dropped).toEqual([
      { reason: 'closed', count: 1, type: 'scan_started' },
      { reason: 'closed', count: 1, type: 'job_failed' },
    ]);
    expect(logger.stats()).toMatchObject({ logged: 1, written: 1, droppedAfterClose: 2 });
    await expect(logger.flush()).resolves.toBeUndefined();
    expect(await readLines(join(dir, 'audit.log'))).toHaveLength(1);
  });
});

describe('options', () => {
  it.each([
    ['maxSizeMB', 0],
    ['maxSizeMB', -1],
    ['maxSizeMB', Number.NaN],
    ['maxAgeDays', 0],
    ['maxFiles', 0],
    ['maxFiles', 1.5],
    ['bufferSize', 0],
    ['bufferSize', 2.5],
    ['flushIntervalMs', 0],
    ['remoteEndpoint', 'not a url'],
    ['remoteEndpoint', 'ftp://x'],
    ['remoteFormat', 'xml'],
    ['logFile', ''],
  ])('rejects %s = %s with INVALID_OPTION', (name, value) => {
    const remote =
      name.startsWith('remote') && name !== 'remoteEndpoint' ? { remoteEndpoint: 'http://127.0.0.1:9' } : {};
    expect(() => new AuditLogger({ logFile: join(dir, 'a.log'), ...remote, [name]: value })).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTION', name: 'AuditError' }),
    );
  });

  it('accepts the smallest valid values', async () => {
    const logger = make({
      bufferSize: 1,
      flushIntervalMs: 1,
      maxFiles: 1,
      maxSizeMB: 1 / (1024 * 1024),
      maxAgeDays: Number.POSITIVE_INFINITY,
    });
    logger.agentStart();
    await logger.close();
    expect(await readLines(join(dir, 'audit.log'))).toHaveLength(1);
  });
});

describe('verbose', () => {
  it('prints a human-readable, redacted line per event', async () => {
    const out: string[] = [];
    const logger = make({
      verbose: true,
      verboseStream: { write: (s: string) => out.push(s) },
      redact: ['details.secret'],
    });
    logger.jobCompleted('job-1', 45000, { secret: 's3cr3t', tool: 'semgrep' });
    logger.jobFailed('job-2', boom);
    await logger.close();
    expect(out).toEqual([
      '2026-01-15T10:30:00.000Z INFO     job_completed job=job-1 Job completed successfully (45000 ms) {"secret":"[Redacted]","tool":"semgrep"}\n',
      '2026-01-15T10:30:00.000Z ERROR    job_failed job=job-2 Job failed error=[NETWORK] connection refused\n',
    ]);
  });
});

describe('write failures', () => {
  // /dev/full accepts opens and fails every write with ENOSPC: a real full disk without mocks.
  it.runIf(process.platform === 'linux')(
    'reports a full disk as DISK_FULL (never STORAGE_QUOTA), keeps the lines and never throws into callers',
    async () => {
      const logger = make({ logFile: '/dev/full', bufferSize: 1 });
      const errors: { operation: string; code: string }[] = [];
      logger.on('error', (e) => errors.push({ operation: e.operation, code: e.error.code }));
      logger.agentStart();
      await expect(logger.flush()).rejects.toMatchObject({ name: 'AuditError', code: 'DISK_FULL' });
      expect(() => logger.agentStop()).not.toThrow();
      await expect(logger.close()).rejects.toMatchObject({ code: 'DISK_FULL' });
      expect(errors.length).toBeGreaterThanOrEqual(2);
      expect(errors.every((e) => e.operation === 'write' && e.code === 'DISK_FULL')).toBe(true);
      expect(logger.stats()).toMatchObject({ logged: 2, written: 0 });
    },
  );
});

describe('the event contract (issue 16)', () => {
  it('emits domain:verb names, then the deprecated plain names with the same payload', async () => {
    const logger = make();
    const seen: string[] = [];
    logger.on('file:flushed', (e) => seen.push(`file:flushed ${e.lines}`));
    logger.on('flushed', (e) => seen.push(`flushed ${e.lines}`));
    logger.on('audit:dropped', (e) => seen.push(`audit:dropped ${e.reason}`));
    logger.on('dropped', (e) => seen.push(`dropped ${e.reason}`));
    await logger.start();
    logger.info('scan_started', 'one');
    await logger.flush();
    await logger.close();
    logger.info('scan_started', 'too late');
    expect(seen).toContain('file:flushed 1');
    expect(seen.indexOf('file:flushed 1')).toBe(seen.indexOf('flushed 1') - 1);
    expect(seen.slice(-2)).toEqual(['audit:dropped closed', 'dropped closed']);
  });

  it("reports background failures as 'error' { error, source } (operation kept, deprecated)", async () => {
    // The log's folder is a file: opening it fails in the background of a logging call.
    await writeFile(join(dir, 'blocked'), 'x');
    const logger = make({ logFile: join(dir, 'blocked', 'audit.log') });
    const errors: { source: string; operation: string; code: string }[] = [];
    logger.on('error', (e) => errors.push({ source: e.source, operation: e.operation, code: e.error.code }));
    logger.info('scan_started', 'one');
    await logger.flush().catch(() => {});
    expect(errors.length).toBeGreaterThan(0);
    expect(errors[0]!.source).toBe(errors[0]!.operation);
    expect(errors[0]!.source).toMatch(/^(open|write)$/);
  });
});
