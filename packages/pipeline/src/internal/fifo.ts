/**
 * A growable ring buffer: O(1) push, unshift and shift with no per-item allocation
 * (an array's `shift()` is O(n) once V8 leaves its fast path).
 */
export class Fifo<T> {
  private buf: (T | undefined)[];
  private head = 0;
  private mask: number;
  /** Items held. */
  size = 0;

  constructor(initialCapacity = 16) {
    let cap = 1;
    while (cap < initialCapacity) cap <<= 1;
    this.buf = new Array<T | undefined>(cap);
    this.mask = cap - 1;
  }

  /** Appends at the tail. */
  push(value: T): void {
    if (this.size > this.mask) this.grow();
    this.buf[(this.head + this.size) & this.mask] = value;
    this.size++;
  }

  /** Inserts at the head (served next). */
  unshift(value: T): void {
    if (this.size > this.mask) this.grow();
    this.head = (this.head - 1) & this.mask;
    this.buf[this.head] = value;
    this.size++;
  }

  /** Removes and returns the head, or `undefined` when empty. */
  shift(): T | undefined {
    if (this.size === 0) return undefined;
    const value = this.buf[this.head];
    this.buf[this.head] = undefined; // release the reference
    this.head = (this.head + 1) & this.mask;
    this.size--;
    return value;
  }

  /** Removes every item, returning them head first. */
  drain(into: T[]): void {
    while (this.size > 0) into.push(this.shift() as T);
  }

  private grow(): void {
    const old = this.buf;
    const oldCap = this.mask + 1;
    const next = new Array<T | undefined>(oldCap * 2);
    for (let i = 0; i < this.size; i++) next[i] = old[(this.head + i) & this.mask];
    this.buf = next;
    this.head = 0;
    this.mask = oldCap * 2 - 1;
  }
}
