import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PieceArena } from './pieceArena';

describe('PieceArena', () => {
  it('keeps every piece byte-exact across block boundaries and oversized pieces (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ unit: 'binary', maxLength: 40 }), { maxLength: 60 }), (texts) => {
        const arena = new PieceArena(32); // tiny blocks: most pieces cross or overflow a block
        const ids = texts.map((t) => arena.add(t));
        const target = Buffer.alloc(texts.reduce((s, t) => s + Buffer.byteLength(t), 0));
        let at = 0;
        ids.forEach((id, i) => {
          expect(arena.bytes(id)).toBe(Buffer.byteLength(texts[i]!));
          expect(arena.view(id).equals(Buffer.from(texts[i]!))).toBe(true);
          at = arena.copyTo(id, target, at);
        });
        expect(target.toString('utf8')).toBe(Buffer.from(texts.join('')).toString('utf8'));
      }),
      { numRuns: 200 },
    );
  });
});
