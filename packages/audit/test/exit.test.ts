// Real child processes: nothing accepted is lost when a program ends without close(); durable events survive
// SIGKILL at once, the rest within the flush window.
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { verifyAuditLog } from '../src/index';
import { waitFor } from '@rediver/testkit';
import { useTempDir } from '@rediver/testkit/vitest';
import { killFixtures, readLines, runFixture } from './helpers';
import type { FixtureRun } from './helpers';

const tmp = useTempDir('rediver-audit-');
afterEach(killFixtures);

function run(how: string, count = 250): FixtureRun {
  return runFixture('exitChild.ts', [join(tmp.path, 'audit.log'), how, String(count)]);
}

function keyOf(out: string): string {
  return /key (audit-key-v1:\S+)/.exec(out)![1]!;
}

describe('a program that ends without close()', () => {
  for (const [how, code] of [
    ['natural', 0],
    ['throw', 1],
    ['exit', 0],
  ] as const) {
    it(`keeps every accepted line when it ends by ${how}`, async () => {
      const r = run(how);
      expect((await r.exited).code).toBe(code);
      const lines = await readLines(join(tmp.path, 'audit.log'));
      expect(lines).toHaveLength(250);
      const result = await verifyAuditLog(tmp.path, { keys: [keyOf(r.out())] });
      expect(result).toMatchObject({ ok: true, lines: 250 });
    }, 60_000);
  }
});

describe('SIGKILL', () => {
  it('loses no durable event: they are on disk before the logging call returns', async () => {
    const r = run('durable-then-kill', 10);
    await waitFor(() => r.out().includes('logged'), 60_000);
    r.child.kill('SIGKILL');
    expect((await r.exited).signal).toBe('SIGKILL');
    const types = (await readLines(join(tmp.path, 'audit.log'))).map(
      (l) => (JSON.parse(l) as { type: string }).type,
    );
    // The 10 buffered events before them are written with them, in order.
    expect(types).toEqual([...Array<string>(10).fill('chunk_uploaded'), 'agent_start', 'job_started']);
    expect(await verifyAuditLog(tmp.path, { keys: [keyOf(r.out())] })).toMatchObject({ ok: true, lines: 12 });
  }, 60_000);

  it('restarted and SIGKILLed again and again, the log keeps every agent_start and verifies with the key', async () => {
    const runs = 6;
    let key = '';
    for (let i = 0; i < runs; i++) {
      const r = run('durable-then-kill', 3);
      await waitFor(() => r.out().includes('logged'), 60_000);
      r.child.kill('SIGKILL');
      expect((await r.exited).signal).toBe('SIGKILL');
      // The key is shown only by the run that created it.
      if (i === 0) key = keyOf(r.out());
      else expect(r.out()).not.toContain('audit-key-v1');
    }
    const types = (await readLines(join(tmp.path, 'audit.log'))).map(
      (l) => (JSON.parse(l) as { type: string }).type,
    );
    expect(types.filter((t) => t === 'agent_start')).toHaveLength(runs);
    expect(types).toHaveLength(runs * 5);
    expect(await verifyAuditLog(tmp.path, { keys: [key] })).toMatchObject({ ok: true, lines: runs * 5 });
  }, 120_000);

  it('loses no other event once the flush window has passed, without any flush call', async () => {
    const r = run('window-then-kill', 40);
    await waitFor(() => r.out().includes('logged'), 60_000);
    await waitFor(
      async () => (await readLines(join(tmp.path, 'audit.log')).catch(() => [])).length === 40,
      20_000,
    );
    r.child.kill('SIGKILL');
    expect((await r.exited).signal).toBe('SIGKILL');
    expect(await verifyAuditLog(tmp.path, { keys: [keyOf(r.out())] })).toMatchObject({ ok: true, lines: 40 });
  }, 60_000);
});
