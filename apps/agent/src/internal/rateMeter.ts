/** Chunk acknowledgements per second over a sliding window of one-second buckets. */
export class RateMeter {
  readonly #buckets = new Float64Array(10);
  #second = 0;
  tick(now: number): void {
    this.#roll(now);
    this.#buckets[this.#second % this.#buckets.length]! += 1;
  }
  perSecond(now: number): number {
    this.#roll(now);
    const current = this.#second % this.#buckets.length;
    let sum = 0;
    for (let i = 0; i < this.#buckets.length; i++) if (i !== current) sum += this.#buckets[i]!;
    // The current second is partial: the full ones give the rate.
    return sum / (this.#buckets.length - 1);
  }
  #roll(now: number): void {
    const second = Math.floor(now / 1000);
    if (this.#second === 0) this.#second = second;
    for (let s = this.#second + 1; s <= Math.min(second, this.#second + this.#buckets.length); s++)
      this.#buckets[s % this.#buckets.length] = 0;
    if (second > this.#second) this.#second = second;
  }
}
