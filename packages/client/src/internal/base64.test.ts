import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isBase64 } from './base64';

const REFERENCE = /^(?:[A-Za-z0-9+/_-]{4})*(?:[A-Za-z0-9+/_-]{2}==|[A-Za-z0-9+/_-]{3}=|[A-Za-z0-9+/_-]{4})$/;
const ALPHABET = [...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/-_='];
const NEAR = [...ALPHABET, ' ', '\n', '\t', '\0', '"', '\\', '.', '*', 'é', 'Ģ', '\u2028', '😀'];

describe('isBase64', () => {
  it('accepts what Buffer writes as base64', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 300 }), (bytes) => {
        expect(isBase64(Buffer.from(bytes).toString('base64'))).toBe(true);
        expect(
          isBase64(
            Buffer.from(bytes)
              .toString('base64url')
              .padEnd(Math.ceil((bytes.length * 4) / 3 / 4) * 4, '='),
          ),
        ).toBe(true);
      }),
    );
  });

  it('agrees with a reference regex on near-base64 strings', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...NEAR), { maxLength: 40 }), (chars) => {
        const text = chars.join('');
        expect(isBase64(text)).toBe(REFERENCE.test(text));
      }),
      { numRuns: 3000 },
    );
  });

  it.each(['', 'QQ', 'QQ=', 'Q===', '====', 'QQ==QQ==', 'QUJD\n', ' QUJD', 'QU"D', 'QU\\D', 'QUĢD'])(
    'refuses %j',
    (text) => {
      expect(isBase64(text)).toBe(false);
    },
  );
});
