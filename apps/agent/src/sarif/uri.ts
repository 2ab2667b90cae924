/**
 * Artifact locations to repository-relative paths, as SARIF 2.1.0 §3.10 (URI-valued properties), §3.4
 * (artifactLocation: `uri`, `uriBaseId`, `index`) and §3.14.14 (`originalUriBaseIds`) and RFC 3986 say:
 *
 * - a URI with a scheme is a real URI: `file:` URIs are percent-decoded into a path (`%25` → `%`, `%23` → `#`);
 *   other schemes (https, …) are not files and are kept as they are;
 * - a URI without a scheme is a relative reference, resolved against its `uriBaseId` (looked up, recursively, in
 *   `originalUriBaseIds`), or, when the base is unknown, against the scanned folder and then the scanner's working
 *   directory. Many tools write raw paths there (secretlint: `src/key%41.js`), so the raw path is used when it
 *   names an existing file; the percent-decoded path only when the raw one does not exist and the decoded one
 *   does. A literal `%` or `#` in a raw path is therefore kept;
 * - every path is made relative to the repository root (the git root when the target is inside a repository),
 *   with `/` separators; never absolute. A file outside the root keeps a `../` path.
 */
import { statSync } from 'node:fs';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import type { SarifArtifact, SarifArtifactLocation } from './types';

/** Where paths are resolved from. */
export interface PathContext {
  /** The repository root (absolute): every path is made relative to it. */
  root: string;
  /** The scanned folder (absolute). */
  target: string;
  /** The scanner's working directory (absolute). */
  cwd: string;
}

/** A resolved artifact location. */
export interface ResolvedPath {
  /** Repository-relative path with `/` separators, or a non-file URI as it was written. */
  path: string;
  /** Absolute file path, when the location is a local file. */
  abs?: string;
  /** True when the file is outside the repository root. */
  outside?: boolean;
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });
const SCHEME = /^[A-Za-z][A-Za-z0-9+.-]*:/;
const WINDOWS_DRIVE = /^[A-Za-z]:[\\/]/;

/** Percent-decodes UTF-8 `%XX` sequences; malformed ones stay as they are (never throws). */
export function percentDecode(s: string): string {
  if (!s.includes('%')) return s;
  return s.replace(/(?:%[0-9A-Fa-f]{2})+/g, (run) => {
    try {
      return UTF8.decode(Buffer.from(run.replace(/%/g, ''), 'hex'));
    } catch {
      // Not UTF-8: keep the escapes rather than inventing U+FFFD characters.
      return run;
    }
  });
}

/** A `file:` URI as an absolute path, or undefined when it is not a local file URI. */
function fileUriToPath(uri: string): string | undefined {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    return undefined;
  }
  if (url.protocol !== 'file:') return undefined;
  if (url.hostname !== '' && url.hostname !== 'localhost') return undefined;
  return percentDecode(url.pathname);
}

/** Resolves artifact locations of one run; caches existence checks. */
export class PathResolver {
  readonly #ctx: PathContext;
  readonly #exists = new Map<string, boolean>();

  constructor(ctx: PathContext) {
    this.#ctx = {
      root: resolve(ctx.root),
      target: resolve(ctx.target),
      cwd: resolve(ctx.cwd),
    };
  }

  /** The context paths (absolute). */
  get context(): PathContext {
    return this.#ctx;
  }

  #isFile(abs: string): boolean {
    let v = this.#exists.get(abs);
    if (v === undefined) {
      try {
        v = statSync(abs).isFile();
      } catch {
        v = false;
      }
      if (this.#exists.size > 100_000) this.#exists.clear();
      this.#exists.set(abs, v);
    }
    return v;
  }

  /** The base folder of a `uriBaseId` (absolute), or undefined when the run does not define it. */
  #base(id: string, bases: Readonly<Record<string, SarifArtifactLocation>>, depth = 0): string | undefined {
    if (depth > 8 || !Object.hasOwn(bases, id)) return undefined;
    const b = bases[id];
    const uri = typeof b?.uri === 'string' ? b.uri : undefined;
    if (uri === undefined) {
      // A base without a URI is defined by the tool's user: the scanned folder is the best guess.
      return undefined;
    }
    if (SCHEME.test(uri) && !WINDOWS_DRIVE.test(uri)) return fileUriToPath(uri);
    if (isAbsolute(uri)) return percentDecode(uri);
    const parent = typeof b?.uriBaseId === 'string' ? this.#base(b.uriBaseId, bases, depth + 1) : undefined;
    return parent === undefined ? undefined : resolve(parent, percentDecode(uri));
  }

  /**
   * Resolves an artifact location of a result. `artifacts` is the run's `artifacts` (for `index`), `bases` its
   * `originalUriBaseIds`. Returns undefined when there is no usable URI.
   */
  resolve(
    location: SarifArtifactLocation | undefined,
    bases: Readonly<Record<string, SarifArtifactLocation>>,
    artifacts: readonly (SarifArtifact | undefined)[],
  ): ResolvedPath | undefined {
    let loc = location;
    if (loc === undefined) return undefined;
    if (typeof loc.uri !== 'string' && typeof loc.index === 'number') {
      const a = artifacts[loc.index]?.location;
      if (a !== undefined) loc = { ...a, uriBaseId: a.uriBaseId ?? loc.uriBaseId };
    }
    const uri = loc.uri;
    if (typeof uri !== 'string' || uri === '') return undefined;
    if (SCHEME.test(uri) && !WINDOWS_DRIVE.test(uri)) {
      const p = fileUriToPath(uri);
      return p === undefined ? { path: uri, outside: true } : this.#relative(p);
    }
    const raw = uri.replace(/\\/g, '/');
    // As a URI reference: drop the query and fragment, then decode.
    const decoded = percentDecode(raw.replace(/[?#].*$/, ''));
    if (isAbsolute(raw)) {
      const abs = !this.#isFile(raw) && this.#isFile(decoded) ? decoded : raw;
      return this.#relative(abs);
    }
    const known = typeof loc.uriBaseId === 'string' ? this.#base(loc.uriBaseId, bases) : undefined;
    const dirs = known !== undefined ? [known] : [this.#ctx.target, this.#ctx.cwd];
    for (const dir of dirs) {
      const a = resolve(dir, raw);
      if (this.#isFile(a)) return this.#relative(a);
      if (decoded !== raw) {
        const d = resolve(dir, decoded);
        if (this.#isFile(d)) return this.#relative(d);
      }
    }
    return this.#relative(resolve(dirs[0]!, raw));
  }

  #relative(abs: string): ResolvedPath {
    const rel = relative(this.#ctx.root, abs);
    const path = rel === '' ? '.' : rel.split(sep).join('/');
    const outside = rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel);
    return outside ? { path, abs, outside } : { path, abs };
  }
}
