// The attacks of issue 19, done as an attacker on the host would, against a sealed, rotated, checkpointed log.
import { readdir, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AuditLogger, verifyAuditLog } from '../src/index';
import type { AuditCheckpoint, AuditLoggerOptions } from '../src/index';
import { chainHash, parseChainedLine, sealSuffix } from '../src/internal/hashChain';
import { evolveKey, sealMac } from '../src/internal/sealKey';
import { manualClock } from '@rediver/testkit';
import { useTempDir } from '@rediver/testkit/vitest';
import { readLines } from './helpers';

const tmp = useTempDir('rediver-audit-');

const active = (): string => join(tmp.path, 'audit.log');

interface Written {
  key: string;
  checkpoint: AuditCheckpoint;
  checkpoints: AuditCheckpoint[];
}

/** A sealed log of `count` events in batches of 10, rotated every ~4 KiB, a checkpoint every 25 lines. */
function sealedLogger(options: AuditLoggerOptions = {}): AuditLogger {
  return new AuditLogger({
    logFile: active(),
    hashChain: true,
    clock: manualClock(),
    maxSizeMB: 4096 / (1024 * 1024),
    bufferSize: 10,
    ...options,
  });
}

async function writeSealed(count: number, options: AuditLoggerOptions = {}): Promise<Written> {
  const logger = sealedLogger({ checkpointEveryLines: 25, ...options });
  let key = '';
  const checkpoints: AuditCheckpoint[] = [];
  logger.on('key', (e) => (key = e.verificationKey));
  logger.on('checkpoint', (cp) => checkpoints.push(cp));
  await logger.start();
  for (let i = 0; i < count; i++) {
    logger.info('chunk_uploaded', `event ${i}`, { i });
    if (i % 10 === 9) await logger.flush();
  }
  await logger.close();
  return { key, checkpoint: logger.latestCheckpoint()!, checkpoints };
}

/** Every line of the log, parsed, oldest first. */
async function allLines(): Promise<{ type: string; severity: string }[]> {
  const out: { type: string; severity: string }[] = [];
  for (const f of [...(await files()).map((n) => join(tmp.path, n)), active()]) {
    for (const l of await readLines(f)) out.push(JSON.parse(l) as { type: string; severity: string });
  }
  return out;
}

async function files(): Promise<string[]> {
  return (await readdir(tmp.path)).filter((n) => /^audit\.\d{8}T\d{9}Z\.log$/.test(n)).sort();
}

/** Rewrites `file` with `edit`, then re-chains every later line of the whole log with plain SHA-256 (no key). */
async function rechainFrom(edit: (lines: string[]) => string[], file: string): Promise<void> {
  const all = [...(await files()).map((n) => join(tmp.path, n)), active()];
  let prevHash: string | undefined;
  let started = false;
  for (const f of all) {
    let lines = await readLines(f);
    if (f === file) {
      lines = edit(lines);
      started = true;
    }
    if (started) {
      lines = lines.map((l) => {
        const p = parseChainedLine(l)!;
        if (prevHash === undefined) {
          prevHash = p.hash;
          return l;
        }
        const hash = chainHash(prevHash, p.canonical);
        prevHash = hash;
        // The attacker keeps the old seal member (cannot compute a valid one without the key).
        const end = p.seal ? sealSuffix(p.seal).slice(0, -1) : '}';
        return `${p.canonical},"hash":"${hash}"${end}`;
      });
      await writeFile(f, lines.join('\n') + '\n');
    } else {
      prevHash = parseChainedLine(lines.at(-1)!)!.hash;
    }
  }
}

