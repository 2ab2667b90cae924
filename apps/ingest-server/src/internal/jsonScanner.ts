import { IngestServerError } from '../ingestServerError';
import type { ContentLimits, NamedArrayLimit } from './contentLimits';

// Scanner modes.
const BETWEEN = 0;
const STRING = 1;
const ESCAPE = 2;
const UNICODE = 3;
const TOKEN = 4;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
/** After this many bytes of one string in one part, the rest is searched natively (indexOf). */
const SLOW_STRING_BYTES = 32;
/** Longest raw member name captured to match `findings` / `assets` / `report` (escaped forms included). */
const MAX_CAPTURED_KEY_BYTES = 64;
/** A watched object: the root (1) or the root's `report` member (2, the `{report: …}` wrapper). */
const ROOT = 1;
const WRAPPED = 2;

/** True for bytes that end a bare token (number or literal): whitespace and JSON's structural characters. */
const ENDS_TOKEN = new Uint8Array(256);
for (const c of ' \t\r\n{}[],:"') ENDS_TOKEN[c.charCodeAt(0)] = 1;
/** True for bytes that may start a number or a literal (`true`, `false`, `null`). */
const STARTS_TOKEN = new Uint8Array(256);
for (const c of '-0123456789tfn') STARTS_TOKEN[c.charCodeAt(0)] = 1;

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  return 0; // not hex: JSON.parse refuses the body later
}

/**
 * Counts what a JSON body contains while it streams in, one part at a time, and throws as soon as a bound of
 * `ContentLimits` is passed: nesting, values in total, items per array, members per object, bytes per string,
 * member name and number, items of named root arrays (`findings`, `assets`), and escaped lone surrogates
 * (`"\ud800"`, which JSON allows and UTF-8 cannot store). It allocates nothing per value and never builds
 * the parsed value, so a body of millions of `{}` is refused after the first few hundred KiB, before any
 * `JSON.parse`. It is not a validator: on invalid JSON it may count anything, and `JSON.parse` refuses the
 * body afterwards; on valid JSON its counts are exact.
 */
export class JsonScanner {
  readonly #limits: ContentLimits;
  readonly #what: string;
  // One entry per open container, indexed by depth - 1.
  readonly #isObject: boolean[] = [];
  readonly #count: number[] = [];
  readonly #expectKey: boolean[] = [];
  readonly #named: (NamedArrayLimit | undefined)[] = [];
  readonly #watch: number[] = [];
  readonly #lastKey: (string | undefined)[] = [];
  #depth = 0;
  #values = 0;
  #mode = BETWEEN;
  #len = 0;
  #isKey = false;
  #hex = 0;
  #hexLeft = 0;
  #highSurrogate = false;
  #captured: number[] | undefined;
  #scanned = 0;
  /** Offset of the next backslash in the current part (its length when none; -1 before the first search). */
  #nextBackslash = -1;

  /** `what` names the body in messages (`body`, `chunk data`). */
  constructor(limits: ContentLimits, what = 'body') {
    this.#limits = limits;
    this.#what = what;
  }

  /** Values seen so far (objects, arrays, strings, numbers, literals). */
  get values(): number {
    return this.#values;
  }

  /** Scans the next part of the body. Throws an `IngestServerError` (4xx) when a bound is passed. */
  write(part: Buffer): void {
    const n = part.length;
    let i = 0;
    this.#nextBackslash = -1;
    while (i < n) {
      switch (this.#mode) {
        case BETWEEN:
          i = this.#between(part, i, n);
          break;
        case STRING:
          i = this.#string(part, i, n);
          break;
        case ESCAPE:
          this.#escape(part[i]!, i);
          i++;
          break;
        case UNICODE:
          this.#unicode(part[i]!, i);
          i++;
          break;
        default:
          i = this.#token(part, i, n);
      }
    }
    this.#scanned += n;
  }

