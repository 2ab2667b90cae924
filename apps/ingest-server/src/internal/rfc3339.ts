/**
 * RFC 3339 date-times as the platform reads them: Go's `time.Time` JSON decoding (strict RFC 3339 since
 * Go 1.20): `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)` with an upper-case `T` and `Z`, a real calendar
 * day (2024-02-30 is refused, 2024-02-29 is not), hours 00-23, minutes and seconds 00-59 (no leap
 * second), and an offset of at most 23:59.
 */
const PATTERN = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.\d{1,9})?(?:Z|[+-](\d{2}):(\d{2}))$/;

function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

/** True when `value` is an RFC 3339 date-time the platform accepts (see the module comment). */
export function isRfc3339DateTime(value: unknown): value is string {
  if (typeof value !== 'string' || value.length > 40) return false;
  const m = PATTERN.exec(value);
  if (m === null) return false;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return false;
  if (hour > 23 || minute > 59 || second > 59) return false;
  if (m[7] !== undefined && (Number(m[7]) > 23 || Number(m[8]) > 59)) return false;
  return true;
}
