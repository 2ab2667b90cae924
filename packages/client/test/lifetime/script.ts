// A user's program on @rediver/client with nothing else alive (the platform is another process: the test's
// loopback server at REDIVER_TEST_URL): it awaits each public promise in turn and prints one word per settled
// step. Run by test/lifetime.test.ts; it must print every step and exit 0 by itself.
import { createServer } from 'node:net';
import { createClient, isClientError } from '../../src/index';

const url = process.env.REDIVER_TEST_URL ?? '';
const steps: string[] = [];
const heartbeat = {
  name: 'agent-1',
  status: 'online' as const,
  version: '1.0.0',
  hostname: 'host',
  scanners: [],
  collectors: [],
  uptime_seconds: 1,
  total_scans: 0,
  errors: 0,
  cpu_percent: 1,
  memory_percent: 1,
  active_jobs: 0,
};
async function expectCode(call: () => Promise<unknown>, code: string, step: string): Promise<void> {
  try {
    await call();
  } catch (err) {
    if (!isClientError(err, code as never)) throw err;
    steps.push(step);
    return;
  }
  throw new Error(`${step}: expected ${code}`);
}

const client = createClient({ baseUrl: url, apiKey: 'rdv_lifetime_key', timeoutMs: 300 });
await client.heartbeat(heartbeat);
steps.push('heartbeat');

// The server holds this request open without answering: only the client's timeout ends it.
const hanging = createClient({ baseUrl: `${url}/hang`, apiKey: 'rdv_lifetime_key', timeoutMs: 300 });
await expectCode(() => hanging.heartbeat(heartbeat), 'TIMEOUT', 'timeout');

const controller = new AbortController();
setTimeout(() => controller.abort(), 50);
await expectCode(() => hanging.heartbeat(heartbeat, { signal: controller.signal }), 'ABORTED', 'aborted');
await hanging.close();

// A port nobody listens on.
const probe = createServer();
await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', () => resolve()));
const address = probe.address();
await new Promise<void>((resolve) => probe.close(() => resolve()));
const port = typeof address === 'object' && address !== null ? address.port : 1;
const nobody = createClient({
  baseUrl: `http://127.0.0.1:${port}`,
  apiKey: 'rdv_lifetime_key',
  timeoutMs: 300,
});
await expectCode(() => nobody.heartbeat(heartbeat), 'NETWORK', 'network');
await nobody.close();

await client.close();
steps.push('closed');
await expectCode(() => client.heartbeat(heartbeat), 'CLOSED', 'refused');
process.stdout.write(`${steps.join(' ')}\n`);
