import { hash as oneShotHash } from 'node:crypto';

/** The hash the first line of a chain links to. */
export const GENESIS_HASH = '0'.repeat(64);

/** Length of the trailing `,"hash":"<64 hex>"}` member of a chained line. */
const HASH_SUFFIX_LENGTH = 9 + 64 + 2;
/** The trailing seal member of a sealed line: `,"seal":"<key id>.<epoch>.<mac>"}`. */
const SEAL_PATTERN = /,"seal":"([0-9a-f]{16})\.(\d{1,15})\.([0-9a-f]{64})"\}$/;

/** Position of a chain: the last written line's `seq` and `hash`. */
export interface ChainState {
  seq: number;
  hash: string;
}

/** SHA-256 (hex) over the previous hash and the line's canonical content. */
export function chainHash(prevHash: string, canonical: string): string {
  return oneShotHash('sha256', prevHash + canonical, 'hex');
}

/**
 * Appends `seq` and `hash` to a serialised line (`{...}\n`). The canonical content is the line's exact
 * text up to and including the `seq` member, so any edit of any byte, the order or the number breaks it.
 */
export function chainLine(line: string, state: ChainState): string {
  const seq = state.seq + 1;
  const end = line.charCodeAt(line.length - 1) === 10 ? line.length - 2 : line.length - 1;
  const canonical = line.slice(0, end) + ',"seq":' + seq;
  const hash = chainHash(state.hash, canonical);
  state.seq = seq;
  state.hash = hash;
  return canonical + ',"hash":"' + hash + '"}\n';
}

/** The seal member's value: which key, which epoch, and the HMAC of the line's hash. */
export interface SealParts {
  keyId: string;
  epoch: number;
  mac: string;
}

/** The text that turns a chained line's closing `}\n` into a sealed one's. */
export function sealSuffix(seal: SealParts): string {
  return ',"seal":"' + seal.keyId + '.' + seal.epoch + '.' + seal.mac + '"}\n';
}

/** The parts of a chained line (without its newline), or `undefined` when it carries no chain members. */
export interface ChainedLineParts {
  canonical: string;
  seq: number;
  hash: string;
  /** Present on a sealed line. */
  seal?: SealParts;
}

/** Splits a chained (optionally sealed) line into canonical content, seq, hash and seal. */
export function parseChainedLine(line: string): ChainedLineParts | undefined {
  let body = line;
  let seal: SealParts | undefined;
  const tailStart = Math.max(0, line.length - 120);
  const m = line.endsWith('"}') ? SEAL_PATTERN.exec(line.slice(tailStart)) : null;
  if (m) {
    seal = { keyId: m[1]!, epoch: Number(m[2]), mac: m[3]! };
    body = line.slice(0, tailStart + m.index) + '}';
  }
  if (body.length <= HASH_SUFFIX_LENGTH || !body.endsWith('"}')) return undefined;
  const suffix = body.slice(-HASH_SUFFIX_LENGTH);
  if (!suffix.startsWith(',"hash":"')) return undefined;
  const hash = suffix.slice(9, 9 + 64);
  if (!/^[0-9a-f]{64}$/.test(hash)) return undefined;
  const canonical = body.slice(0, -HASH_SUFFIX_LENGTH);
  const s = /,"seq":(\d{1,15})$/.exec(canonical);
  if (!s) return undefined;
  const seq = Number(s[1]);
  return seal ? { canonical, seq, hash, seal } : { canonical, seq, hash };
}