  #between(part: Buffer, start: number, n: number): number {
    for (let i = start; i < n; i++) {
      const c = part[i]!;
      switch (c) {
        case 0x20:
        case 0x09:
        case 0x0a:
        case 0x0d:
          continue;
        case 0x7b: // {
          this.#value(i);
          this.#open(true, i);
          continue;
        case 0x5b: // [
          this.#value(i);
          this.#open(false, i);
          continue;
        case 0x7d: // }
        case 0x5d: // ]
          if (this.#depth > 0) this.#depth--;
          continue;
        case 0x2c: // ,
          if (this.#depth > 0 && this.#isObject[this.#depth - 1]) this.#expectKey[this.#depth - 1] = true;
          continue;
        case 0x3a: // :
          continue;
        case QUOTE: {
          const top = this.#depth - 1;
          this.#len = 0;
          if (top >= 0 && this.#isObject[top] && this.#expectKey[top]) {
            this.#expectKey[top] = false;
            if (++this.#count[top]! > this.#limits.maxObjectMembers) {
              this.#fail(
                `an object with more than ${this.#limits.maxObjectMembers} members`,
                'maxObjectMembers',
                i,
              );
            }
            this.#isKey = true;
            this.#captured = this.#watch[top] !== 0 ? [] : undefined;
          } else {
            this.#value(i);
            this.#isKey = false;
            this.#captured = undefined;
          }
          this.#mode = STRING;
          return i + 1;
        }
        default:
          // A number or literal; any other byte is not JSON, which JSON.parse refuses later (and the byte
          // limits bound meanwhile: a stream of zeros is a decompression bomb, refused as such).
          if (STARTS_TOKEN[c] !== 1) continue;
          this.#value(i);
          this.#mode = TOKEN;
          this.#len = 1;
          return i + 1;
      }
    }
    return n;
  }

  #string(part: Buffer, start: number, n: number): number {
    const max = this.#isKey ? this.#limits.maxKeyBytes : this.#limits.maxStringBytes;
    // After an escaped high surrogate, only the escape of its low half may follow.
    if (this.#highSurrogate && part[start] !== BACKSLASH) this.#loneSurrogate(start);
    let i = start;
    // Short strings (most keys and values) byte by byte; long ones through native searches.
    const slowEnd = Math.min(n, start + SLOW_STRING_BYTES);
    while (i < slowEnd) {
      const c = part[i]!;
      if (c === QUOTE || c === BACKSLASH) break;
      i++;
    }
    if (i === slowEnd && i < n) {
      const q = part.indexOf(QUOTE, i);
      // Backslashes are rare: the next one's position is kept for the whole part.
      if (this.#nextBackslash < i) {
        const b = part.indexOf(BACKSLASH, i);
        this.#nextBackslash = b === -1 ? n : b;
      }
      i = Math.min(q === -1 ? n : q, this.#nextBackslash);
    }
    this.#grow(i - start, max, i);
    if (this.#captured !== undefined) {
      if (this.#captured.length + (i - start) > MAX_CAPTURED_KEY_BYTES) this.#captured = undefined;
      else for (let k = start; k < i; k++) this.#captured.push(part[k]!);
    }
    if (i >= n) return n;
    if (part[i] === QUOTE) return this.#endString(i);
    this.#grow(1, max, i);
    this.#mode = ESCAPE;
    return i + 1;
  }

  #grow(bytes: number, max: number, at: number): void {
    this.#len += bytes;
    if (this.#len > max) {
      const limit = this.#limits.stringTooLong;
      if (!this.#isKey && limit !== undefined) {
        throw new IngestServerError(
          limit.code,
          `${this.#what} holds a string of more than ${max} bytes: ${limit.hint}`,
          {
            status: limit.status,
            details: { limit: 'maxStringBytes', max, offset: this.#scanned + at },
          },
        );
      }
      this.#fail(
        this.#isKey ? `a member name of more than ${max} bytes` : `a string of more than ${max} bytes`,
        this.#isKey ? 'maxKeyBytes' : 'maxStringBytes',
        at,
      );
    }
  }

  #endString(at: number): number {
    this.#mode = BETWEEN;
    if (this.#isKey) {
      const top = this.#depth - 1;
      const captured = this.#captured;
      this.#captured = undefined;
      this.#lastKey[top] = captured === undefined ? undefined : decodeKey(captured);
    }
    return at + 1;
  }

