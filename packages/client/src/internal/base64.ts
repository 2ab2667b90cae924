/**
 * True when `text` is padded base64 (standard, or the URL-safe alphabet Node also reads): non-empty, a multiple of
 * 4 long, only alphabet characters with at most two `=` at the end. Runs at memory speed: Node's decoder skips any
 * character outside the alphabet (and stops at an early `=`), so the decoded length comes out short exactly when the
 * text is not clean base64 — no per-character JavaScript loop or regex over up to 10 MiB.
 */
export function isBase64(text: string): boolean {
  const n = text.length;
  if (n === 0 || n % 4 !== 0) return false;
  // Non-ASCII first: Node's decoder must never see a character it could misread as an alphabet byte.
  if (Buffer.byteLength(text) !== n) return false;
  const pad = text.endsWith('==') ? 2 : text.endsWith('=') ? 1 : 0;
  return Buffer.from(text, 'base64').length === (n / 4) * 3 - pad;
}
