// Issue 15 items 5 and 6, and the checkpoint API of issue 19, as a user calls them.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  AuditLogger,
  ERROR_CODES,
  formatCheckpoint,
  isRediverError,
  parseCheckpoints,
  verifyAuditLog,
} from '../src/index';
import type { AuditCheckpoint } from '../src/index';
import { runCli } from '../src/internal/cliMain';
import { manualClock, waitFor } from '@rediver/testkit';
import { useLoopbackServer, useTempDir } from '@rediver/testkit/vitest';

const tmp = useTempDir('rediver-audit-');
const endpoint = useLoopbackServer();

describe('errors and options from one import', () => {
  it('re-exports isRediverError and the error codes', () => {
    expect(ERROR_CODES.INVALID_OPTION).toBe('INVALID_OPTION');
    expect(isRediverError(new Error('x'))).toBe(false);
  });

  it('refuses an unknown option key with a did-you-mean, as INVALID_OPTION naming the key', () => {
    let err: unknown;
    try {
      new AuditLogger({ logFile: join(tmp.path, 'audit.log'), hashChian: true } as never);
    } catch (e) {
      err = e;
    }
    expect(isRediverError(err, 'INVALID_OPTION')).toBe(true);
    expect((err as Error).message).toContain(
      '"hashChian" is not an option of AuditLogger (did you mean hashChain?)',
    );
    expect(err).toMatchObject({ details: { option: 'hashChian' } });
    expect(() => new AuditLogger({ zzz: 1 } as never)).toThrow(/options: .*agentId/);
  });

  it('refuses unknown verify options and invalid new option values', async () => {
    await expect(verifyAuditLog(tmp.path, { fileNmae: 'x' } as never)).rejects.toMatchObject({
      code: 'INVALID_OPTION',
      details: { option: 'fileNmae' },
    });
    const bad: [string, Record<string, unknown>][] = [
      ['checkpointEveryLines', { checkpointEveryLines: 0 }],
      ['checkpointIntervalMs', { checkpointIntervalMs: -1 }],
      ['sealSecret', { sealSecret: 'short' }],
      ['durableTypes', { durableTypes: ['not_a_type'] }],
      ['seal', { seal: 'yes' }],
    ];
    for (const [option, o] of bad) {
      expect(() => new AuditLogger({ logFile: join(tmp.path, 'a.log'), ...o })).toThrow(
        expect.objectContaining({
          code: 'INVALID_OPTION',
          details: expect.objectContaining({ option }),
        }) as Error,
      );
    }
    // The secret itself never appears in the message.
    expect(() => new AuditLogger({ sealSecret: 'hunter2' })).toThrow(/^(?!.*hunter2)/s);
  });

  it('expands ~ in verifyAuditLog as logFile does', async () => {
    const home = process.env.HOME;
    process.env.HOME = tmp.path;
    try {
      const logger = new AuditLogger({ logFile: '~/.rediver/audit.log', hashChain: true });
      logger.agentStart();
      await logger.close();
      expect(await verifyAuditLog('~/.rediver')).toMatchObject({ ok: true, lines: 1 });
    } finally {
      process.env.HOME = home;
    }
  });
});

