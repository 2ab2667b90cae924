import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { AuditLogger, verifyAuditLog } from '../src/index';
import { tempDir } from '@rediver/testkit';

let dir: string;
let cleanup: () => Promise<void>;
let child: ChildProcess | undefined;
beforeEach(async () => {
  ({ path: dir, cleanup } = tempDir('rediver-audit-'));
});
afterEach(async () => {
  if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  child = undefined;
  await cleanup();
});

it('a process SIGKILLed after flush() leaves every flushed line complete, and a restart continues the chain', async () => {
  const file = join(dir, 'audit.log');
  const count = 500;
  const proc = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      '--conditions=@rediver/source',
      join(import.meta.dirname, 'fixtures', 'crashChild.ts'),
      file,
      String(count),
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  child = proc;
  let stderr = '';
  proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<NodeJS.Signals | null>((resolve) =>
    proc.once('exit', (_code, signal) => resolve(signal)),
  );
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`child did not flush in time: ${stderr}`)), 60_000);
    proc.stdout.on('data', (d: Buffer) => {
      if (d.toString().includes(`flushed ${count}`)) {
        clearTimeout(timer);
        resolve();
      }
    });
    proc.once('exit', () => reject(new Error(`child exited early: ${stderr}`)));
  });
  // Let it write more, then kill it mid-stream.
  await new Promise((r) => setTimeout(r, 50));
  proc.kill('SIGKILL');
  expect(await exited).toBe('SIGKILL');

  const text = await readFile(file, 'utf8');
  const pieces = text.split('\n');
  const tail = pieces.pop()!; // '' or a torn last line
  const lines = pieces.map((l) => JSON.parse(l) as { message: string; details: { i: number } });
  expect(lines.length).toBeGreaterThanOrEqual(count);
  lines.forEach((l, i) => expect(l.details.i).toBe(i));
  if (tail !== '') {
    expect(() => JSON.parse(tail)).toThrow();
    expect((await verifyAuditLog(dir)).problem).toMatchObject({ kind: 'torn', line: lines.length + 1 });
  } else {
    expect(await verifyAuditLog(dir)).toMatchObject({ ok: true, lines: lines.length });
  }

  const restarted = new AuditLogger({ logFile: file, hashChain: true });
  restarted.agentStart();
  await restarted.close();
  const result = await verifyAuditLog(dir);
  expect(result).toMatchObject({ ok: true, firstSeq: 1 });
  expect(result.lines).toBe(lines.length + (tail === '' ? 1 : 2));
}, 90_000);
