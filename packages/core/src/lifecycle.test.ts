import { describe, expect, it } from 'vitest';
import { EventEmitter } from 'node:events';
import { ClosableBase, closeOnce, Component } from './lifecycle';

interface Events {
  'thing:done': (e: { n: number }) => void;
  idle: () => void;
}

class Thing extends Component<Events> {
  closes = 0;
  readonly close = closeOnce(async () => {
    this.closes++;
  });
  constructor() {
    // Any emitter with eventemitter3's listener API works; node's has the same shape for these calls.
    super(new EventEmitter());
  }
  fire(n: number): boolean {
    return this.emit('thing:done', { n });
  }
}

describe('closeOnce', () => {
  it('runs once and returns the same promise on every call', async () => {
    let runs = 0;
    const close = closeOnce(() => {
      runs++;
    });
    expect(close.closed()).toBe(false);
    const a = close();
    const b = close();
    expect(a).toBe(b);
    await a;
    expect(runs).toBe(1);
    expect(close.closed()).toBe(true);
  });

  it('rejects every call with the first failure (never runs again)', async () => {
    let runs = 0;
    const close = closeOnce(async () => {
      runs++;
      throw new Error('disk gone');
    });
    await expect(close()).rejects.toThrow('disk gone');
    await expect(close()).rejects.toThrow('disk gone');
    expect(runs).toBe(1);
  });
});

describe('Component', () => {
  it('delivers single-payload events to typed listeners and unsubscribes', () => {
    const t = new Thing();
    const seen: number[] = [];
    const fn = (e: { n: number }): void => void seen.push(e.n);
    t.on('thing:done', fn);
    t.once('thing:done', (e) => seen.push(e.n * 10));
    expect(t.listenerCount('thing:done')).toBe(2);
    t.fire(1);
    t.fire(2);
    t.off('thing:done', fn);
    t.fire(3);
    expect(seen).toEqual([1, 10, 2]);
    t.on('idle', () => {});
    t.removeAllListeners();
    expect(t.listenerCount('idle')).toBe(0);
  });

  it('keeps emit away from users (type level) and closes through Symbol.asyncDispose', async () => {
    const t = new Thing();
    // @ts-expect-error emit is protected: only the component emits its events.
    t.emit('thing:done', { n: 1 });
    await t[Symbol.asyncDispose]();
    await t.close();
    expect(t.closes).toBe(1);
  });

  it('ClosableBase disposes through close()', async () => {
    let closes = 0;
    class Handle extends ClosableBase {
      close(): Promise<void> {
        closes++;
        return Promise.resolve();
      }
    }
    await new Handle()[Symbol.asyncDispose]();
    expect(closes).toBe(1);
  });
});
