import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { jsonByteLength } from './jsonByteLength';

const reference = (v: unknown): number => {
  const json = JSON.stringify(v) as string | undefined;
  return json === undefined ? 0 : Buffer.byteLength(json, 'utf8');
};

describe('jsonByteLength', () => {
  it('equals the UTF-8 length of JSON.stringify for any JSON-like value', () => {
    fc.assert(
      fc.property(
        fc.anything({
          withBoxedValues: false,
          withMap: false,
          withSet: false,
          withObjectString: true,
          withNullPrototype: true,
          withDate: true,
          withTypedArray: false,
          withSparseArray: true,
          withUnicodeString: true,
          maxDepth: 5,
        }),
        (v) => {
          expect(jsonByteLength(v)).toBe(reference(v));
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('counts escapes, multi-byte characters and lone surrogates like JSON.stringify', () => {
    const tricky = ['"\\\b\f\n\r\t\u0000\u001f\u007f', 'é€𝄞', '\ud800x', 'x\udc00', '\ud83d', ''];
    for (const s of tricky)
      expect(jsonByteLength({ [s]: s, a: [s, undefined, () => 1] })).toBe(
        reference({ [s]: s, a: [s, undefined, () => 1] }),
      );
  });

  it('handles numbers, omitted members and toJSON as JSON.stringify does', () => {
    const values: unknown[] = [
      0,
      -0,
      7,
      -12,
      1e21,
      1.5e-7,
      123.456,
      Number.NaN,
      Number.POSITIVE_INFINITY,
      999_999_999_999_999,
      { a: undefined, b: Symbol('s'), c: 1 },
      { toJSON: () => ({ x: 'y' }) },
      new Date(0),
      [undefined, null, true, false],
      undefined,
    ];
    for (const v of values) expect(jsonByteLength(v)).toBe(reference(v));
  });

  it('throws where JSON.stringify throws (cycles, bigint)', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(() => jsonByteLength(cyclic)).toThrow(TypeError);
    expect(() => jsonByteLength({ n: 1n })).toThrow(TypeError);
  });
});

describe('jsonByteLength on arrays with toJSON', () => {
  it('defers to JSON.stringify', () => {
    const arr = Object.assign([1, 2], { toJSON: () => 'x' });
    expect(jsonByteLength(arr)).toBe(reference(arr));
  });
});
