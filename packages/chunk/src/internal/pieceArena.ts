/**
 * The serialised JSON of a report's items (one piece per finding or asset), kept as the JS strings
 * `JSON.stringify` produced: a piece is a range of one string, with its exact UTF-8 byte size for
 * planning. Rendering a chunk encodes its pieces straight into the chunk's buffer, a contiguous run of
 * findings in one call.
 *
 * Why strings and not UTF-8 buffers (measured on the 100k-finding bench report, Node 20): items are
 * serialised a batch at a time (one `JSON.stringify` per slice instead of one per item: a third of the
 * time), and encoding every piece up front into buffers adds ~80 MB of external memory, which makes V8
 * run a full mark-compact over the caller's whole report object graph (~0.3–0.7 s on that report) in
 * the middle of the submit. Kept as strings, the pieces are ordinary heap garbage after the submit and
 * only one chunk's bytes exist at a time.
 */
export class PieceArena {
  // TextEncoder.encodeInto is several times faster per call than Buffer#write (measured on Node 20).
  readonly #encoder = new TextEncoder();
  readonly #texts: string[] = [];
  readonly #text: number[] = [];
  readonly #start: number[] = [];
  readonly #end: number[] = [];
  readonly #bytes: number[] = [];

  /** Packs `text` (UTF-8 when rendered) as one piece and returns its piece number. */
  add(text: string): number {
    this.#texts.push(text);
    return this.#record(this.#texts.length - 1, 0, text.length, Buffer.byteLength(text, 'utf8'));
  }

  /**
   * Packs the JSON of every item of `items` (each exactly as `JSON.stringify(item)` writes it, except
   * that a `toJSON` method sees the array index as its key) and returns their UTF-8 byte sizes, in
   * order. Items are serialised `batchItems` at a time with ONE `JSON.stringify` of the slice; the item
   * boundaries are then found by a scan for the top-level commas. A batch whose string would be too
   * long for V8, or whose scan does not find one piece per item, falls back to one call per item.
   */
  addJsonItems(items: readonly unknown[], batchItems = 1000): number[] {
    const sizes: number[] = [];
    for (let first = 0; first < items.length; first += batchItems) {
      const slice = items.slice(first, first + batchItems);
      let text: string | undefined;
      try {
        text = JSON.stringify(slice);
      } catch (err) {
        if (!(err instanceof RangeError)) throw err; // cycles, BigInt: as JSON.stringify(item) would
      }
      const ends = text === undefined ? undefined : topLevelEnds(text);
      if (text === undefined || ends === undefined || ends.length !== slice.length) {
        for (const item of slice) sizes.push(this.bytes(this.add(JSON.stringify(item))));
        continue;
      }
      this.#texts.push(text);
      const t = this.#texts.length - 1;
      // JSON.stringify escapes lone surrogates, so the UTF-8 size of an ASCII-only batch is its length.
      const ascii = Buffer.byteLength(text, 'utf8') === text.length;
      let from = 1; // after "["
      for (const end of ends) {
        const bytes = ascii ? end - from : Buffer.byteLength(text.slice(from, end), 'utf8');
        this.#record(t, from, end, bytes);
        sizes.push(bytes);
        from = end + 1; // after ","
      }
    }
    return sizes;
  }

  /** Exact UTF-8 bytes of piece `i`. */
  bytes(i: number): number {
    return this.#bytes[i]!;
  }

  /** The JSON text of piece `i`. */
  text(i: number): string {
    return this.#texts[this.#text[i]!]!.slice(this.#start[i], this.#end[i]);
  }

  /** Encodes piece `i` (UTF-8) into `target` at `at`; returns the position after it. */
  copyTo(i: number, target: Uint8Array, at: number): number {
    return this.#encode(this.text(i), target, at);
  }

  /**
   * Encodes pieces `first..end-1` joined by commas into `target` at `at`; returns the position after
   * them. Consecutive pieces of one batch are written in one call (their separators are in the text).
   */
  copyRangeTo(first: number, end: number, target: Uint8Array, at: number): number {
    let p = at;
    let i = first;
    while (i < end) {
      const t = this.#text[i]!;
      let j = i + 1;
      while (j < end && this.#text[j] === t && this.#start[j] === this.#end[j - 1]! + 1) j++;
      if (i > first) target[p++] = 0x2c;
      p = this.#encode(this.#texts[t]!.slice(this.#start[i], this.#end[j - 1]), target, p);
      i = j;
    }
    return p;
  }

  #encode(text: string, target: Uint8Array, at: number): number {
    const { read, written } = this.#encoder.encodeInto(text, target.subarray(at));
    if (read !== text.length) throw new RangeError('piece does not fit its target');
    return at + written;
  }

  #record(text: number, start: number, end: number, bytes: number): number {
    this.#text.push(text);
    this.#start.push(start);
    this.#end.push(end);
    this.#bytes.push(bytes);
    return this.#bytes.length - 1;
  }
}

/**
 * End offsets of the members of the JSON array `json` (`[a,b,...]` as JSON.stringify writes it, no
 * whitespace): the offsets of its top-level commas and of its closing bracket. `undefined` if the text
 * is not such an array.
 */
function topLevelEnds(json: string): number[] | undefined {
  const n = json.length;
  if (n < 2 || json.charCodeAt(0) !== 0x5b || json.charCodeAt(n - 1) !== 0x5d) return undefined;
  if (n === 2) return [];
  const ends: number[] = [];
  let depth = 0;
  let inString = false;
  for (let i = 1; i < n - 1; i++) {
    const c = json.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) depth++;
    else if (c === 0x7d || c === 0x5d) depth--;
    else if (c === 0x2c && depth === 0) ends.push(i);
  }
  if (depth !== 0 || inString) return undefined;
  ends.push(n - 1);
  return ends;
}
