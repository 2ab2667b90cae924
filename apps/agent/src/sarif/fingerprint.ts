import { createHash } from 'node:crypto';

/** SHA-256 (hex) of the parts, each followed by a NUL. */
export function sha256(parts: readonly (string | number | undefined)[]): string {
  let text = '';
  for (const p of parts) text += `${p ?? ''}\u0000`;
  return createHash('sha256').update(text).digest('hex');
}

/** Shards of a `FingerprintSet` (by the top bits of a fingerprint): a shard grows alone. */
const SHARD_BITS = 6;
/** A shard grows (doubles) past this load. */
const MAX_LOAD = 0.7;

/**
 * Which fingerprints a report already holds, in 8 bytes per slot (open-addressing tables of their first 64 bits,
 * at most 70% full), so that two results with the same identity become two findings without keeping every
 * fingerprint string in memory. A 64-bit prefix collision between different fingerprints (about 1 in 3·10^7 at a
 * million findings) would only add a suffix to the second one. The table is split into 64 shards by the
 * fingerprint's top bits, each growing on its own: one table doubling at half a million findings held the old and
 * the new arrays at once (~28 MB at a million findings, the agent's peak RSS in bench/e2e.ts); a shard's copy
 * is 1/64 of that. The set still grows with the report (~8-16 bytes per finding): exact duplicate detection needs
 * every fingerprint; a set on disk was measured far too slow (1M random keys into a temporary SQLite table with a
 * 2 MB cache: 11 CPU-s, 58 s wall).
 */
export class FingerprintSet {
  /** Per shard: `[hi, lo]` pairs; (0, 0) marks a free slot (the fingerprint (0, 0) is `#zero`). */
  readonly #tables: Uint32Array[] = [];
  readonly #sizes: number[] = [];
  #zero = false;
  /** Occurrences beyond the first, for the rare fingerprints seen more than once. */
  readonly #repeats = new Map<string, number>();

  constructor() {
    for (let i = 0; i < 1 << SHARD_BITS; i++) {
      this.#tables.push(new Uint32Array(2 * 64));
      this.#sizes.push(0);
    }
  }

  /** Bytes held. */
  get bytes(): number {
    let n = 0;
    for (const t of this.#tables) n += t.byteLength;
    return n;
  }

  /**
   * Records `fp` (64 hex characters) and returns how many times it was recorded before (0 the first time).
   */
  add(fp: string): number {
    const hi = Number.parseInt(fp.slice(0, 8), 16) >>> 0;
    const lo = Number.parseInt(fp.slice(8, 16), 16) >>> 0;
    if (this.#insert(hi, lo)) return 0;
    const key = fp.slice(0, 16);
    const n = (this.#repeats.get(key) ?? 0) + 1;
    this.#repeats.set(key, n);
    return n;
  }

  /** Inserts; false when already present. */
  #insert(hi: number, lo: number): boolean {
    if (hi === 0 && lo === 0) {
      if (this.#zero) return false;
      this.#zero = true;
      return true;
    }
    const shard = hi >>> (32 - SHARD_BITS);
    let table = this.#tables[shard]!;
    if ((this.#sizes[shard]! + 1) / (table.length / 2) > MAX_LOAD) table = this.#grow(shard);
    if (!place(table, hi, lo)) return false;
    this.#sizes[shard]! += 1;
    return true;
  }

  #grow(shard: number): Uint32Array {
    const old = this.#tables[shard]!;
    const table = new Uint32Array(old.length * 2);
    for (let i = 0; i < old.length; i += 2) {
      if (old[i] !== 0 || old[i + 1] !== 0) place(table, old[i]!, old[i + 1]!);
    }
    this.#tables[shard] = table;
    return table;
  }
}

/** Puts (hi, lo) into an open-addressing table of pairs; false when it is there already. */
function place(table: Uint32Array, hi: number, lo: number): boolean {
  const mask = table.length / 2 - 1;
  let i = (lo ^ Math.imul(hi, 0x9e3779b1)) & mask;
  for (;;) {
    const h = table[2 * i]!;
    const l = table[2 * i + 1]!;
    if (h === 0 && l === 0) {
      table[2 * i] = hi;
      table[2 * i + 1] = lo;
      return true;
    }
    if (h === hi && l === lo) return false;
    i = (i + 1) & mask;
  }
}
