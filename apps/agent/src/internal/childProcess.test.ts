import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isRediverError } from '@rediver/core';
import { runChild } from './childProcess';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'agent-child-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^\d+ \(.*\) Z/.test(stat);
  } catch {
    return false;
  }
}

async function waitFor(cond: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met');
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A scanner that starts a grandchild, records both pids, optionally ignores SIGTERM, and never ends. */
function stubborn(pidFile: string, ignoreTerm: boolean): string[] {
  const script = `
    const { spawn } = require('node:child_process');
    const fs = require('node:fs');
    ${ignoreTerm ? "process.on('SIGTERM', () => {});" : ''}
    const g = spawn(process.execPath, ['-e', "process.on('SIGTERM', () => {}); setInterval(() => {}, 1000)"], { stdio: 'ignore' });
    fs.writeFileSync(${JSON.stringify(pidFile)}, process.pid + ' ' + g.pid);
    setInterval(() => {}, 1000);`;
  return [process.execPath, '-e', script];
}

describe('runChild', () => {
  it('returns output and exit code', async () => {
    const r = await runChild([process.execPath, '-e', 'process.stdout.write("hi"); process.exitCode = 1'], {
      timeoutMs: 20_000,
    });
    expect(r).toMatchObject({ stdout: 'hi', exitCode: 1 });
  });

  it('kills the whole process group on timeout, grandchildren included', async () => {
    const pidFile = join(dir, 'timeout.pids');
    const err = await runChild(stubborn(pidFile, true), { timeoutMs: 1500, killGraceMs: 200 }).catch(
      (e: unknown) => e,
    );
    expect(isRediverError(err, 'TIMEOUT')).toBe(true);
    expect(existsSync(pidFile)).toBe(true);
    const pids = readFileSync(pidFile, 'utf8').split(' ').map(Number);
    await waitFor(() => pids.every((p) => !alive(p)));
  }, 20_000);

  it('kills the group when the agent aborts', async () => {
    const pidFile = join(dir, 'abort.pids');
    const ac = new AbortController();
    const p = runChild(stubborn(pidFile, false), { timeoutMs: 60_000, signal: ac.signal, killGraceMs: 200 });
    await waitFor(() => existsSync(pidFile));
    ac.abort();
    const err = await p.catch((e: unknown) => e);
    expect(isRediverError(err, 'ABORTED')).toBe(true);
    const pids = readFileSync(pidFile, 'utf8').split(' ').map(Number);
    await waitFor(() => pids.every((pid) => !alive(pid)));
  }, 20_000);

  it('does not start after the abort and reports a missing command', async () => {
    const ac = new AbortController();
    ac.abort();
    await expect(runChild(['true'], { timeoutMs: 1000, signal: ac.signal })).rejects.toMatchObject({
      code: 'ABORTED',
    });
    await expect(runChild(['/nonexistent/scanner'], { timeoutMs: 1000 })).rejects.toMatchObject({
      code: 'SCANNER_FAILED',
    });
  });
});