  #escape(c: number, at: number): void {
    if (this.#captured !== undefined) {
      if (this.#captured.length >= MAX_CAPTURED_KEY_BYTES) this.#captured = undefined;
      else this.#captured.push(BACKSLASH, c);
    }
    if (c === 0x75) {
      this.#mode = UNICODE;
      this.#hexLeft = 4;
      this.#hex = 0;
    } else {
      if (this.#highSurrogate) this.#loneSurrogate(at);
      this.#mode = STRING;
    }
    this.#grow(1, this.#isKey ? this.#limits.maxKeyBytes : this.#limits.maxStringBytes, at);
  }

  #unicode(c: number, at: number): void {
    this.#captured?.push(c);
    this.#hex = this.#hex * 16 + hexValue(c);
    this.#grow(1, this.#isKey ? this.#limits.maxKeyBytes : this.#limits.maxStringBytes, at);
    if (--this.#hexLeft > 0) return;
    const unit = this.#hex;
    if (unit >= 0xd800 && unit <= 0xdbff) {
      if (this.#highSurrogate) this.#loneSurrogate(at);
      this.#highSurrogate = true;
    } else if (unit >= 0xdc00 && unit <= 0xdfff) {
      if (!this.#highSurrogate) this.#loneSurrogate(at);
      this.#highSurrogate = false;
    } else if (this.#highSurrogate) {
      this.#loneSurrogate(at);
    }
    this.#mode = STRING;
  }

  #token(part: Buffer, start: number, n: number): number {
    let i = start;
    for (; i < n; i++) {
      if (ENDS_TOKEN[part[i]!] === 1) {
        this.#mode = BETWEEN;
        return i;
      }
      if (++this.#len > this.#limits.maxNumberBytes) {
        this.#fail(`a number of more than ${this.#limits.maxNumberBytes} bytes`, 'maxNumberBytes', i);
      }
    }
    return n;
  }

  /** Counts a value starting at `at` (in the array or object that holds it). */
  #value(at: number): void {
    if (++this.#values > this.#limits.maxValues) {
      this.#fail(`more than ${this.#limits.maxValues} values`, 'maxValues', at);
    }
    const top = this.#depth - 1;
    if (top < 0 || this.#isObject[top]) return;
    const count = ++this.#count[top]!;
    const named = this.#named[top];
    if (named !== undefined) {
      if (count > named.max) {
        throw new IngestServerError(
          'REPORT_TOO_LARGE',
          `${this.#what} holds more than ${named.max} ${named.what}: split it into smaller chunks`,
          { status: 413, details: { limit: named.what, max: named.max, offset: this.#scanned + at } },
        );
      }
    } else if (count > this.#limits.maxArrayItems) {
      this.#fail(`an array of more than ${this.#limits.maxArrayItems} items`, 'maxArrayItems', at);
    }
  }

  #open(isObject: boolean, at: number): void {
    const parent = this.#depth - 1;
    const d = this.#depth++;
    if (this.#depth > this.#limits.maxDepth) {
      this.#fail(`JSON nested deeper than ${this.#limits.maxDepth} levels`, 'maxDepth', at);
    }
    const key = parent >= 0 && this.#isObject[parent] ? this.#lastKey[parent] : undefined;
    const parentWatch = parent >= 0 ? this.#watch[parent]! : 0;
    this.#isObject[d] = isObject;
    this.#count[d] = 0;
    this.#expectKey[d] = isObject;
    this.#lastKey[d] = undefined;
    this.#named[d] =
      !isObject && parentWatch !== 0 && key !== undefined && Object.hasOwn(this.#limits.namedArrays, key)
        ? this.#limits.namedArrays[key]
        : undefined;
    this.#watch[d] = !isObject
      ? 0
      : parent < 0
        ? ROOT
        : parentWatch === ROOT && key === 'report'
          ? WRAPPED
          : 0;
  }

  #loneSurrogate(at: number): never {
    throw new IngestServerError(
      'VALIDATION_FAILED',
      `${this.#what} holds an escaped lone surrogate (\\ud800-\\udfff without its pair): not valid Unicode`,
      { status: 400, details: { offset: this.#scanned + at } },
    );
  }

  #fail(what: string, limit: keyof ContentLimits, at: number): never {
    throw new IngestServerError('VALIDATION_FAILED', `${this.#what} holds ${what} (a bound of this server)`, {
      status: 400,
      details: { limit, max: this.#limits[limit], offset: this.#scanned + at },
    });
  }
}

/** A captured member name as JSON.parse would read it (only escaped names need the parse). */
function decodeKey(bytes: number[]): string | undefined {
  const raw = String.fromCharCode(...bytes);
  if (!raw.includes('\\')) return raw;
  try {
    return JSON.parse(`"${raw}"`) as string;
  } catch {
    return undefined;
  }
}
