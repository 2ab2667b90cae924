// The one test on the real machine: a worker thread burns CPU and the default source must see it.
// Robust on a loaded 2-core CI box: it compares the process's own CPU between an idle and a busy window
// (the worker's time is the process's time, whoever else loads the machine), waits for an amount of
// burnt CPU rather than an amount of wall time, and bounds everything.
import { Worker } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import { SystemMetricsSource } from '../src/index';

const BUSY_WORKER = `
const { workerData } = require('node:worker_threads');
const flag = new Int32Array(workerData.flag);
const deadline = Date.now() + 20000; // never outlive a broken test
let x = 0;
while (Atomics.load(flag, 0) === 0 && Date.now() < deadline) {
  for (let i = 0; i < 100000; i++) x = (x * 31 + i) % 1000003;
}
`;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
let worker: Worker | undefined;
let source: SystemMetricsSource | undefined;

afterEach(async () => {
  void source?.close();
  source = undefined;
  await worker?.terminate();
  worker = undefined;
});

describe('SystemMetricsSource on this machine', () => {
  it('sees the sampled CPU rise while a worker thread does busy work', { timeout: 30_000 }, async () => {
    source = new SystemMetricsSource();
    await sleep(300);
    const idle = source.sample();

    const flag = new SharedArrayBuffer(4);
    const before = process.cpuUsage();
    worker = new Worker(BUSY_WORKER, { eval: true, workerData: { flag } });
    // Until the process has burnt 300 ms of CPU (the worker's included), at most 15 s of wall time.
    const deadline = Date.now() + 15_000;
    for (;;) {
      await sleep(50);
      const used = process.cpuUsage(before);
      if (used.user + used.system >= 300_000 || Date.now() > deadline) break;
    }
    const busy = source.sample();
    Atomics.store(new Int32Array(flag), 0, 1);

    expect(busy.processCpuPercent).toBeGreaterThan(idle.processCpuPercent);
    // The machine cannot have been idle while this process burnt CPU on it.
    expect(busy.cpuOrigin).not.toBe('unavailable');
    expect(busy.cpuPercent).toBeGreaterThan(0);
    expect(busy.cpuPercent).toBeLessThanOrEqual(100);
    expect(busy.effectiveCpus).toBeGreaterThan(0);
    expect(busy.memoryPercent).toBeGreaterThan(0);
    expect(busy.memoryPercent).toBeLessThanOrEqual(100);
  });
});
