import { describe, expect, it } from 'vitest';
import { isValidReportId, MAX_REPORT_ID_LENGTH, MAX_TOTAL_CHUNKS, MAX_CHUNK_DATA_BYTES } from './limits';

describe('report id rule', () => {
  it('accepts 1 and 256 characters of [A-Za-z0-9_-]', () => {
    expect(isValidReportId('a')).toBe(true);
    expect(isValidReportId('x'.repeat(MAX_REPORT_ID_LENGTH))).toBe(true);
    expect(isValidReportId('scan-2024-01-15_ABC-09')).toBe(true);
  });

  it('refuses empty and 257 characters', () => {
    expect(isValidReportId('')).toBe(false);
    expect(isValidReportId('x'.repeat(MAX_REPORT_ID_LENGTH + 1))).toBe(false);
  });

  it.each(['../x', 'a/b', 'a b', ' a', 'a\n', 'réport', 'ｓcan', '😀', 'a.b', 'a\u0000b', 'id%2F'])(
    'refuses %j',
    (id) => {
      expect(isValidReportId(id)).toBe(false);
    },
  );

  it('refuses non-strings', () => {
    expect(isValidReportId(undefined)).toBe(false);
    expect(isValidReportId(123)).toBe(false);
    expect(isValidReportId(['a'])).toBe(false);
  });

  it('keeps the platform limits', () => {
    expect(MAX_TOTAL_CHUNKS).toBe(10_000);
    expect(MAX_CHUNK_DATA_BYTES).toBe(10 * 1024 * 1024);
  });
});
