// Every public promise settles in a process that has nothing else alive (issue 15): a timer a pending promise
// depends on keeps the process alive; only idle background timers are unref'd.
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { tempDir } from './helpers';

let dir: string;
let cleanup: () => Promise<void>;
let server: Server | undefined;
beforeEach(async () => {
  ({ dir, cleanup } = await tempDir());
});
afterEach(async () => {
  if (server) {
    server.closeAllConnections();
    await new Promise((r) => server!.close(r));
    server = undefined;
  }
  await cleanup();
});

/** An endpoint in this process that always answers 503: the child's shipper retries with backoff. */
async function failingEndpoint(): Promise<string> {
  server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.statusCode = 503;
      res.end();
    });
  });
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/ingest`;
}

async function lifetime(what: string, endpoint?: string): Promise<{ code: number | null; out: string }> {
  const fixture = join(import.meta.dirname, 'fixtures', 'lifetimeChild.mts');
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', '--conditions=@rediver/source', fixture, dir, what, ...(endpoint ? [endpoint] : [])],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
  return { code, out };
}

it('close() with an endpoint answering 503 settles at remoteCloseTimeoutMs; the process exits 0', async () => {
  const { code, out } = await lifetime('remote', await failingEndpoint());
  expect(out).toContain('retrying\nclosed\nflushed-after-close\nverified true\n');
  expect(code).toBe(0);
}, 60_000);

for (const what of ['plain', 'remote', 'transport', 'all']) {
  it(`create, flush, start, close (${what}), flush after close and verify all settle; the process exits 0`, async () => {
    const { code, out } = await lifetime(what);
    expect(out).toContain('closed\nflushed-after-close\nverified true\n');
    expect(code).toBe(0);
  }, 60_000);
}
