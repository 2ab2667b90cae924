import { describe, expect, it } from 'vitest';
import { parseRetryAfter } from './retryAfter';

const NOW = Date.parse('2026-01-01T00:00:00Z');

describe('parseRetryAfter', () => {
  it('reads delta seconds', () => {
    expect(parseRetryAfter('0', NOW)).toBe(0);
    expect(parseRetryAfter('120', NOW)).toBe(120_000);
    expect(parseRetryAfter(' 3 ', NOW)).toBe(3000);
    // Far beyond a timer: parsed as asked, the backoff caps it.
    expect(parseRetryAfter('3000000', NOW)).toBe(3_000_000_000);
  });

  it('reads the three HTTP-date forms relative to now, past dates as 0', () => {
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:00:30 GMT', NOW)).toBe(30_000);
    expect(parseRetryAfter('Thursday, 01-Jan-26 00:01:00 GMT', NOW)).toBe(60_000);
    expect(parseRetryAfter('Thu Jan  1 00:00:05 2026', NOW)).toBe(5000);
    expect(parseRetryAfter('Thu Jan 15 00:00:00 2026', NOW)).toBe(14 * 86_400_000);
    expect(parseRetryAfter('Wed, 31 Dec 2025 23:59:00 GMT', NOW)).toBe(0);
    // RFC 850 two-digit years more than 50 years ahead are in the past century.
    expect(parseRetryAfter('Sunday, 06-Nov-94 08:49:37 GMT', NOW)).toBe(0);
  });

  it('gives undefined for absent or malformed values', () => {
    for (const header of [
      undefined,
      null,
      '',
      '   ',
      '-5',
      '+5',
      '1.5',
      '1e3',
      '0x10',
      'soon',
      '9'.repeat(30),
      '2026-01-01T00:00:30Z',
      'Thu, 01 Jan 2026 00:00:30 UTC',
      'Thu, 1 Jan 2026 00:00:30 GMT',
      'Thu, 31 Feb 2026 00:00:30 GMT',
      'Thu, 01 Jan 2026 24:00:00 GMT',
      'thu, 01 jan 2026 00:00:30 gmt',
      'Thu, 01 Jan 2026 00:00:30 GMT trailing',
    ]) {
      expect(parseRetryAfter(header, NOW), String(header)).toBeUndefined();
    }
  });
});
