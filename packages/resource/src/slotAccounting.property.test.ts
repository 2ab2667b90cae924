// Model check of slot accounting: random interleavings of acquires, waits, releases (double ones
// included), aborts, resizes and throttle changes must keep the counts exact, serve waiters FIFO and
// never leave a waiter queued while a slot it could take is free (no lost wake-up).
import type { SystemMetrics } from '@rediver/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { MetricsSource } from './metricsSource';
import { ResourceController } from './resourceController';
import type { SlotHandle } from './slotHandle';

type Op =
  | { kind: 'acquire' }
  | { kind: 'wait' }
  | { kind: 'release'; pick: number }
  | { kind: 'abort'; pick: number }
  | { kind: 'resize'; max: number }
  | { kind: 'throttle' }
  | { kind: 'clear' };

const op: fc.Arbitrary<Op> = fc.oneof(
  { arbitrary: fc.constant<Op>({ kind: 'acquire' }), weight: 2 },
  { arbitrary: fc.constant<Op>({ kind: 'wait' }), weight: 3 },
  { arbitrary: fc.nat(50).map<Op>((pick) => ({ kind: 'release', pick })), weight: 4 },
  { arbitrary: fc.nat(50).map<Op>((pick) => ({ kind: 'abort', pick })), weight: 1 },
  { arbitrary: fc.integer({ min: 2, max: 5 }).map<Op>((max) => ({ kind: 'resize', max })), weight: 2 },
  { arbitrary: fc.constant<Op>({ kind: 'throttle' }), weight: 1 },
  { arbitrary: fc.constant<Op>({ kind: 'clear' }), weight: 1 },
);

const flush = async (): Promise<void> => {
  for (let i = 0; i < 5; i++) await Promise.resolve();
};

describe('slot accounting', () => {
  it('stays exact, FIFO and wake-up complete under any interleaving', { timeout: 60_000 }, async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 20, maxLength: 60 }), async (ops) => {
        let cpuPercent = 10;
        const source: MetricsSource = {
          sample: (): SystemMetrics => ({
            timestamp: 0,
            cpuPercent,
            cpuOrigin: 'host',
            processCpuPercent: 0,
            effectiveCpus: 2,
            memoryPercent: 10,
            memoryOrigin: 'host',
            memoryUsedBytes: 1,
            memoryLimitBytes: 10,
            processRssBytes: 1,
            processHeapUsedBytes: 1,
            eventLoopDelayP99Ms: 0,
            eventLoopUtilization: 0,
          }),
        };
        const min = 2;
        let max = 3;
        const c = new ResourceController({
          metricsSource: source,
          maxConcurrentJobs: max,
          minConcurrentJobs: min,
          cooldownMs: 0,
          sampleIntervalMs: 2_147_483_647,
        });
        const handles: SlotHandle[] = [];
        const waiters: { id: number; abort: AbortController; state: 'pending' | 'granted' | 'aborted' }[] =
          [];
        const grantOrder: number[] = [];
        let doubleReleases = 0;

        for (const o of ops) {
          switch (o.kind) {
            case 'acquire': {
              const h = c.acquireSlot();
              if (h !== null) handles.push(h);
              break;
            }
            case 'wait': {
              const w = { id: waiters.length, abort: new AbortController(), state: 'pending' as const };
              const entry: (typeof waiters)[number] = w;
              waiters.push(entry);
              c.acquireSlotBlocking({ signal: w.abort.signal }).then(
                (h) => {
                  entry.state = 'granted';
                  grantOrder.push(entry.id);
                  handles.push(h);
                },
                () => {
                  entry.state = 'aborted';
                },
              );
              break;
            }
            case 'release': {
              const h = handles[o.pick % Math.max(1, handles.length)];
              if (h !== undefined) {
                if (h.released) doubleReleases++;
                h.release();
              }
              break;
            }
            case 'abort': {
              const pending = waiters.filter((w) => w.state === 'pending');
              pending[o.pick % Math.max(1, pending.length)]?.abort.abort();
              break;
            }
            case 'resize':
              max = o.max;
              c.setMaxConcurrentJobs(max);
              break;
            case 'throttle':
              cpuPercent = 99;
              c.sample();
              break;
            case 'clear':
              cpuPercent = 10;
              c.sample();
              break;
          }
          await flush();

          // Plain checks (not expect) keep each of the thousands of steps cheap.
          const status = c.getStatus();
          const active = handles.filter((h) => !h.released).length;
          const pending = waiters.filter((w) => w.state === 'pending').length;
          const limit = status.throttled ? Math.min(min, max) : max;
          const fifo = grantOrder.every((id, i) => i === 0 || grantOrder[i - 1]! < id);
          const ok =
            status.activeJobs === active &&
            status.pendingJobs === pending &&
            status.doubleReleases === doubleReleases &&
            (pending === 0 || active >= limit) &&
            fifo;
          if (!ok) {
            const { metrics: _metrics, ...counts } = status;
            throw new Error(
              `invariant broken after ${o.kind}: ${JSON.stringify({ active, pending, limit, fifo, counts })}`,
            );
          }
        }
        await c.close();
        await flush();
        expect(waiters.filter((w) => w.state === 'pending')).toEqual([]);
      }),
      { numRuns: 150 },
    );
  });
});