describe('an intact sealed log', () => {
  it('verifies with the key and the checkpoint, and says which guarantees hold', async () => {
    const w = await writeSealed(200);
    expect(w.key).toMatch(/^audit-key-v1:[0-9a-f]{16}:[0-9a-f]{64}$/);
    expect(w.checkpoints.length).toBeGreaterThanOrEqual(6);
    expect((await files()).length).toBeGreaterThan(3);
    const r = await verifyAuditLog(tmp.path, { keys: [w.key], checkpoints: w.checkpoints });
    expect(r).toMatchObject({ ok: true, firstSeq: 1, keyChecked: true });
    expect(r.seals).toBeGreaterThan(20);
    expect(r.lastSealedSeq).toBe(r.lastSeq);
    expect(r.checkpointsChecked).toBe(w.checkpoints.length);
    expect(r.guarantees.join(' ')).toContain('sealed with the forward-secure key');
    const plain = await verifyAuditLog(tmp.path);
    expect(plain).toMatchObject({ ok: true, keyChecked: false });
    expect(plain.guarantees.join(' ')).toMatch(/no key was given.*No checkpoint/);
  });

  it('keeps only the current epoch key on disk: earlier keys are overwritten', async () => {
    const w = await writeSealed(100);
    const k0 = Buffer.from(w.key.split(':')[2]!, 'hex');
    const keyFile = await readFile(`${active()}.key`);
    const epoch = w.checkpoint.epoch! + 1;
    let k: Buffer = k0;
    for (let e = 0; e < epoch; e++) {
      expect(keyFile.includes(Buffer.from(k.toString('hex')))).toBe(false);
      k = evolveKey(k);
    }
    expect(keyFile.toString('latin1')).toContain(k.toString('hex'));
  });
});

