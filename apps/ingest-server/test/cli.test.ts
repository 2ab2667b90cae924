import { execFileSync, spawn } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_PATHS } from '@rediver/core';
import { formatStats, runCli } from '../src/cli';
import { finding, get, makeChunk, post } from './helpers';

const APP_DIR = join(import.meta.dirname, '..');
const NODE_ARGS = ['--import', 'tsx', '--conditions=@rediver/source', 'src/cli.ts'];
const WAIT_MS = 30_000;

let dir: string;
let db: string;
let child: ChildProcessWithoutNullStreams | undefined;
let baseUrl: string;

/** Runs the CLI in this process (the `serve` child proves the bin itself starts); captures its output. */
async function cli(args: string[]): Promise<{ status: number; stdout: string; stderr: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const status = await runCli(args, { out: (l) => out.push(l), err: (l) => err.push(l) });
  return { status, stdout: out.join('\n'), stderr: err.join('\n') };
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ingest-cli-'));
  db = join(dir, 'ingest.db');
  const config = join(dir, 'config.json');
  writeFileSync(config, JSON.stringify({ apiKeys: { rdv_from_config: 'tenant-config' } }));
  child = spawn(
    process.execPath,
    [...NODE_ARGS, 'serve', '--port', '0', '--db', db, '--key', 'rdv_cli_key=tenant-cli', '--config', config],
    {
      cwd: APP_DIR,
    },
  );
  baseUrl = await new Promise<string>((resolve, reject) => {
    let out = '';
    let err = '';
    const timer = setTimeout(() => reject(new Error(`serve did not start: ${out} ${err}`)), WAIT_MS);
    child!.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child!.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    child!.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`serve exited with ${code}: ${err}`));
    });
  });
}, WAIT_MS + 5000);

afterAll(async () => {
  if (child && child.exitCode === null) {
    const exited = new Promise((resolve) => child!.once('exit', resolve));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child?.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  }
  rmSync(dir, { recursive: true, force: true });
}, 20_000);

