import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FingerprintSet, sha256 } from './fingerprint';
import { LineHashes, lineHashesOfText } from './lineHash';
import { SecretMasker } from './masking';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'linehash-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const m = new SecretMasker();

describe('line hashes', () => {
  it('a line keeps its value when lines are inserted or moved elsewhere, and loses it when edited', () => {
    const a = ['const x = 1;', 'eval(input);', 'return x;'];
    const before = lineHashesOfText(a.join('\n'), m);
    const moved = lineHashesOfText(['', 'return x;', '', 'const x = 1;', '   eval(input);'].join('\n'), m);
    expect(moved[4]).toBe(before[1]);
    expect(moved[1]).toBe(before[2]);
    const edited = lineHashesOfText(['const x = 1;', 'eval(input2);', 'return x;'].join('\n'), m);
    expect(edited[1]).not.toBe(before[1]);
    expect(edited[0]).toBe(before[0]);
  });

  it('ignores whitespace and line-end style; counts equal lines with an occurrence index', () => {
    const lf = lineHashesOfText('a = b;\n\tfoo( x );\nfoo(x);\n', m);
    const crlf = lineHashesOfText('a = b;\r\n  foo(x);\r\nfoo(x);\r\n', m);
    const cr = lineHashesOfText('a = b;\rfoo(x);\rfoo(x);\r', m);
    expect(crlf).toEqual(lf);
    expect(cr).toEqual(lf);
    expect(lf[1]!.replace(/:\d+$/, '')).toBe(lf[2]!.replace(/:\d+$/, ''));
    expect(lf[1]!.endsWith(':1')).toBe(true);
    expect(lf[2]!.endsWith(':2')).toBe(true);
  });

  it('never hashes a secret: lines that differ only in a secret value hash alike', () => {
    const one = lineHashesOfText('const t = "ghp_Q8vZr2Lk5TnW1xYb7CdE3fGh9JkLmNpQrStU";', m);
    const two = lineHashesOfText('const t = "ghp_AAAAr2Lk5TnW1xYb7CdE3fGh9JkLmNpQrZZZ";', m);
    expect(two).toEqual(one);
    const known = new SecretMasker();
    known.addKnown('correct-horse-battery', { path: 'a.env', line: 1 });
    const k1 = lineHashesOfText('PASSPHRASE=correct-horse-battery', known, 'a.env');
    const k2 = lineHashesOfText('PASSPHRASE=correct-horse-bXttery', known, 'a.env');
    expect(k1).not.toEqual(k2);
    expect(k1).toEqual(lineHashesOfText('PASSPHRASE=corr*****************', new SecretMasker()));
  });

  it('reads files with bounded reads (CRLF split across reads), spans, and a bounded cache', async () => {
    const lines = Array.from({ length: 3000 }, (_, i) => `line ${i % 1000};`);
    const p = join(dir, 'big.js');
    await writeFile(p, lines.join('\r\n'));
    const h = new LineHashes(m, { readBytes: 7, maxCacheBytes: 1 });
    const expected = lineHashesOfText(lines.join('\n'), m);
    for (const n of [1, 2, 999, 1001, 2001, 3000]) expect(h.get(p, 'big.js', n)).toBe(expected[n - 1]);
    expect(h.get(p, 'big.js', 3001)).toBeUndefined();
    expect(h.get(p, 'big.js', 0)).toBeUndefined();
    // Spans: the same three lines at 1 and 1001 and 2001 are occurrences 1, 2, 3.
    expect(h.get(p, 'big.js', 1, 3)).toMatch(/x3:1$/);
    expect(h.get(p, 'big.js', 1001, 1003)).toMatch(/x3:2$/);
    expect(h.get(p, 'big.js', 2001, 2003)).toBe(h.get(p, 'big.js', 2001, 2003));
    expect(h.get(p, 'big.js', 2001, 2003)!.replace(/:\d+$/, '')).toBe(
      h.get(p, 'big.js', 1, 3)!.replace(/:\d+$/, ''),
    );
    const other = join(dir, 'other.js');
    await writeFile(other, 'x\n');
    h.get(other, 'other.js', 1);
    expect(h.evictions).toBeGreaterThan(0);
    expect(h.filesHashed).toBeGreaterThan(1);
  });

  it('skips files over the size bound and files that cannot be read', async () => {
    const p = join(dir, 'large.txt');
    await writeFile(p, 'x'.repeat(2048));
    const h = new LineHashes(m, { maxFileBytes: 1024 });
    expect(h.get(p, 'large.txt', 1)).toBeUndefined();
    expect(h.get(join(dir, 'missing.js'), 'missing.js', 1)).toBeUndefined();
    expect(h.get(dir, 'dir', 1)).toBeUndefined();
    expect(h.filesSkipped).toBe(3);
  });

  it('never blocks on a FIFO planted in a scanned repository', () => {
    const fifo = join(dir, 'pipe.js');
    execFileSync('mkfifo', [fifo]);
    const h = new LineHashes(m);
    expect(h.get(fifo, 'pipe.js', 1)).toBeUndefined();
    expect(h.filesSkipped).toBe(1);
  });
});

describe('FingerprintSet', () => {
  it('counts repeats of a fingerprint and grows without losing any', () => {
    const s = new FingerprintSet();
    const fps = Array.from({ length: 5000 }, (_, i) => sha256([i]));
    for (const fp of fps) expect(s.add(fp)).toBe(0);
    expect(s.add(fps[42]!)).toBe(1);
    expect(s.add(fps[42]!)).toBe(2);
    expect(s.add(fps[4999]!)).toBe(1);
    expect(s.bytes).toBeLessThan(5000 * 40);
  });

  it('tells every one of 200k fingerprints apart (shards growing on their own), the all-zero one included', () => {
    const s = new FingerprintSet();
    const zero = '0'.repeat(64);
    const fps = Array.from({ length: 200_000 }, (_, i) => sha256([i]));
    expect(s.add(zero)).toBe(0);
    let firsts = 0;
    for (const fp of fps) if (s.add(fp) === 0) firsts++;
    expect(firsts).toBe(200_000);
    expect(s.add(zero)).toBe(1);
    let repeats = 0;
    for (let i = 0; i < fps.length; i += 997) if (s.add(fps[i]!) === 1) repeats++;
    expect(repeats).toBe(Math.ceil(200_000 / 997));
    // 8 bytes a slot, at most 70% full, each shard at least 35% full once grown: 8-23 bytes per fingerprint.
    expect(s.bytes).toBeLessThan(200_000 * 24);
  });
});
