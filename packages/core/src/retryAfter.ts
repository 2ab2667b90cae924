/**
 * A strict reader of the HTTP `Retry-After` header (RFC 9110 §10.2.3): `delay-seconds` (digits only) or an
 * `HTTP-date` in one of its three forms (RFC 9110 §5.6.7). Anything else is garbage and gives `undefined`: a
 * lenient `Number()`/`Date.parse()` would read `-5`, `1.5`, `0x10` or `2026-01-01` as delays.
 */

const DELTA_SECONDS = /^[0-9]+$/;
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const DAY = '(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)';
const DAY_LONG = '(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)';
const MONTH = `(${MONTHS.join('|')})`;
const TIME = '([0-9]{2}):([0-9]{2}):([0-9]{2})';
/** `Sun, 06 Nov 1994 08:49:37 GMT` (the preferred form). */
const IMF_FIXDATE = new RegExp(`^${DAY}, ([0-9]{2}) ${MONTH} ([0-9]{4}) ${TIME} GMT$`);
/** `Sunday, 06-Nov-94 08:49:37 GMT` (obsolete RFC 850 form). */
const RFC850_DATE = new RegExp(`^${DAY_LONG}, ([0-9]{2})-${MONTH}-([0-9]{2}) ${TIME} GMT$`);
/** `Sun Nov  6 08:49:37 1994` (obsolete asctime form). */
const ASCTIME_DATE = new RegExp(`^${DAY} ${MONTH} ([0-9]{2}| [0-9]) ${TIME} ([0-9]{4})$`);

/** Milliseconds since the epoch of a valid calendar instant, else `undefined` (31 Feb, 25:00 are garbage). */
function instant(parts: {
  year: number;
  month: string;
  day: number;
  hour: number;
  minute: number;
  second: number;
}): number | undefined {
  const month = MONTHS.indexOf(parts.month);
  if (parts.hour > 23 || parts.minute > 59 || parts.second > 60) return undefined;
  // A leap second (:60) is the same instant as :59 plus one second; Date.UTC would roll it over correctly.
  const at = Date.UTC(parts.year, month, parts.day, parts.hour, parts.minute, parts.second);
  const check = new Date(Date.UTC(parts.year, month, parts.day));
  if (
    check.getUTCFullYear() !== parts.year ||
    check.getUTCMonth() !== month ||
    check.getUTCDate() !== parts.day
  ) {
    return undefined;
  }
  return at;
}

/** An RFC 850 two-digit year: the most recent year with those digits not more than 50 years ahead of `nowMs`. */
function fullYear(twoDigits: number, nowMs: number): number {
  const thisYear = new Date(nowMs).getUTCFullYear();
  let year = Math.floor(thisYear / 100) * 100 + twoDigits;
  if (year > thisYear + 50) year -= 100;
  return year;
}

function parseHttpDate(text: string, nowMs: number): number | undefined {
  let m = IMF_FIXDATE.exec(text);
  if (m) {
    return instant({ day: +m[1]!, month: m[2]!, year: +m[3]!, hour: +m[4]!, minute: +m[5]!, second: +m[6]! });
  }
  m = RFC850_DATE.exec(text);
  if (m) {
    const year = fullYear(+m[3]!, nowMs);
    return instant({ day: +m[1]!, month: m[2]!, year, hour: +m[4]!, minute: +m[5]!, second: +m[6]! });
  }
  m = ASCTIME_DATE.exec(text);
  if (m) {
    return instant({
      month: m[1]!,
      day: +m[2]!.trim(),
      hour: +m[3]!,
      minute: +m[4]!,
      second: +m[5]!,
      year: +m[6]!,
    });
  }
  return undefined;
}

/**
 * Parses a `Retry-After` header into a delay in ms from `nowMs` (RFC 9110: `delay-seconds` or an `HTTP-date` in
 * IMF-fixdate, RFC 850 or asctime form; surrounding whitespace ignored). A date in the past gives 0. An absent,
 * empty or malformed value — a sign, a fraction, a made-up date, an impossible day, seconds beyond
 * `Number.MAX_SAFE_INTEGER` ms — gives `undefined`. The result is not capped: `backoffDelayMs` caps it.
 */
export function parseRetryAfter(header: string | null | undefined, nowMs: number): number | undefined {
  if (header === undefined || header === null) return undefined;
  const text = header.trim();
  if (text === '') return undefined;
  if (DELTA_SECONDS.test(text)) {
    const ms = Number(text) * 1000;
    return Number.isSafeInteger(ms) ? ms : undefined;
  }
  const at = parseHttpDate(text, nowMs);
  return at === undefined ? undefined : Math.max(0, at - nowMs);
}
