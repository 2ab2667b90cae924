import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AuditLogger } from '@rediver/audit';
import { describe, expect, it } from 'vitest';
import { main } from './cli';
import type { Io } from './commands/common';

function io(env: NodeJS.ProcessEnv = {}): Io & { text: () => { out: string; err: string } } {
  let out = '';
  let err = '';
  const stream = (add: (s: string) => void): NodeJS.WriteStream =>
    ({ write: (s: string) => (add(s), true), isTTY: false, columns: 80 }) as unknown as NodeJS.WriteStream;
  return {
    out: stream((s) => (out += s)),
    err: stream((s) => (err += s)),
    env,
    text: () => ({ out, err }),
  };
}

describe('rediver-agent main', () => {
  it.each(['demo', 'scan', 'run', 'deliver', 'status'])('%s --help prints usage and exits 0', async (cmd) => {
    const x = io();
    expect(await main([cmd, '--help'], x)).toBe(0);
    expect(x.text().out).toMatch(new RegExp(`Usage: rediver-agent ${cmd}`));
  });

  it('audit verify --help, help <command>, --version', async () => {
    const a = io();
    expect(await main(['audit', 'verify', '--help'], a)).toBe(0);
    expect(a.text().out).toMatch(/hash chain/);
    const b = io();
    expect(await main(['help', 'scan'], b)).toBe(0);
    expect(b.text().out).toMatch(/Usage: rediver-agent scan/);
    const c = io();
    expect(await main(['--version'], c)).toBe(0);
    expect(c.text().out).toMatch(/^\d+\.\d+\.\d+\n$/);
    // One version source: what `--version` prints is the package.json version (it once said 0.1.0 against 0.0.0).
    const manifest = JSON.parse(await readFile(join(import.meta.dirname, '../package.json'), 'utf8')) as {
      version: string;
    };
    expect(c.text().out).toBe(`${manifest.version}\n`);
  });

  it('ignores the `--` a package-manager script passes through', async () => {
    const x = io();
    expect(await main(['--', 'scan', '--help'], x)).toBe(0);
    expect(x.text().out).toMatch(/Usage: rediver-agent scan/);
  });

  it('usage errors exit 2 with a message', async () => {
    const a = io();
    expect(await main(['bogus'], a)).toBe(2);
    expect(a.text().err).toMatch(/unknown command bogus/);
    const b = io();
    expect(await main(['scan', '--nope'], b)).toBe(2);
    expect(b.text().err).toMatch(/--nope/);
    const c = io();
    expect(await main(['scan'], c)).toBe(2);
    expect(c.text().err).toMatch(/exactly one path/);
    const d = io({ REDIVER_SCAN_TIMEOUT_MS: 'never' });
    expect(
      await main(['scan', '.', '--server', 'http://127.0.0.1:9', '--api-key', 'rdv_0123456789'], d),
    ).toBe(2);
    expect(d.text().err).toMatch(/scanTimeoutMs must be an integer.*REDIVER_SCAN_TIMEOUT_MS/);
    const e = io();
    expect(await main(['scan', '.'], e)).toBe(2);
    expect(e.text().err).toMatch(/server is required/);
  });
});

describe('rediver-agent audit verify', () => {
  it('checks seals with --key-file or --secret-file and truncation with --checkpoint', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'agent-audit-verify-'));
    try {
      const secret = 'an operator secret kept off the host';
      const logger = new AuditLogger({
        logFile: join(dir, 'audit.log'),
        hashChain: true,
        sealSecret: secret,
      });
      let key = '';
      logger.on('key', (e) => (key = e.verificationKey));
      for (let i = 0; i < 30; i++) logger.info('chunk_uploaded', `e${i}`);
      await logger.close();
      const cp = logger.latestCheckpoint()!;
      await writeFile(join(dir, 'key'), `${key}\n`);
      await writeFile(join(dir, 'secret'), `${secret}\n`);
      for (const args of [
        ['--key-file', join(dir, 'key')],
        ['--secret-file', join(dir, 'secret')],
      ]) {
        const x = io();
        expect(await main(['audit', 'verify', dir, ...args, '--checkpoint', `${cp.seq}:${cp.hash}`], x)).toBe(
          0,
        );
        expect(x.text().out).toMatch(/sealed with the forward-secure key[\s\S]*1 checkpoint\(s\) matched/);
      }
      // The newest lines deleted: only the checkpoint can tell.
      const lines = (await readFile(join(dir, 'audit.log'), 'utf8')).split('\n');
      await writeFile(join(dir, 'audit.log'), lines.slice(0, 20).join('\n') + '\n');
      const y = io();
      expect(await main(['audit', 'verify', dir, '--checkpoint', `${cp.seq}:${cp.hash}`], y)).toBe(1);
      expect(y.text().out).toMatch(/NOT intact: truncated at .*audit\.log:21 \(seq 21\)/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('storage failures are one clear line, never a stack (issue 18)', () => {
  it('a chunk store that cannot be opened names the file and the cause; exit 1', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'agent-cli-store-'));
    try {
      // The store's folder is a regular file: the store cannot be created there.
      await writeFile(join(dir, 'not-a-dir'), 'x');
      const db = join(dir, 'not-a-dir', 'chunks.db');
      const x = io();
      const code = await main(
        [
          'deliver',
          '--server',
          'http://127.0.0.1:9',
          '--api-key',
          'rdv_cli_test_0123456789',
          '--data-dir',
          join(dir, 'data'),
          '--progress',
          'quiet',
          '--set',
          `chunk.databasePath=${db}`,
        ],
        x,
      );
      expect(code).toBe(1);
      const err = x.text().err.trim().split('\n');
      expect(err).toEqual([
        expect.stringMatching(
          new RegExp(
            `^rediver-agent: INTERNAL: the chunk store ${db} cannot be opened \\((EEXIST|ENOTDIR): [a-z]`,
          ),
        ),
      ]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('reportError: a real SqliteError is its code and message; a bug keeps its stack', async () => {
    const { ChunkStore } = await import('@rediver/chunk');
    const { reportError } = await import('./commands/common');
    const dir = await mkdtemp(join(tmpdir(), 'agent-cli-sqlite-'));
    try {
      await writeFile(join(dir, 'chunks.db'), Buffer.alloc(64 * 1024, 0x5a));
      let sqliteError: unknown;
      try {
        const store = new ChunkStore({ databasePath: join(dir, 'chunks.db'), readOnly: true });
        await store.getStats().finally(() => store.close());
      } catch (e) {
        sqliteError = e;
      }
      expect((sqliteError as Error).name).toBe('SqliteError');
      const x = io();
      expect(reportError(x, sqliteError)).toBe(1);
      expect(x.text().err).toBe('rediver-agent: SQLITE_NOTADB: file is not a database\n');
      const y = io();
      reportError(y, new TypeError('x is undefined'));
      expect(y.text().err).toMatch(/TypeError: x is undefined\n\s+at /);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
