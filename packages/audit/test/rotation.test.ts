import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AuditLogger } from '../src/index';
import type { AuditLoggerOptions } from '../src/index';
import { manualClock, tempDir } from '@rediver/testkit';
import { readLines } from './helpers';

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ path: dir, cleanup } = tempDir('rediver-audit-'));
});
afterEach(async () => {
  await cleanup();
});

const DAY = 86_400_000;
const file = (): string => join(dir, 'audit.log');

function make(options: AuditLoggerOptions = {}): AuditLogger {
  return new AuditLogger({ logFile: file(), clock: manualClock(), agentId: 'a', ...options });
}

/** Byte length of one `info('scan_started', 'event NN')` line with the manual clock. */
async function lineBytes(): Promise<number> {
  const probe = make({ logFile: join(dir, 'probe', 'audit.log') });
  probe.info('scan_started', 'event 00');
  await probe.close();
  return (await stat(join(dir, 'probe', 'audit.log'))).size;
}

async function rotatedNames(): Promise<string[]> {
  return (await readdir(dir)).filter((n) => /^audit\.\d{8}T\d{9}Z\.log(\.gz)?$/.test(n)).sort();
}

describe('rotation by size', () => {
  it('fills the file exactly to maxSizeMB and rotates on the next byte', async () => {
    const L = await lineBytes();
    const logger = make({ maxSizeMB: (3 * L) / (1024 * 1024) });
    const rotated: string[] = [];
    logger.on('rotated', (e) => rotated.push(e.to));
    for (let i = 0; i < 3; i++) logger.info('scan_started', `event 0${i}`);
    await logger.flush();
    expect((await stat(file())).size).toBe(3 * L);
    expect(await rotatedNames()).toEqual([]);
    logger.info('scan_started', 'event 03');
    await logger.close();
    const names = await rotatedNames();
    expect(names).toHaveLength(1);
    expect(rotated).toEqual([join(dir, names[0]!)]);
    expect((await readLines(join(dir, names[0]!))).map((l) => JSON.parse(l).message as string)).toEqual([
      'event 00',
      'event 01',
      'event 02',
    ]);
    expect((await readLines(file())).map((l) => JSON.parse(l).message as string)).toEqual(['event 03']);
    expect((await stat(join(dir, names[0]!))).mode & 0o777).toBe(0o640);
  });

  it('counts the existing file after a restart', async () => {
    const L = await lineBytes();
    const maxSizeMB = (3 * L) / (1024 * 1024);
    const first = make({ maxSizeMB });
    first.info('scan_started', 'event 00');
    first.info('scan_started', 'event 01');
    await first.close();
    const second = make({ maxSizeMB });
    second.info('scan_started', 'event 02');
    await second.flush();
    expect(await rotatedNames()).toEqual([]);
    expect((await stat(file())).size).toBe(3 * L);
    await second.close();
    const third = make({ maxSizeMB });
    third.info('scan_started', 'event 03');
    await third.close();
    expect(await rotatedNames()).toHaveLength(1);
    expect(await readLines(file())).toHaveLength(1);
  });

  it('gives several rotations in one millisecond distinct, sortable names, and keeps every line', async () => {
    const L = await lineBytes();
    const logger = make({ maxSizeMB: L / (1024 * 1024) });
    for (let i = 0; i < 12; i++) logger.info('scan_started', `event ${String(i).padStart(2, '0')}`);
    await logger.close();
    const names = await rotatedNames();
    expect(names).toHaveLength(11);
    const all = [];
    for (const n of names) all.push(...(await readLines(join(dir, n))));
    all.push(...(await readLines(file())));
    expect(all.map((l) => JSON.parse(l).message as string)).toEqual(
      Array.from({ length: 12 }, (_, i) => `event ${String(i).padStart(2, '0')}`),
    );
  });

  it('writes a line larger than maxSizeMB alone in its file', async () => {
    const logger = make({ maxSizeMB: 100 / (1024 * 1024) });
    logger.info('scan_started', 'x'.repeat(300));
    logger.info('scan_started', 'y'.repeat(300));
    await logger.close();
    expect(await rotatedNames()).toHaveLength(1);
    expect(await readLines(file())).toHaveLength(1);
  });

  it('gzips rotated files when asked', async () => {
    const L = await lineBytes();
    const logger = make({ maxSizeMB: (2 * L) / (1024 * 1024), compress: true });
    const compressed = new Promise<string>((resolve) => logger.once('compressed', (e) => resolve(e.file)));
    for (let i = 0; i < 3; i++) logger.info('scan_started', `event 0${i}`);
    await logger.flush();
    const gz = await compressed;
    await logger.close();
    expect(await rotatedNames()).toEqual([gz.slice(dir.length + 1)]);
    expect(gz).toMatch(/\.log\.gz$/);
    const text = gunzipSync(await readFile(gz)).toString('utf8');
    expect(
      text
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l).message as string),
    ).toEqual(['event 00', 'event 01']);
    expect((await stat(gz)).mode & 0o777).toBe(0o640);
  });
});

