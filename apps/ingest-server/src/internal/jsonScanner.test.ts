import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CHUNK_DATA_CONTENT_LIMITS,
  CHUNK_ENVELOPE_CONTENT_LIMITS,
  REPORT_CONTENT_LIMITS,
  SMALL_BODY_CONTENT_LIMITS,
} from './contentLimits';
import type { ContentLimits } from './contentLimits';
import { JsonScanner } from './jsonScanner';
import { MAX_FINGERPRINTS_PER_CHECK } from './validation';

/** Scans `json` in parts of `partBytes` (every split point must give the same result). */
function scan(json: string | Buffer, limits: ContentLimits, partBytes = 7): JsonScanner {
  const bytes = Buffer.isBuffer(json) ? json : Buffer.from(json);
  const s = new JsonScanner(limits);
  for (let at = 0; at < bytes.length; at += partBytes) s.write(bytes.subarray(at, at + partBytes));
  return s;
}

function refusal(fn: () => unknown): {
  code: string;
  status: number;
  message: string;
  details: Record<string, unknown>;
} {
  try {
    fn();
  } catch (e) {
    return e as never;
  }
  throw new Error('expected a refusal');
}

/** Values in a parsed JSON value, counted the way the scanner counts them. */
function countValues(value: unknown): number {
  if (Array.isArray(value)) return 1 + value.reduce((n: number, v) => n + countValues(v), 0);
  if (typeof value === 'object' && value !== null) {
    return 1 + Object.values(value).reduce((n: number, v) => n + countValues(v), 0);
  }
  return 1;
}

const loose: ContentLimits = {
  ...SMALL_BODY_CONTENT_LIMITS,
  maxValues: Number.MAX_SAFE_INTEGER,
  maxArrayItems: Number.MAX_SAFE_INTEGER,
  maxObjectMembers: Number.MAX_SAFE_INTEGER,
  maxStringBytes: Number.MAX_SAFE_INTEGER,
  maxKeyBytes: Number.MAX_SAFE_INTEGER,
  maxDepth: 1000,
};

