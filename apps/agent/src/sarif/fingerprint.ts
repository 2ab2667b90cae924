import { createHash } from 'node:crypto';

/** SHA-256 (hex) of the parts, each followed by a NUL. */
export function sha256(parts: readonly (string | number | undefined)[]): string {
  let text = '';
  for (const p of parts) text += `${p ?? ''}\u0000`;
  return createHash('sha256').update(text).digest('hex');
}

/**
 * Which fingerprints a report already holds, in 8 bytes per fingerprint (an open-addressing table of their first
 * 64 bits), so that two results with the same identity become two findings without keeping every fingerprint
 * string in memory. A 64-bit prefix collision between different fingerprints (about 1 in 3·10^7 at a million
 * findings) would only add a suffix to the second one.
 */
export class FingerprintSet {
  #hi = new Uint32Array(1024);
  #lo = new Uint32Array(1024);
  #used = new Uint8Array(1024);
  #size = 0;
  /** Occurrences beyond the first, for the rare fingerprints seen more than once. */
  readonly #repeats = new Map<string, number>();

  /** Bytes held. */
  get bytes(): number {
    return this.#hi.length * 9;
  }

  /**
   * Records `fp` (64 hex characters) and returns how many times it was recorded before (0 the first time).
   */
  add(fp: string): number {
    const hi = Number.parseInt(fp.slice(0, 8), 16) >>> 0;
    const lo = Number.parseInt(fp.slice(8, 16), 16) >>> 0;
    if ((this.#size + 1) * 2 > this.#hi.length) this.#grow();
    if (this.#insert(hi, lo)) return 0;
    const key = fp.slice(0, 16);
    const n = (this.#repeats.get(key) ?? 0) + 1;
    this.#repeats.set(key, n);
    return n;
  }

  /** Inserts; false when already present. */
  #insert(hi: number, lo: number): boolean {
    const mask = this.#hi.length - 1;
    let i = (lo ^ Math.imul(hi, 0x9e3779b1)) & mask;
    for (;;) {
      if (this.#used[i] === 0) {
        this.#used[i] = 1;
        this.#hi[i] = hi;
        this.#lo[i] = lo;
        this.#size++;
        return true;
      }
      if (this.#hi[i] === hi && this.#lo[i] === lo) return false;
      i = (i + 1) & mask;
    }
  }

  #grow(): void {
    const { length } = this.#hi;
    const [hi, lo, used] = [this.#hi, this.#lo, this.#used];
    this.#hi = new Uint32Array(length * 2);
    this.#lo = new Uint32Array(length * 2);
    this.#used = new Uint8Array(length * 2);
    this.#size = 0;
    for (let i = 0; i < length; i++) if (used[i] === 1) this.#insert(hi[i]!, lo[i]!);
  }
}
