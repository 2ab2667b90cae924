/**
 * Secret masking for everything that leaves the host: snippets, messages, titles, and the text hashed into
 * fingerprints. Two sources: the secret values that the secret scanners of the same scan found (read from the
 * scanned files), and built-in patterns of well-known secret families (the families the built-in secretlint rules
 * know, plus the platform's own `rdv_` keys and a few common formats).
 */

/** Masks a secret: keeps at most the first 4 characters (never more than a quarter), stars the rest. */
export function maskSecret(value: string): string {
  const v = value.trim();
  if (v.length === 0) return '';
  const keep = Math.min(4, Math.floor(v.length / 4));
  return v.slice(0, keep) + '*'.repeat(Math.min(Math.max(v.length - keep, 4), 32));
}

interface Pattern {
  re: RegExp;
  /** Capture group holding the secret (0: the whole match). */
  group: number;
}

// Each pattern finds one secret family; `group` is the part replaced by its mask. Written for masking (a little
// wider than the detectors), so that a value a detector finds is always covered.
const PATTERNS: readonly Pattern[] = [
  { re: /\bgh[pousr]_[A-Za-z0-9_]{30,255}/g, group: 0 },
  { re: /\bgithub_pat_[A-Za-z0-9_]{22,255}/g, group: 0 },
  { re: /\b(?:xox[abposr]|xapp)-[A-Za-z0-9-]{8,255}/g, group: 0 },
  { re: /hooks\.slack\.com\/services\/([A-Za-z0-9/_-]{8,})/g, group: 1 },
  { re: /\b(?:A3T[A-Z0-9]|AKIA|ASIA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA)[A-Z0-9]{16}\b/g, group: 0 },
  {
    re: /aws.{0,24}?(?:secret|private).{0,24}?[=:>]+\s*["'`]?([A-Za-z0-9/+=]{40})(?![A-Za-z0-9/+=])/gi,
    group: 1,
  },
  { re: /\bnpm_[A-Za-z0-9]{36}/g, group: 0 },
  { re: /_authToken\s*=\s*([^\s"'`]{6,})/g, group: 1 },
  // Credentials in URLs: scheme://user:password@host (basic auth, database connection strings).
  { re: /\b[a-z][a-z0-9+.-]{1,20}:\/\/[^\s:/@"'`]{0,256}:([^\s@/"'`]{1,256})@/gi, group: 1 },
  { re: /\bSG\.[A-Za-z0-9_-]{16,128}\.[A-Za-z0-9_-]{16,128}/g, group: 0 },
  { re: /\bshp(?:at|ss|ca|pa)_[A-Za-z0-9]{32,64}/g, group: 0 },
  { re: /\bsk-(?:proj|svcacct|admin|ant)-[A-Za-z0-9_-]{20,}/g, group: 0 },
  { re: /\bsk-[A-Za-z0-9]{20}T3BlbkFJ[A-Za-z0-9]{20}/g, group: 0 },
  { re: /\blin_api_[A-Za-z0-9_]{32,128}/g, group: 0 },
  { re: /\bops_ey[A-Za-z0-9+/=]{60,}/g, group: 0 },
  { re: /\brdv_[A-Za-z0-9_-]{8,}/g, group: 0 },
  { re: /\bglpat-[A-Za-z0-9_-]{20,}/g, group: 0 },
  { re: /\b[rs]k_(?:live|test)_[A-Za-z0-9]{16,}/g, group: 0 },
  { re: /\bAIza[0-9A-Za-z_-]{35}/g, group: 0 },
  { re: /\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/g, group: 0 },
  { re: /\b(?:Bearer|Basic)\s+([A-Za-z0-9._~+/=-]{16,})/g, group: 1 },
  // A quoted value assigned to a secret-looking name: password = "…", "apiKey": "…".
  {
    re: /(?:pass(?:word|wd)?|pwd|secret|token|api[_-]?key|access[_-]?key|private[_-]?key|credential)[\w.-]*["']?\s*(?:=|:|=>|:=)\s*["'`]([^"'`\s]{6,})["'`]/gi,
    group: 1,
  },
  // A private key block written on one line (e.g. inside a JSON string with `\n` escapes).
  {
    re: /-----BEGIN[A-Z ]{0,40}PRIVATE KEY(?: BLOCK)?-----(.+?)(?=-----END|$)/g,
    group: 1,
  },
];

// Cheap pre-filter: a line that matches none of these cannot match a pattern above.
const HINT =
  /gh[pousr]_|github_pat_|xox|xapp-|hooks\.slack|A3T|AKIA|ASIA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA|aws|npm_|_authToken|:\/\/|SG\.|shp|sk-|T3BlbkFJ|lin_api_|ops_ey|rdv_|glpat-|k_live_|k_test_|AIza|eyJ|Bearer|Basic|pass|pwd|secret|token|key|credential|PRIVATE KEY/i;

const PEM_BEGIN = /-----BEGIN[A-Z ]{0,40}PRIVATE KEY(?: BLOCK)?-----/;
const PEM_END = /-----END[A-Z ]{0,40}PRIVATE KEY(?: BLOCK)?-----/;
// An 8192-bit RSA key in PEM is about 100 lines.
const MAX_KEY_LINES = 200;

/** Where a line of text comes from: a repository-relative path and a 1-based line. */
export interface TextPlace {
  path: string;
  line: number;
}

/** Options of `SecretMasker`. */
export interface SecretMaskerOptions {
  /** Most known values kept (beyond: counted in `dropped`, still masked by the patterns). Default 200,000. */
  maxKnown?: number;
  /** Shortest known value masked everywhere; shorter ones only at the place they were found. Default 8. */
  minGlobalLength?: number;
}

/** Stateful masker for consecutive lines of one text (tracks private key blocks across lines). */
export type LineMasker = (line: string, lineNo?: number) => string;

/**
 * Masks secrets in text. Known values (`addKnown`) are masked wherever they appear (values of at least
 * `minGlobalLength` characters) and always at the place they were found; the built-in patterns are masked
 * everywhere. A private key block is masked line by line from its BEGIN line to its END line.
 */
export class SecretMasker {
  readonly #maxKnown: number;
  readonly #minGlobal: number;
  /** Known values by their first 4 characters, longest first. */
  readonly #buckets = new Map<string, string[]>();
  /** Bit per hashed pair of first characters: a quick "cannot start a known value here". */
  readonly #pairs = new Uint8Array(8192);
  /** Known values by path and line. */
  readonly #placed = new Map<string, Map<number, string[]>>();
  #known = 0;
  #dropped = 0;
  #masked = 0;

  constructor(options: SecretMaskerOptions = {}) {
    this.#maxKnown = options.maxKnown ?? 200_000;
    this.#minGlobal = Math.max(4, options.minGlobalLength ?? 8);
  }

  /** Known values added. */
  get knownCount(): number {
    return this.#known;
  }

  /** Known values not kept (over `maxKnown`). */
  get dropped(): number {
    return this.#dropped;
  }

  /** Replacements made so far. */
  get maskedCount(): number {
    return this.#masked;
  }

  /** Adds a secret value found at `place` (multi-line values: each line, at its own line). */
  addKnown(value: string, place?: TextPlace): void {
    const lines = value.split(/\r\n|\r|\n/);
    lines.forEach((raw, i) => {
      const v = raw.trim();
      // The BEGIN/END lines of a key block are not secret (and the block's lines are masked anyway).
      if (v.length < 2 || PEM_BEGIN.test(v) || PEM_END.test(v)) return;
      if (this.#known >= this.#maxKnown) {
        this.#dropped++;
        return;
      }
      let added = false;
      if (place !== undefined) {
        let byLine = this.#placed.get(place.path);
        if (byLine === undefined) this.#placed.set(place.path, (byLine = new Map()));
        const at = place.line + i;
        const list = byLine.get(at) ?? [];
        if (!list.includes(v)) {
          list.push(v);
          list.sort((a, b) => b.length - a.length);
          byLine.set(at, list);
          added = true;
        }
      }
      if (v.length >= this.#minGlobal) {
        const key = v.slice(0, 4);
        const bucket = this.#buckets.get(key) ?? [];
        if (!bucket.includes(v)) {
          bucket.push(v);
          bucket.sort((a, b) => b.length - a.length);
          this.#buckets.set(key, bucket);
          const h = pairHash(v.charCodeAt(0), v.charCodeAt(1));
          this.#pairs[h >>> 3]! |= 1 << (h & 7);
          added = true;
        }
      }
      if (added) this.#known++;
    });
  }

  /** Whether secrets were found in the file at `path` (they are masked at their own lines). */
  hasPlaced(path: string): boolean {
    return this.#placed.has(path);
  }

  /** Masks one line (no private-key block state; see `lineMasker`). */
  maskLine(line: string, place?: TextPlace): string {
    let out = line;
    if (place !== undefined) {
      const vals = this.#placed.get(place.path)?.get(place.line);
      if (vals !== undefined) for (const v of vals) out = this.#replaceAll(out, v);
    }
    if (this.#buckets.size > 0) out = this.#maskKnown(out);
    if (HINT.test(out)) out = this.#maskPatterns(out);
    return out;
  }

  /** A masker for the consecutive lines of one text or file (private key blocks span lines). */
  lineMasker(path?: string): LineMasker {
    // Lines left in the private key block being masked (0: not in one). A block without an END line stops
    // after MAX_KEY_LINES so that a stray BEGIN cannot mask the rest of a file.
    let inKey = 0;
    return (line, lineNo) => {
      const place = path !== undefined && lineNo !== undefined ? { path, line: lineNo } : undefined;
      if (inKey > 0) {
        inKey--;
        if (PEM_END.test(line)) {
          inKey = 0;
          const end = line.search(PEM_END);
          return this.#maskWhole(line.slice(0, end)) + this.maskLine(line.slice(end), place);
        }
        return this.#maskWhole(line);
      }
      const begin = PEM_BEGIN.exec(line);
      if (begin !== null && !PEM_END.test(line.slice(begin.index))) {
        const rest = line.slice(begin.index + begin[0].length);
        if (rest.trim() === '' || !/[^A-Za-z0-9+/=\\\s"',]/.test(rest)) {
          inKey = MAX_KEY_LINES;
          return this.maskLine(line.slice(0, begin.index + begin[0].length), place) + this.#maskWhole(rest);
        }
      }
      return this.maskLine(line, place);
    };
  }

  /** Masks a text of one or more lines; `place` is where its first line is. */
  maskText(text: string, place?: TextPlace): string {
    if (text === '') return text;
    const m = this.lineMasker(place?.path);
    const parts = text.split(/(\r\n|\r|\n)/);
    let out = '';
    let line = place?.line;
    for (let i = 0; i < parts.length; i += 2) {
      out += m(parts[i]!, line);
      if (i + 1 < parts.length) out += parts[i + 1]!;
      if (line !== undefined) line++;
    }
    return out;
  }

  #maskWhole(s: string): string {
    if (s.trim() === '') return s;
    this.#masked++;
    return maskSecret(s);
  }

  #replaceAll(s: string, v: string): string {
    if (!s.includes(v)) return s;
    this.#masked++;
    return s.split(v).join(maskSecret(v));
  }

  #maskKnown(s: string): string {
    let out: string | undefined;
    let from = 0;
    const n = s.length;
    for (let i = 0; i + 1 < n; i++) {
      const h = pairHash(s.charCodeAt(i), s.charCodeAt(i + 1));
      if ((this.#pairs[h >>> 3]! & (1 << (h & 7))) === 0) continue;
      const bucket = this.#buckets.get(s.slice(i, i + 4));
      if (bucket === undefined) continue;
      const hit = bucket.find((v) => s.startsWith(v, i));
      if (hit === undefined) continue;
      out = (out ?? '') + s.slice(from, i) + maskSecret(hit);
      this.#masked++;
      i += hit.length - 1;
      from = i + 1;
    }
    return out === undefined ? s : out + s.slice(from);
  }

  #maskPatterns(s: string): string {
    let out = s;
    for (const { re, group } of PATTERNS) {
      re.lastIndex = 0;
      if (!re.test(out)) continue;
      re.lastIndex = 0;
      out = out.replace(re, (...args: unknown[]) => {
        const match = args[0] as string;
        const value = group === 0 ? match : (args[group] as string | undefined);
        if (value === undefined || value === '' || /^\*+$/.test(value.slice(4))) return match;
        this.#masked++;
        const at = group === 0 ? 0 : match.lastIndexOf(value);
        return match.slice(0, at) + maskSecret(value) + match.slice(at + value.length);
      });
    }
    return out;
  }
}

function pairHash(a: number, b: number): number {
  return ((a * 31) ^ b) & 0xffff;
}
