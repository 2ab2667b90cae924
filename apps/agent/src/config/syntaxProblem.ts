/** Line and column (1-based) of character offset `pos` in `text`. */
function lineColumn(text: string, pos: number): string {
  const before = text.slice(0, Math.max(0, Math.min(pos, text.length)));
  const line = before.split('\n').length;
  return `line ${line}, column ${pos - before.lastIndexOf('\n')}`;
}

/**
 * A parse error described without any of the file's text: the parser's wording up to the first quote or colon
 * (what is wrong, never what was there) and where it is.
 */
export function syntaxProblem(error: unknown, text: string, json: boolean): string {
  const message = error instanceof Error ? error.message : String(error);
  const firstLine = message.split('\n')[0] ?? '';
  const what =
    firstLine
      .replace(/ at line \d+, column \d+.*$/, '')
      .replace(/ in JSON.*$/, '')
      .split(/[:,'"`]/)[0]
      ?.trim() || 'syntax error';
  if (!json) {
    const e = error as { code?: unknown; linePos?: { line: number; col: number }[] };
    const at = e.linePos?.[0];
    const code = typeof e.code === 'string' ? ` (${e.code})` : '';
    return `${what}${code}${at === undefined ? '' : ` at line ${at.line}, column ${at.col}`}`;
  }
  const pos = /at position (\d+)/.exec(message);
  if (pos !== null) return `${what} at ${lineColumn(text, Number(pos[1]))}`;
  if (/end of JSON input/.test(message)) return `${what} (the file ends too early)`;
  const at = jsonErrorOffset(text);
  return at === undefined ? what : `${what} at ${lineColumn(text, at)}`;
}

/**
 * Where JSON.parse fails when its message has no position (Node 20's "Unexpected token" quotes the text
 * instead): the shortest prefix whose error is not "end of input" ends just after the bad character.
 */
function jsonErrorOffset(text: string): number | undefined {
  const broken = (length: number): boolean => {
    try {
      JSON.parse(text.slice(0, length));
      return false;
    } catch (e) {
      // A prefix cut inside valid text fails at its very end ("end of input", or "… at position <length>").
      const m = (e as Error).message;
      const at = /at position (\d+)/.exec(m);
      return at === null ? !/end of JSON input/.test(m) : Number(at[1]) < length;
    }
  };
  if (!broken(text.length)) return undefined;
  let lo = 0;
  let hi = text.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (broken(mid)) hi = mid;
    else lo = mid + 1;
  }
  return lo - 1;
}
