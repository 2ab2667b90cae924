// Every public promise settles in a process that has nothing else alive (issue 15): a timer a pending promise
// depends on keeps the process alive; only idle background timers are unref'd.
import { expect, it } from 'vitest';
import { useLoopbackServer, useTempDir } from '@rediver/testkit/vitest';
import { runFixture } from './helpers';

const tmp = useTempDir('rediver-audit-');
const endpoint = useLoopbackServer();

/** An endpoint in this process that always answers 503: the child's shipper retries with backoff. */
async function failingEndpoint(): Promise<string> {
  const server = await endpoint.start((_req, res) => {
    res.statusCode = 503;
    res.end();
  });
  return `${server.url}/ingest`;
}

async function lifetime(what: string, endpoint?: string): Promise<{ code: number | null; out: string }> {
  const run = runFixture('lifetimeChild.mts', [tmp.path, what, ...(endpoint ? [endpoint] : [])]);
  const { code } = await run.exited;
  return { code, out: run.out() };
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