describe('tampering', () => {
  it('deleting the last lines: the checkpoint says truncated (file:line, seq)', async () => {
    const w = await writeSealed(200);
    const lines = await readLines(active());
    await writeFile(active(), lines.slice(0, -3).join('\n') + '\n');
    const r = await verifyAuditLog(tmp.path, { keys: [w.key], checkpoints: [w.checkpoint] });
    expect(r.ok).toBe(false);
    expect(r.problem).toMatchObject({ kind: 'truncated', file: active(), seq: w.checkpoint.seq - 2 });
    // Without a checkpoint the key alone sees the cut batch as unsealed.
    expect((await verifyAuditLog(tmp.path, { keys: [w.key] })).problem).toMatchObject({ kind: 'unsealed' });
  });

  it('deleting the whole active file is truncation, even without key or checkpoint', async () => {
    const w = await writeSealed(200);
    await unlink(active());
    expect((await verifyAuditLog(tmp.path)).problem).toMatchObject({
      kind: 'truncated',
      file: active(),
      line: 1,
    });
    expect((await verifyAuditLog(tmp.path, { checkpoints: [w.checkpoint] })).problem?.kind).toBe('truncated');
    // An emptied active file too.
    await writeFile(active(), '');
    expect((await verifyAuditLog(tmp.path)).problem).toMatchObject({ kind: 'truncated', file: active() });
  });

  it('deleting the oldest rotated file (and then editing the next) is missing lines, not retention', async () => {
    await writeSealed(200);
    const [oldest, next] = await files();
    await unlink(join(tmp.path, oldest!));
    const r = await verifyAuditLog(tmp.path);
    expect(r.problem).toMatchObject({
      kind: 'missing',
      file: join(tmp.path, next!),
      line: 1,
      expectedSeq: 1,
    });
    expect(r.problem!.message).toContain('deleted by hand');
    const lines = await readLines(join(tmp.path, next!));
    await writeFile(
      join(tmp.path, next!),
      [lines[0]!.replace('audit.', 'audiX.'), ...lines.slice(1)].join('\n') + '\n',
    );
    expect((await verifyAuditLog(tmp.path)).problem).toMatchObject({ kind: 'missing', line: 1 });
  });

  it('retention removing the oldest files is recorded, so the log still verifies from the next file', async () => {
    const logger = sealedLogger({ maxFiles: 2 });
    let key = '';
    logger.on('key', (e) => (key = e.verificationKey));
    const deleted: string[] = [];
    logger.on('deleted', (e) => deleted.push(e.file));
    for (let i = 0; i < 300; i++) {
      logger.info('chunk_uploaded', `event ${i}`, { i });
      if (i % 10 === 9) await logger.flush();
    }
    await logger.close();
    expect(deleted.length).toBeGreaterThan(2);
    const r = await verifyAuditLog(tmp.path, { keys: [key] });
    expect(r.firstSeq).toBeGreaterThan(1);
    expect(r).toMatchObject({ ok: true });
    expect(r.guarantees.join(' ')).toContain('removed by retention (recorded)');
    // Deleting by hand the oldest file retention left is still caught.
    await unlink(join(tmp.path, (await files())[0]!));
    expect((await verifyAuditLog(tmp.path, { keys: [key] })).problem?.kind).toBe('missing');
  });

  it('appending a forged line with a recomputed sha256: unsealed with the key, forged with a made-up seal', async () => {
    const w = await writeSealed(60);
    const lines = await readLines(active());
    const last = parseChainedLine(lines.at(-1)!)!;
    const canonical = `{"timestamp":"2026-01-15T10:30:00.000Z","type":"job_completed","severity":"INFO","message":"forged","seq":${last.seq + 1}`;
    const hash = chainHash(last.hash, canonical);
    await writeFile(active(), [...lines, `${canonical},"hash":"${hash}"}`].join('\n') + '\n');
    expect(await verifyAuditLog(tmp.path)).toMatchObject({ ok: true }); // the plain chain cannot tell
    expect((await verifyAuditLog(tmp.path, { keys: [w.key] })).problem).toMatchObject({
      kind: 'unsealed',
      file: active(),
      line: lines.length + 1,
      seq: last.seq + 1,
    });
    const seal = sealSuffix({ keyId: last.seal!.keyId, epoch: last.seal!.epoch, mac: 'f'.repeat(64) });
    await writeFile(
      active(),
      [...lines, `${canonical},"hash":"${hash}"${seal.slice(0, -1)}`].join('\n') + '\n',
    );
    expect((await verifyAuditLog(tmp.path, { keys: [w.key] })).problem).toMatchObject({
      kind: 'forged',
      line: lines.length + 1,
    });
  });

  it('rewriting a middle line and re-chaining everything after it: forged at the next seal, rewritten at a checkpoint', async () => {
    const w = await writeSealed(200);
    const second = join(tmp.path, (await files())[1]!);
    await rechainFrom((l) => l.map((x, i) => (i === 2 ? x.replace('"event ', '"EVENT ') : x)), second);
    expect(await verifyAuditLog(tmp.path)).toMatchObject({ ok: true }); // plain chain re-computed
    const r = await verifyAuditLog(tmp.path, { keys: [w.key] });
    expect(r.problem).toMatchObject({ kind: 'forged', file: second });
    expect(r.problem!.line).toBeGreaterThanOrEqual(3);
    expect(r.problem!.message).toMatch(/seq \d+\.\.\d+ were rewritten/);
    const after = w.checkpoints.filter((c) => c.seq > r.problem!.seq!)[0]!;
    expect((await verifyAuditLog(tmp.path, { checkpoints: [after] })).problem).toMatchObject({
      kind: 'rewritten',
      seq: after.seq,
    });
  });

  it('a thief with the current key cannot re-seal earlier epochs (forward security)', async () => {
    const w = await writeSealed(200);
    // The key file holds only the current epoch's key: re-seal every line with it, after rewriting a line.
    const slot = (await readFile(`${active()}.key`, 'utf8')).split('\0').find((s) => s.startsWith('{'))!;
    const state = JSON.parse(slot.split('\t')[0]!) as { epoch: number; key: string; id: string };
    const stolen = Buffer.from(state.key, 'hex');
    const all = [...(await files()).map((n) => join(tmp.path, n)), active()];
    let prev: string | undefined;
    for (const f of all) {
      const out = (await readLines(f)).map((l) => {
        const p = parseChainedLine(l.replace('"event 5"', '"event X"'))!;
        const hash =
          prev === undefined ? chainHash('0'.repeat(64), p.canonical) : chainHash(prev, p.canonical);
        prev = hash;
        const seal = p.seal
          ? sealSuffix({ keyId: state.id, epoch: state.epoch, mac: sealMac(stolen, hash) }).slice(0, -1)
          : '}';
        return `${p.canonical},"hash":"${hash}"${seal}`;
      });
      await writeFile(f, out.join('\n') + '\n');
    }
    const r = await verifyAuditLog(tmp.path, { keys: [w.key] });
    expect(r.problem).toMatchObject({ kind: 'forged', file: all[0] });
    expect(r.problem!.message).toContain(`epoch ${state.epoch}`);
  });

  it('replacing the key file: the new key is announced; the old key alone does not verify later lines', async () => {
    const w1 = await writeSealed(50);
    await rm(`${active()}.key`);
    const w2 = await writeSealed(50);
    expect(w2.key).not.toBe(w1.key);
    expect((await allLines()).some((l) => l.type === 'audit_key' && l.severity === 'WARN')).toBe(true);
    expect((await verifyAuditLog(tmp.path, { keys: [w1.key] })).problem).toMatchObject({ kind: 'forged' });
    expect(await verifyAuditLog(tmp.path, { keys: [w1.key, w2.key] })).toMatchObject({ ok: true });
  });

  it('a key derived from an operator secret verifies with the secret', async () => {
    const secret = 'correct horse battery staple';
    await writeSealed(80, { sealSecret: secret });
    expect(await verifyAuditLog(tmp.path, { secrets: [secret] })).toMatchObject({
      ok: true,
      keyChecked: true,
    });
    expect((await verifyAuditLog(tmp.path, { secrets: ['a wrong secret of 16+ chars'] })).problem?.kind).toBe(
      'forged',
    );
  });
});

