import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PieceArena } from './pieceArena';

describe('PieceArena', () => {
  it('keeps every added piece byte-exact (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ unit: 'binary', maxLength: 40 }), { maxLength: 60 }), (texts) => {
        const arena = new PieceArena();
        const ids = texts.map((t) => arena.add(t));
        const target = Buffer.alloc(texts.reduce((s, t) => s + Buffer.byteLength(t), 0));
        let at = 0;
        ids.forEach((id, i) => {
          expect(arena.bytes(id)).toBe(Buffer.byteLength(texts[i]!));
          expect(arena.text(id)).toBe(texts[i]);
          at = arena.copyTo(id, target, at);
        });
        expect(at).toBe(target.length);
        expect(target.equals(Buffer.from(texts.join('')))).toBe(true);
      }),
      { numRuns: 200 },
    );
  });

  it('splits batched JSON into exactly the per-item JSON, across batches (property)', () => {
    const item = fc.dictionary(
      fc.string({ unit: 'binary', maxLength: 8 }),
      fc.oneof(fc.jsonValue({ maxDepth: 3 }), fc.string({ unit: 'binary' })),
      { maxKeys: 5 },
    );
    fc.assert(
      fc.property(fc.array(item, { maxLength: 30 }), fc.integer({ min: 1, max: 7 }), (items, batch) => {
        const arena = new PieceArena();
        arena.add('x'); // pieces of addJsonItems are numbered after the existing ones
        const sizes = arena.addJsonItems(items, batch);
        const expected = items.map((o) => JSON.stringify(o));
        expect(sizes).toEqual(expected.map((t) => Buffer.byteLength(t)));
        expected.forEach((t, i) => expect(arena.text(1 + i)).toBe(t));
        for (let first = 1; first <= items.length; first++) {
          const end = Math.min(items.length + 1, first + batch + 2);
          const want = Buffer.from(expected.slice(first - 1, end - 1).join(','));
          const target = Buffer.alloc(want.length + 3, 0xff);
          expect(arena.copyRangeTo(first, end, target, 1)).toBe(1 + want.length);
          expect(target.subarray(1, 1 + want.length).equals(want)).toBe(true);
          expect(target[0]).toBe(0xff);
          expect(target[1 + want.length]).toBe(0xff);
        }
      }),
      { numRuns: 200 },
    );
  });

  it('propagates what JSON.stringify throws for an item (cycle)', () => {
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.self = cyclic;
    expect(() => new PieceArena().addJsonItems([{ ok: true }, cyclic])).toThrow(TypeError);
  });
});
