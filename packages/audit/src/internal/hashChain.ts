import { hash as oneShotHash } from 'node:crypto';

/** The hash the first line of a chain links to. */
export const GENESIS_HASH = '0'.repeat(64);

/** Length of the trailing `,"hash":"<64 hex>"}` member of a chained line. */
const HASH_SUFFIX_LENGTH = 9 + 64 + 2;

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

/** The parts of a chained line (without its newline), or `undefined` when it carries no chain members. */
export interface ChainedLineParts {
  canonical: string;
  seq: number;
  hash: string;
}

/** Splits a chained line into canonical content, seq and hash. */
export function parseChainedLine(line: string): ChainedLineParts | undefined {
  if (line.length <= HASH_SUFFIX_LENGTH || !line.endsWith('"}')) return undefined;
  const suffix = line.slice(-HASH_SUFFIX_LENGTH);
  if (!suffix.startsWith(',"hash":"')) return undefined;
  const hash = suffix.slice(9, 9 + 64);
  if (!/^[0-9a-f]{64}$/.test(hash)) return undefined;
  const canonical = line.slice(0, -HASH_SUFFIX_LENGTH);
  const m = /,"seq":(\d{1,15})$/.exec(canonical);
  if (!m) return undefined;
  return { canonical, seq: Number(m[1]), hash };
}
