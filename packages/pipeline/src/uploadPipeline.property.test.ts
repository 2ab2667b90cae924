import { isRediverError, RediverError } from '@rediver/core';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { makeReport } from '@rediver/testkit';
import { FakeUploader, tick } from '../test/fakeUploader';
import { UploadPipeline } from './uploadPipeline';

type Op =
  | { t: 'submit'; priority: number }
  | { t: 'ok'; index: number }
  | { t: 'fail'; index: number; retryable: boolean }
  | { t: 'advance'; ms: number }
  | { t: 'flush' }
  | { t: 'stop'; drain: boolean };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({ t: fc.constant('submit' as const), priority: fc.integer({ min: 0, max: 3 }) }),
  },
  { weight: 3, arbitrary: fc.record({ t: fc.constant('ok' as const), index: fc.nat(10) }) },
  {
    weight: 3,
    arbitrary: fc.record({ t: fc.constant('fail' as const), index: fc.nat(10), retryable: fc.boolean() }),
  },
  {
    weight: 3,
    arbitrary: fc.record({ t: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 25_000 }) }),
  },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('flush' as const) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('stop' as const), drain: fc.boolean() }) },
);

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
});
afterEach(() => {
  vi.useRealTimers();
});

describe('UploadPipeline (property)', { timeout: 60_000 }, () => {
  it('keeps the stats invariant and ends every id exactly once, whatever happens', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(opArb, { maxLength: 60 }),
        fc.boolean(),
        fc.integer({ min: 1, max: 3 }),
        async (ops, honourAbort, workers) => {
          vi.clearAllTimers();
          const uploader = new FakeUploader();
          uploader.honourAbort = honourAbort;
          const pipeline = new UploadPipeline(uploader, {
            workers,
            queueSize: 5,
            retryAttempts: 2,
            retryDelayMs: 1000,
            maxRetryDelayMs: 8000,
            uploadTimeoutMs: 10_000,
            random: () => 0.5,
          });
          const ends = new Map<string, string[]>();
          const end = (id: string, how: string): void => {
            ends.set(id, [...(ends.get(id) ?? []), how]);
          };
          pipeline.on('completed', (item) => end(item.id, 'completed'));
          pipeline.on('failed', (item) => end(item.id, 'failed'));
          pipeline.on('returned', (items) => items.forEach((item) => end(item.id, 'returned')));
          const ids: string[] = [];
          const flushes: { done: boolean; idleWhenDone: boolean }[] = [];
          let stopped = false;

          const check = (): void => {
            const s = pipeline.getStats();
            expect(s.submitted).toBe(s.completed + s.failed + s.returned + s.inProgress + s.queueLength);
            expect(s.submitted).toBe(ids.length);
            expect(uploader.active).toBeLessThanOrEqual(honourAbort ? workers : Number.POSITIVE_INFINITY);
            for (const hows of ends.values()) expect(hows).toHaveLength(1);
          };

          for (const op of ops) {
            switch (op.t) {
              case 'submit': {
                const before = pipeline.getStats().submitted;
                try {
                  ids.push(pipeline.submit(makeReport(`r${ids.length}`), { priority: op.priority }));
                } catch (err) {
                  expect(isRediverError(err, 'QUEUE_FULL', 'CLOSED')).toBe(true);
                  expect(isRediverError(err, 'CLOSED')).toBe(stopped);
                  expect(pipeline.getStats().submitted).toBe(before);
                }
                break;
              }
              case 'ok':
              case 'fail': {
                const open = uploader.open();
                const call = open[op.index % Math.max(1, open.length)];
                if (call === undefined) break;
                if (op.t === 'ok') call.resolve();
                else
                  call.reject(
                    new RediverError(op.retryable ? 'SERVER_ERROR' : 'REQUEST_REJECTED', 'scripted'),
                  );
                break;
              }
              case 'advance':
                vi.advanceTimersByTime(op.ms);
                break;
              case 'flush': {
                const f = { done: false, idleWhenDone: false };
                flushes.push(f);
                void pipeline.flush().then(() => {
                  const s = pipeline.getStats();
                  f.done = true;
                  f.idleWhenDone = s.inProgress === 0 && s.queueLength === 0;
                });
                break;
              }
              case 'stop':
                stopped = true;
                void pipeline.stop({ drain: op.drain });
                break;
            }
            await tick();
            check();
          }

          const handedBack = await pipeline.stop({ drain: false });
          await tick();
          check();
          const s = pipeline.getStats();
          expect(s.inProgress + s.queueLength).toBe(0);
          for (const id of ids) expect(ends.get(id)).toHaveLength(1);
          const count = (how: string): number => [...ends.values()].filter((h) => h[0] === how).length;
          expect(s.completed).toBe(count('completed'));
          expect(s.failed).toBe(count('failed'));
          expect(s.returned).toBe(count('returned'));
          for (const item of handedBack) expect(ends.get(item.id)).toEqual(['returned']);
          for (const f of flushes) expect(f).toEqual({ done: true, idleWhenDone: true });
          expect(vi.getTimerCount()).toBe(0);
          // late outcomes of aborted or handed-back calls change nothing
          for (const call of uploader.calls) call.resolve();
          await tick();
          expect(pipeline.getStats()).toEqual(s);
        },
      ),
      { numRuns: 150 },
    );
  });
});
