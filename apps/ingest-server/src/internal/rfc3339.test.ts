import { describe, expect, it } from 'vitest';
import { isRfc3339DateTime } from './rfc3339';

describe('isRfc3339DateTime (Go time.Time JSON decoding rules)', () => {
  it.each([
    '2026-01-15T10:00:00Z',
    '2026-01-15T10:00:00.123Z',
    '2026-01-15T10:00:00.123456789+02:00',
    '2024-02-29T23:59:59-23:59',
    '2000-02-29T00:00:00Z',
    '0000-01-01T00:00:00Z',
    new Date(0).toISOString(),
  ])('accepts %s', (value) => {
    expect(isRfc3339DateTime(value)).toBe(true);
  });

  it.each([
    ['a day that does not exist', '2024-02-30T10:00:00Z'],
    ['February 29 of a common year', '2023-02-29T10:00:00Z'],
    ['February 29 of a century that is not a leap year', '1900-02-29T10:00:00Z'],
    ['April 31', '2026-04-31T10:00:00Z'],
    ['month 13', '2026-13-01T10:00:00Z'],
    ['month 0', '2026-00-01T10:00:00Z'],
    ['day 0', '2026-01-00T10:00:00Z'],
    ['hour 24', '2026-01-15T24:00:00Z'],
    ['minute 60', '2026-01-15T10:60:00Z'],
    ['a leap second (Go refuses it)', '2016-12-31T23:59:60Z'],
    ['offset hours 24', '2026-01-15T10:00:00+24:00'],
    ['offset minutes 60', '2026-01-15T10:00:00+01:60'],
    ['a space for T', '2026-01-15 10:00:00Z'],
    ['lower-case t', '2026-01-15t10:00:00Z'],
    ['lower-case z', '2026-01-15T10:00:00z'],
    ['no zone', '2026-01-15T10:00:00'],
    ['a date only', '2026-01-15'],
    ['an empty fraction', '2026-01-15T10:00:00.Z'],
    ['more than nanoseconds', '2026-01-15T10:00:00.1234567890Z'],
    ['a five-digit year', '12026-01-15T10:00:00Z'],
    ['text', 'yesterday'],
  ])('refuses %s', (_why, value) => {
    expect(isRfc3339DateTime(value)).toBe(false);
  });

  it('refuses non-strings', () => {
    for (const v of [0, null, undefined, {}, 1_700_000_000_000]) expect(isRfc3339DateTime(v)).toBe(false);
  });
});
