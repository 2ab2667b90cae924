import { join, resolve } from 'node:path';
import { appRoot } from '../paths';
import { DEFAULT_AGENT_CONFIG } from './defaults';
import { isPlainObject } from './layers';
import { didYouMean } from './suggestions';
import type { AgentConfig, ScannerConfig, ScannerKind } from './types';
import { SCANNER_KINDS } from './types';
import type { Validator } from './validator';

/** Splits a command line into argv (spaces separate; single/double quotes group; no shell). */
export function splitCommand(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quote: '"' | "'" | undefined;
  let started = false;
  for (const ch of line) {
    if (quote !== undefined) {
      if (ch === quote) quote = undefined;
      else cur += ch;
    } else if (ch === '"' || ch === "'") {
      quote = ch;
      started = true;
    } else if (/\s/.test(ch)) {
      if (started) out.push(cur);
      cur = '';
      started = false;
    } else {
      cur += ch;
      started = true;
    }
  }
  if (quote !== undefined) throw new Error(`unbalanced ${quote} quote`);
  if (started) out.push(cur);
  return out;
}

/** Built-in scanners. `code-patterns` is a small bundled SARIF scanner run through the generic adapter. */
export function builtinScanners(): Record<string, ScannerConfig> {
  return {
    secretlint: { name: 'secretlint', kind: 'secretlint', findingType: 'secret' },
    'code-patterns': {
      name: 'code-patterns',
      kind: 'sarif',
      command: [process.execPath, join(appRoot(), 'scanners', 'codePatterns.mjs'), '{target}'],
    },
    synthetic: { name: 'synthetic', kind: 'synthetic', findings: 6000, assets: 320 },
  };
}

/**
 * The scanner a job names: a configured or built-in scanner, or `synthetic:<findings>`. Jobs from the
 * platform can only name scanners; they never bring a command line of their own.
 */
export function resolveScanner(config: AgentConfig, name: string): ScannerConfig | undefined {
  const known = config.scannerDefs[name];
  if (known !== undefined) return known;
  const m = /^synthetic:(\d{1,7})$/.exec(name);
  if (m === null) return undefined;
  const findings = Number(m[1]);
  if (findings < 1) return undefined;
  return {
    name,
    kind: 'synthetic',
    findings,
    assets: Math.max(1, Math.ceil(findings / 18)),
    timeoutMs: config.scanTimeoutMs,
  };
}

/** One scanner entry (a command line or a mapping) at `path`; unnamed (`resolveScanners` names it). */
function validateScannerDef(v: Validator, raw: unknown, path: string, dflt: number): ScannerConfig {
  if (typeof raw === 'string') raw = { command: raw };
  if (!isPlainObject(raw)) v.fail(path, 'must be a command string or a mapping');
  const known = [
    'name',
    'kind',
    'command',
    'cwd',
    'timeoutMs',
    'maxOutputMB',
    'okExitCodes',
    'findingType',
    'findings',
    'assets',
  ];
  for (const k of Object.keys(raw)) {
    if (known.includes(k)) continue;
    v.fail(`${path}.${k}`, `is not a scanner option${didYouMean(k, known, false)}`);
  }
  if (raw.cwd !== undefined && (typeof raw.cwd !== 'string' || raw.cwd === ''))
    v.fail(`${path}.cwd`, 'must be a folder path (`{target}` allowed)');
  let command: string[] | undefined;
  if (typeof raw.command === 'string') {
    try {
      command = splitCommand(raw.command);
    } catch (e) {
      v.fail(`${path}.command`, (e as Error).message);
    }
  } else if (Array.isArray(raw.command) && raw.command.every((a) => typeof a === 'string')) {
    command = raw.command;
  } else if (raw.command !== undefined) {
    v.fail(`${path}.command`, 'must be a string or a list of strings');
  }
  const kind = raw.kind ?? (command === undefined ? undefined : 'sarif');
  if (!(SCANNER_KINDS as readonly unknown[]).includes(kind)) {
    v.fail(`${path}.kind`, `must be one of ${SCANNER_KINDS.join(', ')} (got ${JSON.stringify(kind)})`);
  }
  if (kind === 'sarif' && (command === undefined || command.length === 0))
    v.fail(`${path}.command`, 'is required');
  const posInt = (k: string): number | undefined => {
    const x = raw[k];
    if (x === undefined) return undefined;
    if (typeof x !== 'number' || !Number.isInteger(x) || x < 1)
      v.fail(`${path}.${k}`, 'must be a positive integer');
    return x;
  };
  const okExitCodes = raw.okExitCodes;
  if (
    okExitCodes !== undefined &&
    !(Array.isArray(okExitCodes) && okExitCodes.every((c) => Number.isInteger(c)))
  ) {
    v.fail(`${path}.okExitCodes`, 'must be a list of integers');
  }
  if (raw.findingType !== undefined && typeof raw.findingType !== 'string') {
    v.fail(`${path}.findingType`, 'must be a string');
  }
  const def: ScannerConfig = { name: '', kind: kind as ScannerKind, timeoutMs: posInt('timeoutMs') ?? dflt };
  if (command !== undefined) def.command = command;
  // Relative to where the agent runs; `{target}` stays a placeholder.
  if (typeof raw.cwd === 'string') def.cwd = raw.cwd.startsWith('{target}') ? raw.cwd : resolve(raw.cwd);
  const maxOutputMB = posInt('maxOutputMB');
  if (maxOutputMB !== undefined) def.maxOutputMB = maxOutputMB;
  if (okExitCodes !== undefined) def.okExitCodes = okExitCodes as number[];
  if (typeof raw.findingType === 'string') def.findingType = raw.findingType;
  const findings = posInt('findings');
  const assets = posInt('assets');
  if (findings !== undefined) def.findings = findings;
  if (assets !== undefined) def.assets = assets;
  return def;
}

