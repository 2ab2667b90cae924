import { createHmac, hash as oneShotHash, randomBytes } from 'node:crypto';
import { closeSync, fchmodSync, fdatasyncSync, fstatSync, openSync, readSync, writeSync } from 'node:fs';

/**
 * The forward-secure sealing key (after journald's Forward Secure Sealing): `K₀` is random (or derived from an
 * operator secret), `K₍ₑ₊₁₎ = HMAC(Kₑ, "rediver-audit evolve")`. Only the current epoch's key is ever on disk: the
 * key file has two fixed 512-byte slots; an evolution writes the new key into the other slot, syncs, then
 * overwrites the old slot with zeros and syncs again. Whoever takes the host today holds `Kₑ` and cannot compute
 * any earlier `Kᵢ`, so cannot re-seal earlier lines. The verifier derives every `Kₑ` from `K₀`.
 */

/** Size of one slot of the key file (one sector: written in place, never torn on real disks). */
const SLOT_BYTES = 512;
const EVOLVE_LABEL = 'rediver-audit evolve';
const SECRET_LABEL = 'rediver-audit k0 ';
/** Prefix of a verification key: `audit-key-v1:<key id>:<K₀ hex>`. */
export const VERIFICATION_KEY_PREFIX = 'audit-key-v1';

/** The key's state as stored (one slot). */
export interface SealState {
  /** Random 16-hex id of this key (the salt of a secret-derived key); every seal names it. */
  keyId: string;
  epoch: number;
  /** The current epoch's key. */
  key: Buffer;
  /** The last checkpoint (the sealed line that ended the previous epoch), if any. */
  checkpoint?: { seq: number; hash: string; epoch: number };
}

/** The next epoch's key; the old one cannot be recomputed from it. */
export function evolveKey(key: Buffer): Buffer {
  return createHmac('sha256', key).update(EVOLVE_LABEL).digest();
}

/** `K₀` derived from an operator secret and the key id (so one secret gives each log its own keys). */
export function keyFromSecret(secret: string, keyId: string): Buffer {
  return createHmac('sha256', secret)
    .update(SECRET_LABEL + keyId)
    .digest();
}

/** The seal of a chained line's hash: HMAC-SHA256 with the epoch's key, hex. */
export function sealMac(key: Buffer, hash: string): string {
  return createHmac('sha256', key).update(hash).digest('hex');
}

/** `audit-key-v1:<key id>:<K₀ hex>`: what the operator keeps off the host. */
export function formatVerificationKey(keyId: string, k0: Buffer): string {
  return `${VERIFICATION_KEY_PREFIX}:${keyId}:${k0.toString('hex')}`;
}

/** Parses a verification key; `undefined` when malformed. */
export function parseVerificationKey(text: string): { keyId: string; k0: Buffer } | undefined {
  const m = /^audit-key-v1:([0-9a-f]{16}):([0-9a-f]{64})$/.exec(text.trim());
  return m ? { keyId: m[1]!, k0: Buffer.from(m[2]!, 'hex') } : undefined;
}

/** Derives `Kₑ` from `K₀` (the verifier's side), reusing the last derivation when epochs only grow. */
export class KeySchedule {
  private epoch = 0;
  private key: Buffer;
  constructor(private readonly k0: Buffer) {
    this.key = k0;
  }
  /** The key of `epoch`. */
  at(epoch: number): Buffer {
    if (epoch < this.epoch) {
      this.epoch = 0;
      this.key = this.k0;
    }
    while (this.epoch < epoch) {
      this.key = evolveKey(this.key);
      this.epoch++;
    }
    return this.key;
  }
}

function checksum(body: string): string {
  return oneShotHash('sha256', body, 'hex').slice(0, 16);
}

function encodeSlot(state: SealState): Buffer {
  const body = JSON.stringify({
    v: 1,
    id: state.keyId,
    epoch: state.epoch,
    key: state.key.toString('hex'),
    ...(state.checkpoint ? { cp: state.checkpoint } : {}),
  });
  const text = `${body}\t${checksum(body)}\n`;
  const slot = Buffer.alloc(SLOT_BYTES);
  slot.write(text, 0, 'utf8');
  return slot;
}