describe('retention', () => {
  it('deletes rotated files older than maxAgeDays and never touches other files', async () => {
    const clock = manualClock(Date.UTC(2026, 5, 30, 12, 0, 0));
    const old = ['audit.20260530T115959999Z.log', 'audit.20260501T000000000Z.log.gz'];
    const young = ['audit.20260530T120000000Z.log', 'audit.20260629T000000000Z.log.gz'];
    const others = [
      'other.log',
      'audit.log.bak',
      'audit.20200101T000000000Z.txt',
      'other.20200101T000000000Z.log',
      'audit.2020.log',
    ];
    for (const n of [...old, ...young, ...others]) await writeFile(join(dir, n), 'x\n');
    const logger = make({ clock, maxAgeDays: 31 });
    const deleted: string[] = [];
    logger.on('deleted', (e) => deleted.push(`${e.file.slice(dir.length + 1)}:${e.reason}`));
    await logger.start();
    await logger.close();
    expect(deleted.sort()).toEqual(old.map((n) => `${n}:age`).sort());
    expect((await readdir(dir)).sort()).toEqual([...young, ...others, 'audit.log'].sort());
    // Exactly at the age limit a file is kept; 1 ms more and it goes.
    expect(31 * DAY).toBe(clock.now() - Date.UTC(2026, 4, 30, 12, 0, 0));
  });

  it('keeps at most maxFiles rotated files, newest first', async () => {
    const names = [1, 2, 3, 4, 5].map((d) => `audit.2026060${d}T000000000Z.log`);
    for (const n of names) await writeFile(join(dir, n), 'x\n');
    const logger = make({ clock: manualClock(Date.UTC(2026, 5, 6)), maxFiles: 2 });
    const deleted: string[] = [];
    logger.on('deleted', (e) => deleted.push(`${e.file.slice(dir.length + 1)}:${e.reason}`));
    await logger.start();
    await logger.close();
    expect(deleted).toEqual(names.slice(0, 3).map((n) => `${n}:count`));
    expect(await rotatedNames()).toEqual(names.slice(3));
  });
});

describe('crash recovery', () => {
  it('cuts a torn last line at start, says so in an event and an audit line, and keeps earlier lines', async () => {
    await writeFile(
      file(),
      '{"timestamp":"x","type":"agent_start","severity":"INFO","message":"ok"}\n{"timestamp":"2026-01',
    );
    const logger = make();
    const recovered: unknown[] = [];
    logger.on('recovered', (e) => recovered.push(e));
    await logger.start();
    logger.agentStart();
    await logger.close();
    expect(recovered).toEqual([{ file: file(), truncatedBytes: 21 }]);
    const lines = (await readLines(file())).map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.map((l) => [l.type, l.severity])).toEqual([
      ['agent_start', 'INFO'],
      ['agent_error', 'WARN'],
      ['agent_start', 'INFO'],
    ]);
    expect(lines[1]!.details).toEqual({ file: file(), truncated_bytes: 21 });
  });
});