// Launchers whose first real argument names the scanner (`npx eslint …` is `eslint`).
const LAUNCHERS = new Set([
  'npx',
  'pnpx',
  'bunx',
  'uvx',
  'pipx',
  'node',
  'python',
  'python3',
  'env',
  'sh',
  'bash',
  'exec',
  'npm',
  'pnpm',
  'yarn',
  'run',
  'dlx',
]);

/** A scanner name from its command: the program (past launchers like `npx`), without folders or extension. */
export function commandName(command: readonly string[] | undefined, i: number): string {
  for (const arg of command ?? []) {
    if (arg.startsWith('-') || /[{}=]/.test(arg)) continue;
    const base = arg
      .split(/[\\/]/)
      .pop()!
      .replace(/\.(?:c|m)?[jt]s$|\.py$|\.sh$|\.exe$/i, '');
    if (base === '' || LAUNCHERS.has(base.toLowerCase())) continue;
    const slug = base.replace(/[^A-Za-z0-9_.-]+/g, '-').replace(/^-+|-+$/g, '');
    if (slug !== '') return slug.slice(0, 48);
  }
  return `scanner${i}`;
}

function uniqueName(base: string, taken: (n: string) => boolean): string {
  if (!taken(base)) return base;
  for (let k = 2; ; k++) if (!taken(`${base}-${k}`)) return `${base}-${k}`;
}

/**
 * Resolves the scanner list: names of built-in or configured scanners, or inline command lines
 * (anything with a space or `{target}`), each becoming a generic SARIF scanner.
 */
export function resolveScanners(
  v: Validator,
  raw: unknown,
  defs: Record<string, ScannerConfig>,
  timeoutMs: number,
): string[] {
  const list = raw === undefined ? [...DEFAULT_AGENT_CONFIG.scanners] : raw;
  if (!Array.isArray(list) || list.length === 0) v.fail('scanners', 'must be a non-empty list');
  const names: string[] = [];
  list.forEach((item, i) => {
    const path = `scanners[${i}]`;
    if (typeof item === 'string' && !/\s|\{target\}/.test(item)) {
      const [base, arg] = item.split(':', 2) as [string, string | undefined];
      const def = defs[base];
      if (def === undefined) {
        v.fail(
          path,
          `names an unknown scanner ${JSON.stringify(base)} (known: ${Object.keys(defs).sort().join(', ')})`,
        );
      }
      if (arg !== undefined) {
        // `synthetic:6000` — a size for the load generator.
        const n = Number(arg);
        if (def.kind !== 'synthetic' || !Number.isInteger(n) || n < 1) {
          v.fail(path, 'only the synthetic scanner takes a size (synthetic:<findings>)');
        }
        defs[item] = { ...def, name: item, findings: n, assets: Math.max(1, Math.ceil(n / 18)) };
      }
      names.push(item);
      return;
    }
    const def = validateScannerDef(v, item, path, timeoutMs);
    const given =
      typeof item === 'object' && item !== null && typeof (item as { name?: unknown }).name === 'string'
        ? (item as { name: string }).name
        : undefined;
    if (given !== undefined && (names.includes(given) || defs[given] !== undefined)) {
      v.fail(`${path}.name`, `${JSON.stringify(given)} is already the name of another scanner`);
    }
    // Every entry is its own scanner: an inline command gets a name of its own, never another entry's.
    const name =
      given ?? uniqueName(commandName(def.command, i), (n) => names.includes(n) || defs[n] !== undefined);
    def.name = name;
    defs[name] = def;
    names.push(name);
  });
  return names;
}
