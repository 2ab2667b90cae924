/**
 * RFC 3339 UTC timestamps with milliseconds, cached per millisecond: at high event rates most events share
 * a millisecond, and `toISOString` is the most expensive part of building a line.
 */
export function createTimestampFormatter(): (epochMs: number) => string {
  let lastMs = Number.NaN;
  let lastIso = '';
  return (epochMs: number): string => {
    if (epochMs !== lastMs) {
      lastMs = epochMs;
      lastIso = new Date(epochMs).toISOString();
    }
    return lastIso;
  };
}

/** `20261127T084105123Z`: the sortable, filename-safe stamp of a rotated file. */
export function fileStamp(epochMs: number): string {
  return new Date(epochMs).toISOString().replace(/[-:.]/g, '');
}

/** Parses a `fileStamp` back to epoch ms, or `undefined`. */
export function parseFileStamp(stamp: string): number | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})(\d{3})Z$/.exec(stamp);
  if (!m) return undefined;
  const ms = Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!, +m[7]!);
  return Number.isNaN(ms) ? undefined : ms;
}