describe('checkpoints', () => {
  it('are taken every checkpointEveryLines, exposed for the heartbeat, and sent to the remote endpoint', async () => {
    const bodies: unknown[] = [];
    const url = `${
      (
        await endpoint.start((req, res) => {
          bodies.push(...(req.json as unknown[]));
          res.end();
        })
      ).url
    }/ingest`;
    const logger = new AuditLogger({
      logFile: join(tmp.path, 'audit.log'),
      hashChain: true,
      checkpointEveryLines: 10,
      bufferSize: 5,
      clock: manualClock(),
      remoteEndpoint: url,
    });
    const seen: AuditCheckpoint[] = [];
    logger.on('checkpoint', (cp) => seen.push(cp));
    expect(logger.latestCheckpoint()).toBeUndefined();
    for (let i = 0; i < 30; i++) {
      logger.info('chunk_uploaded', `e${i}`);
      if (i % 5 === 4) await logger.flush();
    }
    expect(seen.map((c) => c.seq)).toEqual([10, 20, 30]);
    expect(seen.map((c) => c.epoch)).toEqual([0, 1, 2]);
    expect(logger.latestCheckpoint()).toEqual(seen[2]);
    await waitFor(() => bodies.some((b) => (b as { details?: { seq?: number } }).details?.seq === 30));
    await logger.close();
    const remote = bodies.filter((b) => (b as { type: string }).type === 'audit_checkpoint');
    expect(remote.map((b) => (b as { details: { seq: number } }).details.seq)).toEqual([10, 20, 30]);
    // Whatever form the operator kept, it parses back.
    const text = [
      formatCheckpoint(seen[0]!),
      JSON.stringify(remote[1]),
      JSON.stringify({ properties: { audit_checkpoint: seen[2] } }),
    ].join('\n');
    expect(parseCheckpoints(text).map((c) => c.seq)).toEqual([10, 20, 30]);
    expect(await verifyAuditLog(tmp.path, { checkpoints: parseCheckpoints(text) })).toMatchObject({
      ok: true,
      checkpointsChecked: 3,
    });
  });

  it('are taken every checkpointIntervalMs when lines were written, none when idle', async () => {
    const clock = manualClock();
    const logger = new AuditLogger({ logFile: join(tmp.path, 'audit.log'), hashChain: true, clock });
    const seen: number[] = [];
    logger.on('checkpoint', (cp) => seen.push(cp.seq));
    logger.info('chunk_uploaded', 'a');
    await logger.flush();
    clock.advance(59_999);
    logger.info('chunk_uploaded', 'b');
    await logger.flush();
    expect(seen).toEqual([]);
    clock.advance(1);
    logger.info('chunk_uploaded', 'c');
    await logger.flush();
    expect(seen).toEqual([3]);
    clock.advance(120_000);
    await logger.flush();
    expect(seen).toEqual([3]);
    await logger.close();
  });

  it('survive a restart: the key file keeps the last one, and a log cut below it is reported at start', async () => {
    const first = new AuditLogger({
      logFile: join(tmp.path, 'audit.log'),
      hashChain: true,
      checkpointEveryLines: 5,
    });
    for (let i = 0; i < 12; i++) first.info('chunk_uploaded', `e${i}`);
    await first.close();
    const cp = first.latestCheckpoint()!;
    expect(cp.seq).toBe(12);
    // Someone cuts the newest lines while the agent is stopped.
    const { readFile } = await import('node:fs/promises');
    const lines = (await readFile(join(tmp.path, 'audit.log'), 'utf8')).split('\n');
    await writeFile(join(tmp.path, 'audit.log'), lines.slice(0, 8).join('\n') + '\n');
    const second = new AuditLogger({ logFile: join(tmp.path, 'audit.log'), hashChain: true });
    await second.start();
    expect(second.latestCheckpoint()).toMatchObject({ seq: 12, hash: cp.hash });
    await second.close();
    const text = await readFile(join(tmp.path, 'audit.log'), 'utf8');
    expect(text).toContain('"severity":"CRITICAL"');
    expect(text).toContain('Audit log truncated: it ends at seq 8 but seq 12 was checkpointed');
  });
});

describe('rediver-audit verify --key --checkpoint', () => {
  it('checks seals with a key file and truncation with a checkpoint file', async () => {
    const logger = new AuditLogger({ logFile: join(tmp.path, 'audit.log'), hashChain: true });
    let key = '';
    logger.on('key', (e) => (key = e.verificationKey));
    for (let i = 0; i < 20; i++) logger.info('chunk_uploaded', `e${i}`);
    await logger.close();
    const cp = logger.latestCheckpoint()!;
    await writeFile(join(tmp.path, 'key.txt'), `# audit key\n${key}\n`);
    await writeFile(join(tmp.path, 'cps.txt'), `${formatCheckpoint(cp)}\n`);
    const out: string[] = [];
    const io = { out: (t: string) => out.push(t), err: (t: string) => out.push(t) };
    expect(
      await runCli(
        [
          'verify',
          tmp.path,
          '--key-file',
          join(tmp.path, 'key.txt'),
          '--checkpoint',
          join(tmp.path, 'cps.txt'),
        ],
        io,
      ),
    ).toBe(0);
    expect(out.join('')).toContain('sealed with the forward-secure key');
    expect(out.join('')).toContain('1 checkpoint(s) matched');
    out.length = 0;
    const beyond = `${cp.seq + 5}:${'a'.repeat(64)}`;
    expect(await runCli(['verify', tmp.path, '--key', key, '--checkpoint', beyond], io)).toBe(1);
    expect(out.join('')).toMatch(
      /^FAILED: truncated line at .*audit\.log:21 \(seq 21\): the log ends at seq 20/,
    );
    out.length = 0;
    expect(await runCli(['verify', tmp.path, '--key', 'audit-key-v1:nope'], io)).toBe(2);
  });
});
