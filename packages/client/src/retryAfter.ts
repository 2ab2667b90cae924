const DELTA_SECONDS = /^\d+$/;
/** An HTTP date names its day or month; this keeps `Date.parse` from reading `-5` or `1.5` as dates. */
const HAS_NAME = /[A-Za-z]{3}/;

/**
 * Parses a `Retry-After` header (delta seconds or an HTTP date) into a delay in ms from `nowMs`.
 * A date in the past gives 0; an absent or unreadable value gives `undefined`.
 */
export function parseRetryAfter(value: string | undefined, nowMs: number): number | undefined {
  if (value === undefined) return undefined;
  const text = value.trim();
  if (text === '') return undefined;
  if (DELTA_SECONDS.test(text)) {
    const seconds = Number(text);
    return Number.isSafeInteger(seconds) ? seconds * 1000 : undefined;
  }
  if (!HAS_NAME.test(text)) return undefined;
  const at = Date.parse(text);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - nowMs);
}
