// One writer per log file: a second logger (in this process or another) is refused with the holder's pid, and
// never touches the file; a stale lock (dead pid, or this pid from a previous run) is taken over.
import { spawn } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { AuditLogger, createAuditLogger, isRediverError } from '../src/index';
import { waitFor } from '@rediver/testkit';
import { useTempDir } from '@rediver/testkit/vitest';
import { killFixtures, runFixture } from './helpers';

const tmp = useTempDir('rediver-audit-');
const open: AuditLogger[] = [];
afterEach(async () => {
  killFixtures();
  await Promise.allSettled(open.splice(0).map((l) => l.close()));
});

const file = (): string => join(tmp.path, 'audit.log');

function make(): AuditLogger {
  const l = new AuditLogger({ logFile: file(), hashChain: true });
  open.push(l);
  return l;
}

it('refuses a second logger on the same file in this process, naming the pid; free again after close', async () => {
  const a = make();
  await a.start();
  const b = make();
  const err: unknown = await b.start().catch((e: unknown) => e);
  expect(isRediverError(err, 'LOCKED')).toBe(true);
  expect(isRediverError(err, 'INVALID_OPTION')).toBe(false);
  expect(err).toMatchObject({ details: { option: 'logFile', holderPid: process.pid } });
  expect((err as Error).message).toContain(`pid ${process.pid}`);
  a.agentStart();
  await a.close();
  await b.start();
  b.agentStop();
  await b.close();
});

it('never cuts a line another live process is writing; takes the lock over once that process is dead', async () => {
  const { child, out, exited } = runFixture('lockChild.ts', [file()]);
  await waitFor(() => out().includes('locked'), 60_000);
  const before = await readFile(file(), 'utf8');
  expect(before.endsWith('"job_sta')).toBe(true);

  const second = make();
  const recovered: number[] = [];
  second.on('recovered', (e) => recovered.push(e.truncatedBytes));
  await expect(second.start()).rejects.toMatchObject({
    code: 'LOCKED',
    details: { holderPid: child.pid },
  });
  expect(await readFile(file(), 'utf8')).toBe(before);
  expect(recovered).toEqual([]);

  child.kill('SIGKILL');
  await exited;
  await second.start();
  expect(recovered).toEqual([before.length - before.lastIndexOf('\n') - 1]);
  const lock = JSON.parse(await readFile(`${file()}.lock`, 'utf8')) as { pid: number };
  expect(lock.pid).toBe(process.pid);
}, 90_000);

it('takes over a stale lock: a dead pid, or this pid left by a previous run (a restarted container)', async () => {
  const dead = spawn(process.execPath, ['-e', '']);
  const deadPid = dead.pid!;
  await new Promise((r) => dead.once('exit', r));
  for (const pid of [deadPid, process.pid]) {
    await writeFile(
      `${file()}.lock`,
      JSON.stringify({ pid, host: hostname(), token: 'left-by-a-previous-run' }),
    );
    const logger = await createAuditLogger({ logFile: file(), hashChain: true });
    open.push(logger);
    const lock = JSON.parse(await readFile(`${file()}.lock`, 'utf8')) as { pid: number; token: string };
    expect(lock.pid).toBe(process.pid);
    expect(lock.token).not.toBe('left-by-a-previous-run');
    await logger.close();
  }
});