describe('a plain chain of the previous version', () => {
  it('is verified as plain; lines are sealed from the upgrade on, and the key covers what came before', async () => {
    await writeSealed(30, { seal: false });
    expect((await readdir(tmp.path)).some((n) => n.endsWith('.key'))).toBe(false);
    expect(await verifyAuditLog(tmp.path)).toMatchObject({ ok: true, seals: 0 });
    const w = await writeSealed(30);
    expect((await allLines()).some((l) => l.type === 'audit_key')).toBe(true);
    const r = await verifyAuditLog(tmp.path, { keys: [w.key] });
    expect(r).toMatchObject({ ok: true, firstSeq: 1 });
  });
});

describe('records cannot be forged through logged details', () => {
  it('a details object shaped like a retention record does not excuse a deleted oldest file', async () => {
    const logger = sealedLogger();
    for (let i = 0; i < 60; i++) logger.info('chunk_uploaded', `event ${i}`, { i });
    await logger.flush();
    const [oldest] = await files();
    const last = parseChainedLine((await readLines(join(tmp.path, oldest!))).at(-1)!)!;
    // Someone who can put text into an event (a scanner's output) writes what a retention record would say.
    logger.info('chunk_uploaded', 'innocent', {
      type: 'audit_removed',
      last_seq: last.seq,
      last_hash: last.hash,
      details: { last_seq: last.seq, last_hash: last.hash },
    });
    // Nor can a JavaScript caller log an event with a record's type.
    const dropped: string[] = [];
    logger.on('dropped', (e) => dropped.push(`${e.reason}:${e.type}`));
    logger.log({
      type: 'audit_removed' as never,
      severity: 'INFO',
      message: 'x',
      details: { last_seq: last.seq },
    });
    expect(dropped).toEqual(['reserved_type:audit_removed']);
    await logger.close();
    await unlink(join(tmp.path, oldest!));
    expect((await verifyAuditLog(tmp.path)).problem).toMatchObject({ kind: 'missing' });
  });
});
