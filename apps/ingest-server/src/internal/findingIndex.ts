/**
 * Where each stored finding is, by tenant and fingerprint, kept in memory. Fingerprints are random (SHA-256 hex),
 * so a unique SQLite index on them takes every insert to a random leaf of a B-tree that outgrows the cache: at a
 * million findings that index was most of the server's CPU per chunk. Here a new finding costs one append to the
 * table and one `Map` entry; a known one one read of its row by rowid.
 *
 * The map is keyed by a 53-bit hash of (tenant, fingerprint) → rowid. A hash shared by two findings (about one in
 * 18,000 at a million findings; or crafted on purpose) only sends the second to an exact `Map` of full keys: the row
 * behind a hash is always checked before it is trusted. The index is rebuilt from the table when a store opens, so
 * only this process may write findings to its database (the CLI's `stats` and `enqueue` do not).
 */
export class FindingIndex {
  readonly #byHash = new Map<number, number>();
  readonly #exact = new Map<string, number>();

  /** Findings indexed. */
  get size(): number {
    return this.#byHash.size + this.#exact.size;
  }

  /**
   * The rowid stored for (tenant, fingerprint), or undefined. `rowAt(rowid)` reads the tenant and fingerprint of
   * a row, to check what the hash points at.
   */
  find(
    tenant: string,
    fingerprint: string,
    rowAt: (rowid: number) => { tenant_id: string; fingerprint: string } | undefined,
  ): number | undefined {
    const rowid = this.#byHash.get(hashKey(tenant, fingerprint));
    if (rowid === undefined) return undefined;
    const row = rowAt(rowid);
    if (row !== undefined && row.tenant_id === tenant && row.fingerprint === fingerprint) return rowid;
    return this.#exact.get(exactKey(tenant, fingerprint));
  }

  /** Records a new finding's rowid. */
  add(tenant: string, fingerprint: string, rowid: number): void {
    const hash = hashKey(tenant, fingerprint);
    if (this.#byHash.has(hash)) this.#exact.set(exactKey(tenant, fingerprint), rowid);
    else this.#byHash.set(hash, rowid);
  }

  /** Forgets a finding added by a transaction that was rolled back. */
  remove(tenant: string, fingerprint: string, rowid: number): void {
    const key = exactKey(tenant, fingerprint);
    if (this.#exact.get(key) === rowid) this.#exact.delete(key);
    else if (this.#byHash.get(hashKey(tenant, fingerprint)) === rowid)
      this.#byHash.delete(hashKey(tenant, fingerprint));
  }
}

function exactKey(tenant: string, fingerprint: string): string {
  return `${tenant}\u0000${fingerprint}`;
}

/** cyrb53 (public domain, bryc) over `tenant`, a NUL, then `fingerprint`, without building the joined string. */
export function hashKey(tenant: string, fingerprint: string): number {
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (let i = 0; i <= tenant.length + fingerprint.length; i++) {
    // The tenant's characters, a NUL, then the fingerprint's.
    const ch =
      i < tenant.length
        ? tenant.charCodeAt(i)
        : i === tenant.length
          ? 0
          : fingerprint.charCodeAt(i - tenant.length - 1);
    h1 = Math.imul(h1 ^ ch, 2654435761);
    h2 = Math.imul(h2 ^ ch, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507);
  h1 ^= Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507);
  h2 ^= Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return 4294967296 * (2097151 & h2) + (h1 >>> 0);
}