describe('JsonScanner', () => {
  it('counts exactly the values JSON.parse builds, whatever the split into parts', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 8 }), fc.integer({ min: 1, max: 64 }), (value, partBytes) => {
        const json = JSON.stringify(value) ?? 'null';
        expect(scan(json, loose, partBytes).values).toBe(countValues(JSON.parse(json)));
      }),
      { numRuns: 300 },
    );
  });

  it('counts strings with escapes, unicode and long runs like JSON.parse does', () => {
    const value = {
      'k\\"ey': [
        'a"b',
        'é',
        '😀'.repeat(40),
        'x'.repeat(5000),
        '\\u0000\n\t',
        { '': [1, -2.5e-3, true, null] },
      ],
    };
    for (const part of [1, 3, 16, 17, 1 << 20]) {
      expect(scan(JSON.stringify(value), loose, part).values).toBe(countValues(value));
    }
  });

  it('refuses an array of one item more than its bound, and accepts it at the bound', () => {
    const limits: ContentLimits = { ...loose, maxArrayItems: 100 };
    const at = JSON.stringify({ a: Array(100).fill({}) });
    expect(scan(at, limits).values).toBe(102);
    const over = JSON.stringify({ a: Array(101).fill({}) });
    expect(refusal(() => scan(over, limits))).toMatchObject({
      code: 'VALIDATION_FAILED',
      status: 400,
      details: { limit: 'maxArrayItems', max: 100 },
    });
  });

  it('refuses more values in total, more members, and deeper nesting than the bounds', () => {
    expect(refusal(() => scan('[1,[2,[3]]]', { ...loose, maxValues: 5 })).details).toMatchObject({
      limit: 'maxValues',
    });
    expect(scan('[1,[2,[3]]]', { ...loose, maxValues: 6 }).values).toBe(6);
    expect(
      refusal(() => scan('{"a":1,"b":2,"c":3}', { ...loose, maxObjectMembers: 2 })).details,
    ).toMatchObject({
      limit: 'maxObjectMembers',
    });
    const depth = (n: number) => '['.repeat(n) + ']'.repeat(n);
    expect(() => scan(depth(64), REPORT_CONTENT_LIMITS)).not.toThrow();
    expect(refusal(() => scan(depth(65), REPORT_CONTENT_LIMITS)).details).toMatchObject({
      limit: 'maxDepth',
    });
  });

  it('bounds strings, member names and numbers by their bytes in the JSON text', () => {
    const limits: ContentLimits = { ...loose, maxStringBytes: 10, maxKeyBytes: 4, maxNumberBytes: 5 };
    expect(() => scan('["0123456789"]', limits)).not.toThrow();
    expect(refusal(() => scan('["01234567890"]', limits)).details).toMatchObject({ limit: 'maxStringBytes' });
    // An escape counts as written: `\n` is two bytes.
    expect(refusal(() => scan('["012345678\\n"]', limits)).details).toMatchObject({
      limit: 'maxStringBytes',
    });
    expect(() => scan('{"abcd":1}', limits)).not.toThrow();
    expect(refusal(() => scan('{"abcde":1}', limits)).details).toMatchObject({ limit: 'maxKeyBytes' });
    expect(() => scan('[12345]', limits)).not.toThrow();
    expect(refusal(() => scan('[123456]', limits)).details).toMatchObject({ limit: 'maxNumberBytes' });
  });

  it("answers a chunk envelope's oversize string with the spec's 413 REPORT_TOO_LARGE", () => {
    const data = 'A'.repeat(CHUNK_ENVELOPE_CONTENT_LIMITS.maxStringBytes + 1);
    expect(refusal(() => scan(`{"data":"${data}"}`, CHUNK_ENVELOPE_CONTENT_LIMITS, 1 << 20))).toMatchObject({
      code: 'REPORT_TOO_LARGE',
      status: 413,
    });
  });

  it('bounds findings and assets of the root object, or of a {report} wrapper, with a 413', () => {
    const max = CHUNK_DATA_CONTENT_LIMITS.namedArrays.findings!.max;
    const findings = (n: number) => `[${Array(n).fill('{}').join(',')}]`;
    expect(() => scan(`{"findings":${findings(max)}}`, CHUNK_DATA_CONTENT_LIMITS, 4096)).not.toThrow();
    expect(
      refusal(() => scan(`{"findings":${findings(max + 1)}}`, CHUNK_DATA_CONTENT_LIMITS, 4096)),
    ).toMatchObject({
      code: 'REPORT_TOO_LARGE',
      status: 413,
    });
    const reportMax = REPORT_CONTENT_LIMITS.namedArrays.findings!.max;
    expect(
      refusal(() => scan(`{"report":{"findings":${findings(reportMax + 1)}}}`, REPORT_CONTENT_LIMITS, 4096))
        .code,
    ).toBe('REPORT_TOO_LARGE');
    // An escaped member name is the same name to JSON.parse.
    expect(
      refusal(() => scan(`{"find\\u0069ngs":${findings(max + 1)}}`, CHUNK_DATA_CONTENT_LIMITS, 3)).code,
    ).toBe('REPORT_TOO_LARGE');
    // Deeper arrays of that name are ordinary arrays.
    expect(() =>
      scan(`{"properties":{"findings":${findings(max + 1)}}}`, CHUNK_DATA_CONTENT_LIMITS, 4096),
    ).not.toThrow();
  });

  it('refuses escaped lone surrogates and accepts escaped pairs', () => {
    for (const bad of [
      '["\\ud800"]',
      '["\\udc00"]',
      '["\\ud800x"]',
      '["\\ud800\\n"]',
      '["\\ud800\\ud800"]',
    ]) {
      expect(refusal(() => scan(bad, loose, 1)).message, bad).toContain('lone surrogate');
    }
    expect(() => scan('["\\ud83d\\ude00", "\\u00e9"]', loose, 1)).not.toThrow();
  });

  it('refuses a 100 MB object bomb after reading a few hundred KiB', () => {
    const block = Buffer.from('{},'.repeat(100_000));
    const s = new JsonScanner(REPORT_CONTENT_LIMITS);
    s.write(Buffer.from('{"properties":{"x":['));
    let fed = 0;
    const error = refusal(() => {
      for (; fed < 100_000_000; fed += block.length) s.write(block);
    });
    expect(error.details).toMatchObject({ limit: 'maxArrayItems' });
    expect(fed).toBeLessThan(1_000_000);
  });

  it('leaves bytes that are not JSON to JSON.parse (a stream of zeros is for the byte limits)', () => {
    expect(scan(Buffer.alloc(10_000), REPORT_CONTENT_LIMITS).values).toBe(0);
  });

  it('keeps every bound of the body kinds above what the agent sends', () => {
    expect(CHUNK_DATA_CONTENT_LIMITS.namedArrays.findings!.max).toBeGreaterThanOrEqual(10 * 500);
    expect(CHUNK_DATA_CONTENT_LIMITS.namedArrays.assets!.max).toBeGreaterThanOrEqual(10 * 100);
    expect(REPORT_CONTENT_LIMITS.namedArrays.findings!.max).toBeGreaterThanOrEqual(10 * 2000);
    expect(SMALL_BODY_CONTENT_LIMITS.maxArrayItems).toBeGreaterThan(MAX_FINGERPRINTS_PER_CHECK);
  });
});
