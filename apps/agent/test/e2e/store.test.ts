// An unlucky host (issue 18, items 5 and 6), with real agent processes, real SQLite files and a real ingest server:
// a damaged chunk store is set aside and said once, and work goes on with a fresh store; a full disk is DISK_FULL,
// a report that cannot be stored is held in memory and sent directly, or said lost with its own exit code; `status`
// only reads, so it works on a full disk and on a read-only data dir.
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tempDir } from '@rediver/testkit';
import { agentArgs, runCli, SAMPLE, startServer, totals, useE2eLifecycle } from './helpers';

const cleanups = useE2eLifecycle();

interface AuditLine {
  type: string;
  severity: string;
  message: string;
  report_id?: string;
  details?: Record<string, unknown>;
}

function auditLines(file: string): AuditLine[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.startsWith('{') && l.endsWith('}'))
    .map((l) => JSON.parse(l) as AuditLine);
}

const sha = (path: string): string => createHash('sha256').update(readFileSync(path)).digest('hex');

/** What must never reach a user: a raw SQLite stack, a hidden cause, our quota's code for the host's disk. */
function expectNoRawFailure(out: string): void {
  expect(out).not.toMatch(/SqliteError|at .*\.(ts|js|mjs):\d+/);
  expect(out).not.toMatch(/cannot rollback/);
  expect(out).not.toMatch(/STORAGE_QUOTA/);
}

/** A data dir whose chunk store holds an undelivered report (the platform was down), then damaged by `damage`. */
async function damagedDataDir(damage: (db: string) => void): Promise<{ dir: string; dataDir: string }> {
  const tmp = tempDir('agent-e2e-store-');
  cleanups.push(tmp.cleanup);
  const dataDir = join(tmp.path, 'agent');
  const down = { url: 'http://127.0.0.1:9' };
  const first = await runCli([
    'scan',
    SAMPLE,
    ...agentArgs(down, dataDir),
    '--scanner',
    'synthetic:6000',
    '--set',
    'deliveryTimeoutMs=1000',
  ]);
  expect(first.code, first.stdout + first.stderr).toBe(3);
  const db = join(dataDir, 'chunks.db');
  expect(readFileSync(db).length).toBeGreaterThan(400_000);
  damage(db);
  return { dir: tmp.path, dataDir };
}

