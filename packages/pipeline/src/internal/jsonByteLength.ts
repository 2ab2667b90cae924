/** Thrown inside the walk when a value needs `JSON.stringify`'s full semantics (one shared instance). */
const UNUSUAL = new Error('value needs JSON.stringify');

/** Deeper than this the walk hands over to `JSON.stringify` (which also detects cycles). */
const MAX_DEPTH = 200;

/**
 * Byte length of `JSON.stringify(value)` in UTF-8, computed without building the string: the
 * pipeline measures every report on `submit`, and serialising it just to count would cost more than
 * the rest of `submit` and leave the whole string as garbage. Plain JSON data (objects, arrays,
 * strings, finite numbers, booleans, null) is walked; anything else (`toJSON`, class instances,
 * bigint, very deep or cyclic data) falls back to `JSON.stringify`, which also throws where it would.
 * Returns 0 for a value `JSON.stringify` turns into `undefined`.
 */
export function jsonByteLength(value: unknown): number {
  try {
    return Math.max(0, valueLength(value, 0));
  } catch (err) {
    if (err !== UNUSUAL) throw err;
    const json = JSON.stringify(value) as string | undefined;
    return json === undefined ? 0 : Buffer.byteLength(json, 'utf8');
  }
}

/** Length of a value that sits in an object or at the top: -1 when JSON omits it. */
function valueLength(value: unknown, depth: number): number {
  switch (typeof value) {
    case 'string':
      return stringLength(value);
    case 'number':
      return Number.isFinite(value) ? numberLength(value) : 4; // NaN/Infinity → null
    case 'boolean':
      return value ? 4 : 5;
    case 'undefined':
    case 'function':
    case 'symbol':
      return -1;
    case 'object':
      if (value === null) return 4;
      if (depth >= MAX_DEPTH) throw UNUSUAL;
      if (Array.isArray(value)) return arrayLength(value, depth + 1);
      return objectLength(value as Record<string, unknown>, depth + 1);
    default:
      throw UNUSUAL; // bigint
  }
}

function arrayLength(array: unknown[], depth: number): number {
  if (Object.getPrototypeOf(array) !== Array.prototype) throw UNUSUAL;
  if (typeof (array as { toJSON?: unknown }).toJSON === 'function') throw UNUSUAL;
  const n = array.length;
  let len = 2 + (n > 0 ? n - 1 : 0); // brackets and commas
  for (let i = 0; i < n; i++) {
    const v = valueLength(array[i], depth);
    len += v < 0 ? 4 : v; // omitted values become null in arrays
  }
  return len;
}

function objectLength(obj: Record<string, unknown>, depth: number): number {
  const proto = Object.getPrototypeOf(obj) as unknown;
  if (proto !== Object.prototype && proto !== null) throw UNUSUAL; // Date, Map, class instances, boxed values
  if (typeof obj.toJSON === 'function') throw UNUSUAL;
  let len = 2;
  let members = 0;
  for (const key in obj) {
    if (!Object.prototype.hasOwnProperty.call(obj, key)) continue;
    const v = valueLength(obj[key], depth);
    if (v < 0) continue;
    len += stringLength(key) + 1 + v; // "key":value
    members++;
  }
  return members > 1 ? len + members - 1 : len;
}

function numberLength(n: number): number {
  if (Number.isInteger(n) && n > -1e15 && n < 1e15) {
    if (n === 0) return 1; // also -0, which JSON writes as 0
    let len = n < 0 ? 1 : 0;
    let a = Math.abs(n);
    while (a >= 1) {
      len++;
      a = Math.floor(a / 10);
    }
    return len;
  }
  return String(n).length;
}

/** UTF-8 length of a JSON string literal, quotes and escapes included. */
function stringLength(s: string): number {
  let len = 2;
  const n = s.length;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) {
      if (c >= 0x20) len += c === 0x22 || c === 0x5c ? 2 : 1;
      else len += c === 0x08 || c === 0x09 || c === 0x0a || c === 0x0c || c === 0x0d ? 2 : 6;
    } else if (c < 0x800) {
      len += 2;
    } else if (c >= 0xd800 && c <= 0xdbff) {
      const next = i + 1 < n ? s.charCodeAt(i + 1) : 0;
      if (next >= 0xdc00 && next <= 0xdfff) {
        len += 4;
        i++;
      } else {
        len += 6; // lone high surrogate → \udXXX
      }
    } else if (c >= 0xdc00 && c <= 0xdfff) {
      len += 6; // lone low surrogate
    } else {
      len += 3;
    }
  }
  return len;
}
