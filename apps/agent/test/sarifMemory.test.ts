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
  const s = measureInChild('convert', small.file, small.root);
  const l = measureInChild('convert', large.file, large.root);
  expect(s.findings).toBe(10_000);
  expect(l.findings).toBe(300_000);
  // 30× the results, 30× the bytes: the peak stays within a quarter of the small run's.
  expect(l.peakRssMb).toBeLessThan(s.peakRssMb * 1.25);
}, 600_000);
