import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { manualClock, tempDir } from '@rediver/testkit';
import { readLines } from '../test/helpers';
import { AuditLogger } from './auditLogger';
import { runCli } from './internal/cliMain';
import { chainHash, parseChainedLine } from './internal/hashChain';
import { verifyAuditLog } from './verifyAuditLog';

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ path: dir, cleanup } = tempDir('rediver-audit-'));
});
afterEach(async () => {
  await cleanup();
});

async function writeChained(
  count: number,
  options: { maxSizeMB?: number; compress?: boolean; seal?: boolean } = {},
): Promise<void> {
  const logger = new AuditLogger({
    logFile: join(dir, 'audit.log'),
    hashChain: true,
    clock: manualClock(),
    ...options,
  });
  for (let i = 0; i < count; i++) logger.info('scan_started', `event ${i}`, { i });
  await logger.close();
}

async function editLines(edit: (lines: string[]) => string[], file = join(dir, 'audit.log')): Promise<void> {
  const lines = await readLines(file);
  await writeFile(file, edit(lines).join('\n') + '\n');
}

describe('verifyAuditLog', () => {
  it('reports an intact chain', async () => {
    await writeChained(10);
    const r = await verifyAuditLog(dir);
    expect(r).toMatchObject({ ok: true, lines: 10, firstSeq: 1, lastSeq: 10 });
    expect(r.lastHash).toMatch(/^[0-9a-f]{64}$/);
    expect(r.problem).toBeUndefined();
  });

  it('continues the chain across rotation (gzip too) and restarts', async () => {
    await writeChained(30, { maxSizeMB: 1500 / (1024 * 1024), compress: true });
    await writeChained(30, { maxSizeMB: 1500 / (1024 * 1024), compress: true });
    const r = await verifyAuditLog(dir);
    expect(r.files.length).toBeGreaterThan(3);
    expect(r.files.some((f) => f.endsWith('.log.gz'))).toBe(true);
    // Each rotation opens the next file with a record naming the previous file's last seq and hash.
    const rotations = r.files.length - 1;
    expect(r).toMatchObject({ ok: true, lines: 60 + rotations, firstSeq: 1, lastSeq: 60 + rotations });
  });

  it('recovers the chain from the newest rotated file (gzipped) when the active file is empty', async () => {
    await writeChained(3);
    // As if the process died right after a rotation: the lines are in a rotated, compressed file only.
    const text = await readFile(join(dir, 'audit.log'));
    await writeFile(join(dir, 'audit.20260115T103000000Z.log.gz'), gzipSync(text));
    await writeFile(join(dir, 'audit.log'), '');
    await writeChained(2);
    // The restart opens the empty active file with the rotation record the crash did not write.
    expect(await verifyAuditLog(dir)).toMatchObject({ ok: true, lines: 6, firstSeq: 1, lastSeq: 6 });
    const first = JSON.parse((await readLines(join(dir, 'audit.log')))[0]!) as {
      type: string;
      details: unknown;
    };
    expect(first).toMatchObject({
      type: 'audit_rotated',
      details: { previous_file: 'audit.20260115T103000000Z.log.gz', last_seq: 3 },
    });
  });

  it('catches an edited line', async () => {
    await writeChained(5);
    await editLines((l) => l.map((x, i) => (i === 2 ? x.replace('event 2', 'event X') : x)));
    const r = await verifyAuditLog(dir);
    expect(r).toMatchObject({ ok: false, lines: 2, problem: { kind: 'edited', line: 3, seq: 3 } });
  });

  it('catches an edit inside details', async () => {
    await writeChained(5);
    const file = join(dir, 'audit.log');
    const text = await readFile(file, 'utf8');
    await writeFile(file, text.replace('"i":1}', '"i":7}'));
    expect((await verifyAuditLog(dir)).problem).toMatchObject({ kind: 'edited', line: 2 });
  });

  it('catches an edited line whose own hash was recomputed: the next line breaks', async () => {
    await writeChained(5);
    await editLines((l) => {
      const prev = parseChainedLine(l[0]!)!;
      const edited = parseChainedLine(l[1]!.replace('event 1', 'event Z'))!;
      l[1] = `${edited.canonical},"hash":"${chainHash(prev.hash, edited.canonical)}"}`;
      return l;
    });
    expect((await verifyAuditLog(dir)).problem).toMatchObject({ kind: 'edited', line: 3, seq: 3 });
  });

  it('catches a deleted line', async () => {
    await writeChained(5);
    await editLines((l) => l.filter((_, i) => i !== 1));
    expect((await verifyAuditLog(dir)).problem).toMatchObject({
      kind: 'missing',
      line: 2,
      seq: 3,
      expectedSeq: 2,
    });
  });

  it('catches swapped lines', async () => {
    await writeChained(5);
    await editLines((l) => [l[0]!, l[2]!, l[1]!, l[3]!, l[4]!]);
    expect((await verifyAuditLog(dir)).problem).toMatchObject({
      kind: 'reordered',
      line: 2,
      seq: 3,
      expectedSeq: 2,
    });
  });

  it('catches a torn last line', async () => {
    await writeChained(3);
    const file = join(dir, 'audit.log');
    const text = await readFile(file, 'utf8');
    await writeFile(file, text + text.slice(0, 40));
    expect((await verifyAuditLog(file)).problem).toMatchObject({ kind: 'torn', line: 4 });
  });

  it('shows a cut head of a plain chain as firstSeq > 1, and catches an inserted unchained or malformed line', async () => {
    await writeChained(3, { seal: false });
    await editLines((l) => l.slice(1));
    // A plain single-file chain cannot tell a cut head from the previous version's retention: visible, and said.
    const r = await verifyAuditLog(dir);
    expect(r).toMatchObject({ ok: true, firstSeq: 2, lines: 2 });
    expect(r.guarantees.join(' ')).toContain('not anchored');
    await editLines((l) => [l[0]!, '{"type":"agent_start"}', l[1]!]);
    expect((await verifyAuditLog(dir)).problem).toMatchObject({ kind: 'unchained', line: 2 });
    await editLines((l) => [l[0]!, 'not json', l[2]!]);
    expect((await verifyAuditLog(dir)).problem).toMatchObject({ kind: 'malformed', line: 2 });
  });

  it('ignores other files in the folder and fails on a folder without a log', async () => {
    await writeFile(join(dir, 'other.log'), 'garbage\n');
    await expect(verifyAuditLog(dir)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await writeChained(2);
    await writeFile(join(dir, 'audit.20200101T000000000Z.txt'), 'garbage\n');
    expect(await verifyAuditLog(dir)).toMatchObject({ ok: true, lines: 2 });
  });
});

describe('rediver-audit verify', () => {
  function io(): {
    out: string[];
    err: string[];
    io: { out: (t: string) => void; err: (t: string) => void };
  } {
    const out: string[] = [];
    const err: string[] = [];
    return { out, err, io: { out: (t) => out.push(t), err: (t) => err.push(t) } };
  }

  it('exits 0 on an intact chain, 1 on a problem, 2 on usage errors', async () => {
    await writeChained(4);
    const a = io();
    expect(await runCli(['verify', dir], a.io)).toBe(0);
    expect(a.out.join('')).toMatch(
      /^OK: chain intact: 4 lines in 1 files, seq 1\.\.4, last hash [0-9a-f]{64}\n( {2}- [^\n]+\n)+$/,
    );
    // Which guarantees hold without a key or checkpoint is said, not implied.
    expect(a.out.join('')).toContain('no key was given');

    await editLines((l) => [l[0]!, l[2]!, l[1]!, l[3]!]);
    const b = io();
    expect(await runCli(['verify', dir, '--json'], b.io)).toBe(1);
    expect(JSON.parse(b.out.join(''))).toMatchObject({ ok: false, problem: { kind: 'reordered', line: 2 } });
    const c = io();
    expect(await runCli(['verify', dir, '--file', 'audit.log'], c.io)).toBe(1);
    expect(c.out.join('')).toContain('FAILED: reordered line at');

    for (const args of [[], ['check', dir], ['verify'], ['verify', dir, '--file']]) {
      const d = io();
      expect(await runCli(args, d.io)).toBe(2);
      expect(d.err.join('')).toContain('Usage: rediver-audit verify');
    }
    const e = io();
    expect(await runCli(['verify', join(dir, 'missing')], e.io)).toBe(2);
    expect(e.err.join('')).toContain('no audit log files');
  });
});
