// What the pack-and-use check reads in a package README, as pure functions over its text (tested in
// readme.test.ts). A README's quick starts are the code blocks marked with an HTML comment on the line (or
// lines, blank ones allowed) before the fence, invisible on npm and GitHub and kept by formatters:
//
//   <!-- quick-start -->
//   ```ts
//   import { ... } from '@rediver/x';
//   ```
//
// A quick start is written once and must be, as written, a valid ES module for plain `node` (so no type
// annotations: TypeScript infers them from the packages' signatures) and a program `tsc --strict` accepts.
import { builtinModules } from 'node:module';
import ts from 'typescript';

/** The marker before a quick-start code block. */
export const QUICK_START_MARKER = '<!-- quick-start -->';

/** One marked code block. */
export interface QuickStart {
  /** 1-based position among the README's quick starts. */
  readonly index: number;
  /** 1-based line of the opening fence. */
  readonly line: number;
  /** The fence's language (`ts`, `js`...). */
  readonly lang: string;
  readonly code: string;
}

/** The marked code blocks, in order. A marker not followed by a fence is reported by `readmeProblems`. */
export function extractQuickStarts(markdown: string): QuickStart[] {
  const lines = markdown.split('\n');
  const found: QuickStart[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (lines[i]?.trim() !== QUICK_START_MARKER) continue;
    let j = i + 1;
    while (j < lines.length && lines[j]?.trim() === '') j++;
    const fence = /^(`{3,})(\w*)\s*$/.exec(lines[j] ?? '');
    if (fence === null) continue;
    const close = lines.findIndex((l, k) => k > j && l.trimEnd() === fence[1]);
    if (close < 0) continue;
    found.push({
      index: found.length + 1,
      line: j + 1,
      lang: fence[2] ?? '',
      code: `${lines.slice(j + 1, close).join('\n')}\n`,
    });
    i = close;
  }
  return found;
}

/** The packages the README's install line adds (`pnpm add a b`, `npm install a b`, `yarn add a b`). */
export function installedPackages(markdown: string): string[] | undefined {
  const match = /^\s*(?:pnpm add|npm (?:install|i)|yarn add)\s+([^\n#]+)$/m.exec(markdown);
  if (match === null) return undefined;
  return (match[1] ?? '')
    .trim()
    .split(/\s+/)
    .filter((word) => !word.startsWith('-'));
}

/** The bare package names a module imports (`node:` and built-in modules left out). */
export function importedPackages(code: string): string[] {
  const names = new Set<string>();
  const info = ts.preProcessFile(code, true, true);
  for (const { fileName } of info.importedFiles) {
    if (fileName.startsWith('.') || fileName.startsWith('/') || fileName.startsWith('node:')) continue;
    if (builtinModules.includes(fileName.split('/')[0] ?? '')) continue;
    const parts = fileName.split('/');
    names.add(fileName.startsWith('@') ? parts.slice(0, 2).join('/') : (parts[0] ?? fileName));
  }
  return [...names].sort();
}

/**
 * The same program as CommonJS, as a user would write it with `require`: imports become `require` calls
 * (TypeScript's own transform) and the body runs in an async function, since CommonJS has no top-level
 * `await`; an error it throws fails the process like an uncaught one in an ES module.
 */
export function toCommonJs(code: string): string {
  const out = ts.transpileModule(code, {
    compilerOptions: {
      module: ts.ModuleKind.CommonJS,
      target: ts.ScriptTarget.ES2022,
      esModuleInterop: true,
    },
    reportDiagnostics: false,
  }).outputText;
  return [
    '(async () => {',
    out,
    '})().catch((err) => {',
    '  console.error(err);',
    '  process.exit(1);',
    '});',
    '',
  ].join('\n');
}

/** What npm users must not be sent to: places and commands that exist only in a clone of the repository. */
const MONOREPO_ONLY: readonly { pattern: RegExp; why: string }[] = [
  { pattern: /\bpnpm (?:--filter|-F)\b|\bpnpm nx\b|\bnx run(?:-many)?\b/, why: 'a workspace command' },
  { pattern: /(?<![\w/.-])apps\/[\w-]+/, why: 'a path to one of the repository apps' },
  { pattern: /(?<![\w/.-])(?:\.\/)?src\/[\w/.-]+/, why: 'a path into src/, which is not published' },
  { pattern: /(?<![\w/.-])packages\/[\w-]+/, why: 'a repository path' },
  { pattern: /\[[^\]]*\]\((?!https?:|#|mailto:)[^)\s]+\)/, why: 'a relative link, which npm cannot follow' },
];

/** One finding in a README. */
export interface ReadmeProblem {
  readonly line: number;
  readonly problem: string;
}

/**
 * What is wrong with a package README as an npm user reads it: monorepo-only paths and commands (URLs are
 * fine: they say where the thing lives), markers without a code block, no quick start, quick starts that
 * need a package the install line does not add, or `using` declarations (a syntax error on Node 20).
 */
export function readmeProblems(markdown: string, packageName: string): ReadmeProblem[] {
  const problems: ReadmeProblem[] = [];
  const lines = markdown.split('\n');
  lines.forEach((text, i) => {
    const withoutUrls = text.replace(/https?:\/\/\S+/g, '');
    for (const { pattern, why } of MONOREPO_ONLY) {
      const hit = pattern.exec(withoutUrls);
      if (hit !== null) problems.push({ line: i + 1, problem: `${why}: ${hit[0]}` });
    }
  });
  const quickStarts = extractQuickStarts(markdown);
  const markers = lines.filter((l) => l.trim() === QUICK_START_MARKER).length;
  if (markers > quickStarts.length) {
    problems.push({
      line: 0,
      problem: `${markers - quickStarts.length} ${QUICK_START_MARKER} marker(s) without a code block`,
    });
  }
  if (quickStarts.length === 0) {
    problems.push({
      line: 0,
      problem: `no quick start: mark one with ${QUICK_START_MARKER} before its code block`,
    });
  }
  const installed = installedPackages(markdown);
  if (installed === undefined)
    problems.push({ line: 0, problem: 'no install line (pnpm add / npm install)' });
  else if (!installed.includes(packageName)) {
    problems.push({ line: 0, problem: `the install line does not add ${packageName}` });
  }
  for (const qs of quickStarts) {
    for (const name of importedPackages(qs.code)) {
      if (installed !== undefined && !installed.includes(name)) {
        problems.push({
          line: qs.line,
          problem: `quick start ${qs.index} imports ${name}, which the install line does not add`,
        });
      }
    }
    if (/^\s*(?:await\s+)?using\s+[\w{[]/m.test(qs.code)) {
      problems.push({
        line: qs.line,
        problem: `quick start ${qs.index} uses \`using\`, a syntax error on Node 20`,
      });
    }
  }
  return problems;
}
