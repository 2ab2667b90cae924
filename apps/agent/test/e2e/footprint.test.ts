import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir, waitFor } from '@rediver/testkit';
import {
  APP,
  disposeCli,
  plainAgentArgs,
  prepareCli,
  startCli,
  startServer,
  TENANT,
  useE2eLifecycle,
} from './helpers';

const cleanups = useE2eLifecycle();

// Modules an idle `run` has no use for (issue 17: the daemon's footprint, measured by `bench:idle`): Kysely (the
// chunk store's own queries do not use it, ~12 MB RSS), the YAML parser (no config file, no --set: ~8 MB), the
// zstd decoder (needed to read chunks back, ~4 MB).
const NOT_WHILE_IDLE: [string, RegExp][] = [
  ['kysely', /[\\/]node_modules[\\/]kysely[\\/]/],
  ['yaml', /[\\/]node_modules[\\/]yaml[\\/]/],
  ['fzstd', /[\\/]node_modules[\\/]fzstd[\\/]/],
  // The platform client is on node:http: undici (with node:http2 and its wasm parser, ~11 MB) is not loaded.
  ['undici', /[\\/]node_modules[\\/](\.pnpm[\\/]undici@[^\\/]+[\\/]node_modules[\\/])?undici[\\/]/],
  // The SARIF reader's streaming JSON parser: loaded when a job runs.
  ['the streaming JSON parser', /[\\/]node_modules[\\/]@streamparser[\\/]json[\\/]/],
];

// Node's own modules an idle `run` has no use for: child_process (~2 MB RSS with the dgram and IPC modules it
// pulls in) and readline (the SARIF reader's spool replay), loaded when a job runs. Checked on the bundle: tsx
// itself starts esbuild with child_process.
const BUILTINS_NOT_WHILE_IDLE = ['child_process', 'readline', 'http2'];

/** Runs `rediver-agent run` until its first heartbeat, stops it, and returns every module it loaded. */
async function idleModules(options: { tsx: boolean }): Promise<string[]> {
  const dir = tempDir('agent-e2e-footprint-');
  cleanups.push(dir.cleanup);
  const server = await startServer(dir.path);
  cleanups.push(() => server.close());
  const log = join(dir.path, 'modules.txt');
  const run = startCli(
    ['run', ...plainAgentArgs(server, join(dir.path, 'agent'))],
    {
      NODE_OPTIONS: `--import ${join(APP, 'test/fixtures/footprint/moduleLog.mjs')}`,
      REDIVER_MODULE_LOG: log,
    },
    options,
  );
  await waitFor(() => /running as/.test(run.stderr() + run.stdout()), {
    timeoutMs: 60_000,
    what: 'the daemon running',
  });
  // A poll and a heartbeat went through the client.
  await waitFor(() => (server.stats(TENANT).tenants[0]?.totals.heartbeats ?? 0) >= 1, {
    timeoutMs: 30_000,
    what: 'a heartbeat at the server',
  });
  run.child.kill('SIGTERM');
  expect(await run.exit, run.stdout() + run.stderr()).toBe(0);
  return readFileSync(log, 'utf8').split('\n');
}

describe('footprint of the idle daemon (real process)', () => {
  beforeAll(prepareCli, 120_000);
  afterAll(disposeCli);

  it('`run` with no jobs loads only the modules it uses', async () => {
    // The sources through tsx: every package and dependency is its own file there (the bundle would hide them).
    const loaded = await idleModules({ tsx: true });
    // The log works: what `run` does use is in it.
    expect(loaded.some((p) => /[\\/]better-sqlite3[\\/]/.test(p))).toBe(true);
    for (const [name, pattern] of NOT_WHILE_IDLE)
      expect(
        loaded.filter((p) => pattern.test(p)),
        `${name} loaded by an idle run`,
      ).toEqual([]);
  });

  it('`run` with no jobs (the bundle) loads none of the Node modules only jobs use', async () => {
    const loaded = await idleModules({ tsx: false });
    // The log works: Node's modules the daemon does use are in it.
    expect(loaded).toContain('builtin:fs');
    expect(loaded).toContain('builtin:crypto');
    expect(loaded).toContain('builtin:http');
    expect(loaded.filter((p) => BUILTINS_NOT_WHILE_IDLE.includes(p.replace(/^builtin:/, '')))).toEqual([]);
  });
});