describe('a damaged chunk store (real processes)', () => {
  it.each([
    ['truncated to 400,000 bytes', 'deliver', (db: string) => truncateSync(db, 400_000)],
    ['overwritten with garbage', 'scan', (db: string) => writeFileSync(db, randomBytes(600_000))],
  ] as const)(
    'when %s: status reports it; %s sets it aside with one line and an audit line, and goes on with a fresh store',
    async (_name, command, damage) => {
      const { dir, dataDir } = await damagedDataDir(damage);
      const db = join(dataDir, 'chunks.db');
      const damagedHash = sha(db);
      const server = await startServer(dir);
      cleanups.push(() => server.close());
      const args = agentArgs(server, dataDir);

      // status: read-only, says it is damaged, changes nothing, exits 0.
      const st = await runCli(['status', '--data-dir', dataDir, '--tenant-id', 'e2e-tenant']);
      expect(st.code, st.stdout + st.stderr).toBe(0);
      expectNoRawFailure(st.stdout + st.stderr);
      expect(st.stdout).toContain(`chunk store: DAMAGED ${db}`);
      const stJson = await runCli(['status', '--data-dir', dataDir, '--json']);
      expect(stJson.code).toBe(0);
      expect(JSON.parse(stJson.stdout)).toMatchObject({
        chunkStore: { path: db, state: 'damaged', problem: expect.stringMatching(/SQLITE_(CORRUPT|NOTADB)/) },
        setAside: [],
      });
      expect(sha(db)).toBe(damagedHash);

      // deliver / scan: set aside (kept as it was), said in one line, audited, and a fresh store works.
      const r =
        command === 'scan'
          ? await runCli(['scan', SAMPLE, ...args, '--scanner', 'synthetic:3000'])
          : await runCli(['deliver', ...args]);
      expect(r.code, r.stdout + r.stderr).toBe(0);
      expectNoRawFailure(r.stdout + r.stderr);
      const said = r.stderr.split('\n').filter((l) => l.includes('was damaged'));
      expect(said).toHaveLength(1);
      const movedTo = /moved aside to (\S+)/.exec(said[0]!)?.[1];
      expect(movedTo).toMatch(/chunks\.db\.corrupt-\d{4}-\d{2}-\d{2}T/);
      expect(said[0]).toContain(`the chunk store ${db} was damaged`);
      expect(sha(movedTo!)).toBe(damagedHash);
      const audited = auditLines(join(dataDir, 'audit', 'audit.log')).filter(
        (l) => l.type === 'agent_error' && l.details?.moved_to === movedTo,
      );
      expect(audited).toHaveLength(1);
      expect(audited[0]).toMatchObject({ severity: 'ERROR', details: { store: db } });
      if (command === 'scan') {
        expect(totals(server).findingsReceived).toBe(3000);
        expect(totals(server).reports.every((rep) => rep.complete)).toBe(true);
      }

      // status now reports what was set aside, in text and JSON; the fresh store is fine.
      const after = await runCli(['status', '--data-dir', dataDir]);
      expect(after.code).toBe(0);
      expect(after.stdout).toContain(`set aside: damaged chunk store moved to ${movedTo}`);
      const afterJson = JSON.parse((await runCli(['status', '--data-dir', dataDir, '--json'])).stdout) as {
        chunkStore: { state: string };
        setAside: { movedTo: string; bytes: number; setAsideAt: string }[];
      };
      expect(afterJson.chunkStore.state).toBe('ok');
      expect(afterJson.setAside).toEqual([
        { movedTo, bytes: readFileSync(movedTo!).length, setAsideAt: expect.stringMatching(/^\d{4}-/) },
      ]);

      // The next start finds a sound store: nothing more is set aside or said.
      const again = await runCli(['deliver', ...args]);
      expect(again.code, again.stdout + again.stderr).toBe(0);
      expect(again.stderr).not.toContain('was damaged');
      const setAsideFiles = readdirSync(dataDir).filter(
        (n) => n.startsWith('chunks.db.corrupt-') && !/-(wal|shm|journal)$/.test(n),
      );
      expect(setAsideFiles).toHaveLength(1);
    },
  );
});