describe('rediver-ingest-server CLI', () => {
  it('serve: one command gives a server with keys from flags and the config file', async () => {
    expect((await get(baseUrl + API_PATHS.commands, 'rdv_cli_key')).status).toBe(200);
    expect((await get(baseUrl + API_PATHS.commands, 'rdv_from_config')).status).toBe(200);
    expect((await get(baseUrl + API_PATHS.commands, 'rdv_other')).status).toBe(401);
  });

  it(
    'enqueue: a command queued from the CLI is polled by the agent over HTTP',
    async () => {
      const r = await cli([
        'enqueue',
        '--db',
        db,
        '--tenant',
        'tenant-cli',
        '--type',
        'scan',
        '--payload',
        '{"target":"/repo"}',
        '--priority',
        '3',
      ]);
      expect(r.status).toBe(0);
      const queued = JSON.parse(r.stdout) as { id: string };
      const polled = await get(baseUrl + `${API_PATHS.commands}?limit=5`, 'rdv_cli_key');
      expect(polled.json).toEqual([
        expect.objectContaining({ id: queued.id, type: 'scan', payload: { target: '/repo' } }),
      ]);
      expect((await get(baseUrl + API_PATHS.commands, 'rdv_from_config')).json).toEqual([]);
    },
    WAIT_MS,
  );

  it(
    'stats: prints totals per tenant and report, read from the database the server writes',
    async () => {
      const c = makeChunk('cli-report', 0, 2, [finding(1), finding(2)]);
      expect((await post(baseUrl + API_PATHS.ingestChunk, c, { key: 'rdv_cli_key' })).status).toBe(201);
      const r = await cli(['stats', '--db', db]);
      expect(r.status).toBe(0);
      expect(r.stdout).toContain('tenant tenant-cli: reports=1 complete=0 findings=2');
      expect(r.stdout).toContain('report cli-report: chunks=1/2 findings_received=2');
      expect(r.stdout).toContain('INCOMPLETE');
      const json = await cli(['stats', '--db', db, '--tenant', 'tenant-cli', '--json']);
      expect(JSON.parse(json.stdout).tenants[0].totals.commands.pending).toBe(1);
    },
    WAIT_MS,
  );

  it('reports usage errors with exit code 2 (as the README says) and a message', async () => {
    const lines: string[] = [];
    const io = { out: (l: string) => lines.push(l), err: (l: string) => lines.push(l) };
    expect(await runCli(['stats'], io)).toBe(2);
    expect(await runCli(['enqueue', '--db', db], io)).toBe(2);
    expect(await runCli(['serve', '--key', 'novalue'], io)).toBe(2);
    expect(await runCli(['nope'], io)).toBe(2);
    // `pnpm start -- <flags>` passes a leading `--` through.
    expect(await runCli(['--', 'stats'], io)).toBe(2);
    expect(lines.join('\n')).toContain('stats needs --db FILE');
    expect(await runCli(['serve', '--bogus'], io)).toBe(2);
    expect(lines.join('\n')).toContain('--key must look like rdv_xxx=tenant');
    expect(lines.join('\n')).not.toContain('novalue');
  });

  it('serve --help, stats --help and enqueue --help print their usage and exit 0', async () => {
    for (const command of ['serve', 'stats', 'enqueue']) {
      const r = await cli([command, '--help']);
      expect(r.status, command).toBe(0);
      expect(r.stdout).toContain(`usage: rediver-ingest-server ${command}`);
    }
    expect((await cli(['serve', '-h'])).status).toBe(0);
  });

  it('refuses an unknown config key with a did-you-mean (exit 2)', async () => {
    const file = join(dir, 'typo.json');
    writeFileSync(file, JSON.stringify({ apiKey: { rdv_typo_secret: 't' } }));
    const r = await cli(['serve', '--config', file]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('"apiKey" is not an option of the config file (did you mean apiKeys?)');
    expect(r.stderr).not.toContain('rdv_typo_secret');
    writeFileSync(file, JSON.stringify({ faults: { errorRat: 1 } }));
    const f = await cli(['serve', '--config', file, '--port', '0']);
    expect(f.status).toBe(2);
    expect(f.stderr).toContain('did you mean errorRate?');
  });

  it('never prints part of a key when the config is not valid JSON', async () => {
    const file = join(dir, 'broken.json');
    const secrets = [
      '{"apiKeys": {"rdv_leaky_secret": "t",}}',
      '{"adminKey": rdv_bare_secret}',
      '{"adminKey": "rdv_cut',
    ];
    for (const text of secrets) {
      writeFileSync(file, text);
      const r = await cli(['serve', '--config', file]);
      expect(r.status, text).toBe(2);
      expect(r.stderr).toContain('is not valid JSON');
      expect(r.stderr).not.toMatch(/rdv_|leaky|bare|secret|cut/);
    }
  });

  it('refuses a config that is not a small regular file at once: devices, FIFOs, directories, huge files', async () => {
    const fifo = join(dir, 'config.fifo');
    execFileSync('mkfifo', [fifo]);
    const huge = join(dir, 'huge.json');
    writeFileSync(huge, `{"host":"${'x'.repeat(2 * 1024 * 1024)}"}`);
    for (const [file, text] of [
      ['/dev/urandom', 'not a regular file'],
      ['/dev/zero', 'not a regular file'],
      [fifo, 'not a regular file'],
      [dir, 'not a regular file'],
      [huge, 'a config file is at most'],
      [join(dir, 'missing.json'), 'ENOENT'],
    ] as const) {
      const r = await cli(['serve', '--config', file]);
      expect(r.status, file).toBe(2);
      expect(r.stderr, file).toContain(text);
    }
  });

  it('refuses to serve beyond loopback without an admin key or with only the public dev key', async () => {
    const noAdmin = await cli(['serve', '--host', '0.0.0.0', '--port', '0', '--key', 'rdv_k=t']);
    expect(noAdmin.status).toBe(2);
    expect(noAdmin.stderr).toContain('--admin-key');
    const devKey = await cli(['serve', '--host', '0.0.0.0', '--port', '0', '--admin-key', 'adm']);
    expect(devKey.status).toBe(2);
    expect(devKey.stderr).toContain('--key');
  });

  it('formatStats says so when there is no data', () => {
    expect(formatStats({ tenants: [] })).toBe('no data\n');
  });
});
