import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runLifetimeScript, settledCleanly } from '../../../tools/testing/lifetime';
import type { LoopbackServer } from '@rediver/testkit';
import { sendJson, startLoopbackServer } from '@rediver/testkit';

let server: LoopbackServer;
beforeAll(async () => {
  server = await startLoopbackServer((req, res) => {
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
      const result = await runLifetimeScript(new URL('./lifetime/script.ts', import.meta.url).pathname, {
        env: { REDIVER_TEST_URL: server.url },
      });
      expect(result).toEqual(settledCleanly('heartbeat timeout aborted network closed refused\n'));
    },
  );
});
