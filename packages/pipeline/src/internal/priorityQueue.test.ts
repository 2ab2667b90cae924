import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Fifo } from './fifo';
import { PriorityQueue } from './priorityQueue';

describe('Fifo', () => {
  it('keeps order across growth and wrap-around, with unshift at the head', () => {
    const f = new Fifo<number>(2);
    for (let i = 0; i < 5; i++) f.push(i);
    expect(f.shift()).toBe(0);
    expect(f.shift()).toBe(1);
    for (let i = 5; i < 40; i++) f.push(i); // wraps, then grows
    f.unshift(-1);
    const out: number[] = [];
    f.drain(out);
    expect(out).toEqual([-1, ...Array.from({ length: 38 }, (_, i) => i + 2)]);
    expect(f.size).toBe(0);
    expect(f.shift()).toBeUndefined();
  });
});

describe('PriorityQueue', () => {
  it('serves higher priority first and FIFO within a priority', () => {
    const q = new PriorityQueue<string>();
    q.push('low-1', 0);
    q.push('high-1', 10);
    q.push('normal-1', 5);
    q.push('high-2', 10);
    q.push('low-2', 0);
    q.push('neg', -3);
    const out: string[] = [];
    for (let v = q.shift(); v !== undefined; v = q.shift()) out.push(v);
    expect(out).toEqual(['high-1', 'high-2', 'normal-1', 'low-1', 'low-2', 'neg']);
    expect(q.size).toBe(0);
  });

  it('unshift puts an item ahead of its own priority only', () => {
    const q = new PriorityQueue<string>();
    q.push('a', 5);
    q.push('h', 10);
    q.unshift('retry', 5);
    expect(q.drain()).toEqual(['h', 'retry', 'a']);
  });

  it('matches a stable sort by descending priority for any interleaving of push and shift', () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.integer({ min: -3, max: 3 }), fc.constant<'shift'>('shift')), {
          maxLength: 200,
        }),
        (ops) => {
          const q = new PriorityQueue<{ p: number; seq: number }>();
          let model: { p: number; seq: number }[] = [];
          let seq = 0;
          for (const op of ops) {
            if (op === 'shift') {
              const got = q.shift();
              model.sort((a, b) => b.p - a.p || a.seq - b.seq);
              expect(got).toEqual(model.shift());
            } else {
              const v = { p: op, seq: seq++ };
              q.push(v, op);
              model.push(v);
            }
            expect(q.size).toBe(model.length);
          }
          model = model.sort((a, b) => b.p - a.p || a.seq - b.seq);
          expect(q.drain()).toEqual(model);
        },
      ),
      { numRuns: 200 },
    );
  });
});
