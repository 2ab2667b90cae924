// The streaming conversion's memory does not depend on the SARIF's size: a 300,000-result SARIF (≈ 117 MB, with
// the source files it points at) converts in child processes with about the peak RSS of a 10,000-result one.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { measureInChild, syntheticScan } from '../bench/sarifStream';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sarif-memory-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

it('converts 300k results in the peak RSS of 10k (bounded memory)', async () => {
  const small = await syntheticScan(join(dir, 's'), 10_000);
  const large = await syntheticScan(join(dir, 'l'), 300_000);
  expect(large.mb).toBeGreaterThan(100);
  // A child's peak RSS moves with the timing of its collections (the 10k run's between 100 and 117 MB on a busy
  // 2-core machine): three runs of each, interleaved, and their medians compared.
  const runs = [0, 1, 2].map(() => ({
    s: measureInChild('convert', small.file, small.root),
    l: measureInChild('convert', large.file, large.root),
  }));
  for (const r of runs) {
    expect(r.s.findings).toBe(10_000);
    expect(r.l.findings).toBe(300_000);
  }
  const median = (xs: number[]): number => xs.sort((a, b) => a - b)[1]!;
  // 30× the results, 30× the bytes: the peak stays within a quarter of the small run's.
  expect(median(runs.map((r) => r.l.peakRssMb))).toBeLessThan(median(runs.map((r) => r.s.peakRssMb)) * 1.25);
}, 600_000);