function decodeSlot(slot: Buffer): SealState | undefined {
  const end = slot.indexOf(10);
  if (end <= 0) return undefined;
  const text = slot.subarray(0, end).toString('utf8');
  const tab = text.lastIndexOf('\t');
  if (tab < 0 || checksum(text.slice(0, tab)) !== text.slice(tab + 1)) return undefined;
  try {
    const o = JSON.parse(text.slice(0, tab)) as {
      v?: unknown;
      id?: unknown;
      epoch?: unknown;
      key?: unknown;
      cp?: { seq?: unknown; hash?: unknown; epoch?: unknown };
    };
    if (o.v !== 1 || typeof o.id !== 'string' || !/^[0-9a-f]{16}$/.test(o.id)) return undefined;
    if (typeof o.epoch !== 'number' || !Number.isSafeInteger(o.epoch) || o.epoch < 0) return undefined;
    if (typeof o.key !== 'string' || !/^[0-9a-f]{64}$/.test(o.key)) return undefined;
    const state: SealState = { keyId: o.id, epoch: o.epoch, key: Buffer.from(o.key, 'hex') };
    const cp = o.cp;
    if (cp && typeof cp.seq === 'number' && typeof cp.hash === 'string' && typeof cp.epoch === 'number') {
      state.checkpoint = { seq: cp.seq, hash: cp.hash, epoch: cp.epoch };
    }
    return state;
  } catch {
    return undefined;
  }
}

/** The key file of one log, open for the logger's lifetime. */
export class SealKeyFile {
  private slot: 0 | 1 = 0;
  private constructor(
    private fd: number,
    /** The state in force. */
    public state: SealState,
  ) {}

  /**
   * Opens `path` (0600). Returns the stored state, or creates a new key (`created`: random `K₀`, or derived from
   * `secret`) when the file is missing or holds no valid slot (`replaced` then says a file existed).
   */
  static open(
    path: string,
    secret: string | undefined,
  ): { file: SealKeyFile; created: boolean; replaced: boolean; k0?: Buffer } {
    const fd = openSync(path, 'a+', 0o600);
    try {
      fchmodSync(fd, 0o600);
      const size = fstatSync(fd).size;
      const buf = Buffer.alloc(2 * SLOT_BYTES);
      if (size > 0) readSync(fd, buf, 0, Math.min(size, buf.length), 0);
      const a = decodeSlot(buf.subarray(0, SLOT_BYTES));
      const b = decodeSlot(buf.subarray(SLOT_BYTES));
      closeSync(fd);
      const rw = openSync(path, 'r+');
      if (a || b) {
        const useB = b !== undefined && (a === undefined || b.epoch > a.epoch);
        const file = new SealKeyFile(rw, (useB ? b : a)!);
        file.slot = useB ? 1 : 0;
        // A crash between writing the new slot and erasing the old one leaves both: erase the older now.
        if (a && b) file.erase(useB ? 0 : 1);
        return { file, created: false, replaced: false };
      }
      const keyId = randomBytes(8).toString('hex');
      const k0 = secret === undefined ? randomBytes(32) : keyFromSecret(secret, keyId);
      const file = new SealKeyFile(rw, { keyId, epoch: 0, key: k0 });
      file.writeSlot(0, file.state);
      file.erase(1);
      return { file, created: true, replaced: size > 0, k0 };
    } catch (err) {
      try {
        closeSync(fd);
      } catch {
        // already closed
      }
      throw err;
    }
  }

  private writeSlot(slot: 0 | 1, state: SealState): void {
    writeSync(this.fd, encodeSlot(state), 0, SLOT_BYTES, slot * SLOT_BYTES);
    fdatasyncSync(this.fd);
  }

  private erase(slot: 0 | 1): void {
    writeSync(this.fd, Buffer.alloc(SLOT_BYTES), 0, SLOT_BYTES, slot * SLOT_BYTES);
    fdatasyncSync(this.fd);
  }

  /** Moves to the next epoch, recording `checkpoint`; the old key is overwritten on disk before this returns. */
  evolve(checkpoint: { seq: number; hash: string; epoch: number }): void {
    const next: SealState = {
      keyId: this.state.keyId,
      epoch: this.state.epoch + 1,
      key: evolveKey(this.state.key),
      checkpoint,
    };
    const other: 0 | 1 = this.slot === 0 ? 1 : 0;
    this.writeSlot(other, next);
    this.erase(this.slot);
    this.state.key.fill(0);
    this.state = next;
    this.slot = other;
  }

  /** Closes the file. */
  close(): void {
    if (this.fd < 0) return;
    const fd = this.fd;
    this.fd = -1;
    this.state.key.fill(0);
    closeSync(fd);
  }
}
