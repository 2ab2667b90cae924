import { Fifo } from './fifo';

/**
 * Highest priority first, first-in first-out within a priority. One ring buffer per distinct
 * priority plus a sorted list of the priorities in use: O(1) per operation for the usual handful of
 * priorities (O(distinct priorities) only when a priority appears or empties). A binary heap would
 * be O(log n) per item and needs a sequence number to stay FIFO.
 */
export class PriorityQueue<T> {
  private readonly buckets = new Map<number, Fifo<T>>();
  /** Priorities with a non-empty bucket, highest first. */
  private readonly order: number[] = [];
  /** Bucket of `order[0]`, cached for the hot path. */
  private top: Fifo<T> | undefined;
  /** Items held. */
  size = 0;

  /** Adds behind every item of the same priority. */
  push(value: T, priority: number): void {
    this.bucket(priority).push(value);
    this.size++;
  }

  /** Adds ahead of every item of the same priority (a retry keeps its place). */
  unshift(value: T, priority: number): void {
    this.bucket(priority).unshift(value);
    this.size++;
  }

  /** Removes and returns the next item, or `undefined` when empty. */
  shift(): T | undefined {
    const top = this.top;
    if (top === undefined) return undefined;
    const value = top.shift();
    this.size--;
    if (top.size === 0) {
      this.buckets.delete(this.order.shift() as number);
      const next = this.order[0];
      this.top = next === undefined ? undefined : this.buckets.get(next);
    }
    return value;
  }

  /** Removes every item, returning them in serving order. */
  drain(): T[] {
    const out: T[] = [];
    for (const p of this.order) this.buckets.get(p)?.drain(out);
    this.buckets.clear();
    this.order.length = 0;
    this.top = undefined;
    this.size = 0;
    return out;
  }

  private bucket(priority: number): Fifo<T> {
    const top = this.top;
    if (top !== undefined && this.order[0] === priority) return top;
    let b = this.buckets.get(priority);
    if (b === undefined) {
      b = new Fifo<T>();
      this.buckets.set(priority, b);
      // Binary search for the first priority lower than this one (order is descending).
      let lo = 0;
      let hi = this.order.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if ((this.order[mid] as number) > priority) lo = mid + 1;
        else hi = mid;
      }
      this.order.splice(lo, 0, priority);
      if (lo === 0) this.top = b;
    }
    return b;
  }
}
