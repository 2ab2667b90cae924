import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runLifetimeScript } from '../../../tools/testing/lifetime';
import type { TestServer } from './testServer';
import { sendJson, startTestServer } from './testServer';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer((req, res) => {
    if (req.url.startsWith('/hang/')) return; // never answers
    sendJson(res, 200, { status: 'ok', agent_id: 'agent-1', tenant_id: 'tenant-1' });
  });
});
afterAll(() => server.close());

describe('@rediver/client in a program with nothing else alive', () => {
  it(
    'settles every awaited promise (calls, timeout, abort, network error, close) and exits 0',
    { timeout: 90_000 },
    async () => {
      process.env.REDIVER_TEST_URL = server.url;
      const result = await runLifetimeScript(new URL('./lifetime/script.ts', import.meta.url).pathname);
      // Exit code 13 and missing steps: Node ended the program in the middle of an await.
      expect(result).toEqual({
        code: 0,
        signal: null,
        stdout: 'heartbeat timeout aborted network closed refused\n',
        stderr: '',
      });
    },
  );
});