describe('a full disk: the data dir on a small tmpfs (real processes)', () => {
  const mountPoint = join('/tmp', `rediver-agent-tmpfs-${process.pid}`);
  let mounted = false;
  let why = '';
  beforeEach(() => {
    try {
      mkdirSync(mountPoint, { recursive: true });
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', mountPoint], { stdio: 'pipe' });
      mounted = true;
    } catch (err) {
      why = `mount -t tmpfs is not allowed here (${String((err as Error).message).split('\n')[0]})`;
    }
  });
  afterEach(() => {
    if (mounted) execFileSync('umount', ['-l', mountPoint]);
    mounted = false;
  });

  /** Skips the test, saying why, where no tmpfs could be mounted. */
  function skipped(ctx: { skip: () => void }): boolean {
    if (mounted) return false;
    console.warn(`skipped: ${why}`);
    ctx.skip();
    return true;
  }

  /** The agent's flags: the data dir on the tmpfs, the audit log on the ordinary disk (so it can be read). */
  async function setup(): Promise<{ dir: string; dataDir: string; auditLog: string }> {
    const tmp = tempDir('agent-e2e-full-');
    cleanups.push(tmp.cleanup);
    return { dir: tmp.path, dataDir: join(mountPoint, 'agent'), auditLog: join(tmp.path, 'audit.log') };
  }

  it('a report that cannot be stored is sent directly when the platform is reachable; said, audited, exit 0', async (ctx) => {
    if (skipped(ctx)) return;
    const { dir, dataDir, auditLog } = await setup();
    const server = await startServer(dir);
    cleanups.push(() => server.close());
    const r = await runCli([
      'scan',
      SAMPLE,
      ...agentArgs(server, dataDir),
      '--set',
      `audit.logFile=${auditLog}`,
      '--scanner',
      'synthetic:12000',
    ]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expectNoRawFailure(r.stdout + r.stderr);
    expect(r.stderr).toMatch(
      /NOT STORED: report \S+ \(12000 findings\): DISK_FULL: .*held in memory, sent to the platform directly/,
    );
    expect(totals(server).findingsReceived).toBe(12000);
    const critical = auditLines(auditLog).filter((l) => l.severity === 'CRITICAL');
    expect(critical).toHaveLength(1);
    expect(critical[0]).toMatchObject({
      type: 'upload_failed',
      details: { held_in_memory: true, sent_directly: true, findings: 12000 },
    });
    expect(critical[0]!.message).toContain('DISK_FULL');
  });

  it('everything on the full disk, audit log included: the scan is delivered, exit 0; the audit log said once', async (ctx) => {
    if (skipped(ctx)) return;
    const { dir, dataDir } = await setup();
    const server = await startServer(dir);
    cleanups.push(() => server.close());
    const r = await runCli(['scan', SAMPLE, ...agentArgs(server, dataDir), '--scanner', 'synthetic:12000']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expectNoRawFailure(r.stdout + r.stderr);
    expect(totals(server).findingsReceived).toBe(12000);
    expect(r.stderr).toMatch(/NOT STORED: report \S+ \(12000 findings\): DISK_FULL/);
    // Whether the audit log still had room for its last lines depends on who filled the disk first: said at most once.
    expect(
      r.stderr.split('\n').filter((l) => l.includes('cannot be written (DISK_FULL)')).length,
    ).toBeLessThanOrEqual(1);
  });

  it('unreachable platform: the report is said LOST with exit 4; status works on the full disk and read-only', async (ctx) => {
    if (skipped(ctx)) return;
    const { dataDir, auditLog } = await setup();
    const r = await runCli([
      'scan',
      SAMPLE,
      ...agentArgs({ url: 'http://127.0.0.1:9' }, dataDir),
      '--set',
      `audit.logFile=${auditLog}`,
      '--set',
      'deliveryTimeoutMs=1500',
      '--scanner',
      'synthetic:12000',
    ]);
    expect(r.code, r.stdout + r.stderr).toBe(4);
    expectNoRawFailure(r.stdout + r.stderr);
    expect(r.stderr).toMatch(
      /LOST: report \S+ \(12000 findings\) was neither stored nor delivered \(DISK_FULL\)/,
    );
    expect(r.stdout).toMatch(
      /NOT KEPT: neither stored \(DISK_FULL: .*\) nor delivered \(12000 findings lost\)/,
    );
    expect(r.stdout).not.toContain('kept in');
    const lost = auditLines(auditLog).filter((l) => l.details?.not_kept === true);
    expect(lost).toHaveLength(1);
    expect(lost[0]).toMatchObject({ type: 'upload_failed', severity: 'CRITICAL' });

    // status only reads: on the full disk, then on the same data dir mounted read-only.
    const db = join(dataDir, 'chunks.db');
    const before = sha(db);
    for (const readOnly of [false, true]) {
      if (readOnly) execFileSync('mount', ['-o', 'remount,ro', mountPoint]);
      const st = await runCli(['status', '--data-dir', dataDir, '--set', `audit.logFile=${auditLog}`]);
      expect(st.code, st.stdout + st.stderr).toBe(0);
      expectNoRawFailure(st.stdout + st.stderr);
      expect(st.stdout).toMatch(/disk: .* free of 1\.0 MiB — FULL/);
      expect(st.stdout).toMatch(/reports: 0 pending/);
      const json = JSON.parse(
        (await runCli(['status', '--data-dir', dataDir, '--json', '--set', `audit.logFile=${auditLog}`]))
          .stdout,
      ) as { chunkStore: { state: string }; disk: { freeBytes: number } };
      expect(json.chunkStore.state).toBe('ok');
      expect(json.disk.freeBytes).toBeLessThan(1024 * 1024);
    }
    expect(sha(db)).toBe(before);
  });
});
