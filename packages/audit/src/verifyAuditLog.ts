import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { AuditError } from './auditError';
import { chainHash, GENESIS_HASH, parseChainedLine } from './internal/hashChain';
import { listRotated, logFamily, readLogText } from './internal/logFiles';

/** What is wrong with a line. */
export type AuditVerifyProblemKind =
  /** The line's content (or hash) does not match its hash chain. */
  | 'edited'
  /** Lines are missing before this one (a gap in `seq`). */
  | 'missing'
  /** The line is out of order (its `seq` comes later, or came before). */
  | 'reordered'
  /** The last line is incomplete (no newline: a write was cut). */
  | 'torn'
  /** The line is not JSON. */
  | 'malformed'
  /** The line has no `seq`/`hash` (written without the hash chain, or inserted). */
  | 'unchained';

/** The first problem found. */
export interface AuditVerifyProblem {
  kind: AuditVerifyProblemKind;
  /** File holding the line. */
  file: string;
  /** 1-based line number in that file. */
  line: number;
  /** The line's `seq`, when readable. */
  seq?: number;
  /** The `seq` the chain expected there. */
  expectedSeq?: number;
  /** Human-readable explanation. */
  message: string;
}

/** Result of `verifyAuditLog`. */
export interface AuditVerifyResult {
  /** True when every line of every file is intact and in order. */
  ok: boolean;
  /** Files checked, oldest first (rotated files, then the active file). */
  files: string[];
  /** Lines checked and found intact. */
  lines: number;
  /** `seq` of the first line (a value above 1 means older files were deleted, e.g. by retention). */
  firstSeq?: number;
  /** `seq` of the last intact line. */
  lastSeq?: number;
  /** `hash` of the last intact line: keep it elsewhere to detect a rewritten tail later. */
  lastHash?: string;
  /** The first problem, when not ok. */
  problem?: AuditVerifyProblem;
}

/** Options of `verifyAuditLog`. */
export interface AuditVerifyOptions {
  /** Name of the active file when `path` is a folder. */
  fileName?: string;
}

interface Parsed {
  seq: number;
  hash: string;
  canonical: string;
}

function classify(line: string): Parsed | { kind: AuditVerifyProblemKind; message: string } {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return { kind: 'malformed', message: 'the line is not valid JSON' };
  }
  const parts = parseChainedLine(line);
  if (parts) return parts;
  const o = value as Record<string, unknown> | null;
  if (o && typeof o === 'object' && ('hash' in o || 'seq' in o)) {
    return { kind: 'edited', message: 'the seq/hash members were altered' };
  }
  return { kind: 'unchained', message: 'the line has no seq/hash (written without hashChain, or inserted)' };
}

/**
 * Verifies the hash chain of an audit log: `path` is the log's folder (active file `options.fileName`, default
 * `audit.log`) or the active file. Reads rotated files (plain or gzipped) oldest first, then the active file, and
 * reports the first edited, missing, reordered, torn, malformed or unchained line, or that the chain is intact.
 */
export async function verifyAuditLog(
  path: string,
  options: AuditVerifyOptions = {},
): Promise<AuditVerifyResult> {
  let active = path;
  const info = await stat(path).catch(() => undefined);
  if (info?.isDirectory()) active = join(path, options.fileName ?? 'audit.log');
  const family = logFamily(active);
  const files = (await listRotated(family)).map((f) => f.path);
  const activeExists = await stat(active).then(
    (s) => s.isFile(),
    () => false,
  );
  if (activeExists) files.push(active);
  if (files.length === 0) {
    throw new AuditError('NOT_FOUND', `no audit log files for ${active}`, { details: { path: active } });
  }
  const result: AuditVerifyResult = { ok: true, files, lines: 0 };
  let prev: Parsed | undefined;
  const fail = (problem: AuditVerifyProblem): AuditVerifyResult => {
    result.ok = false;
    result.problem = problem;
    return result;
  };
  for (const file of files) {
    const pieces = (await readLogText(file)).split('\n');
    for (let i = 0; i < pieces.length; i++) {
      const text = pieces[i]!;
      const lineNo = i + 1;
      if (i === pieces.length - 1) {
        if (text === '') break;
        return fail({
          kind: 'torn',
          file,
          line: lineNo,
          message: 'the last line is incomplete (no newline)',
        });
      }
      const parsed = classify(text);
      if ('kind' in parsed) return fail({ ...parsed, file, line: lineNo });
      const { seq } = parsed;
      if (prev === undefined) {
        result.firstSeq = seq;
        if (seq === 1 && chainHash(GENESIS_HASH, parsed.canonical) !== parsed.hash) {
          return fail({
            kind: 'edited',
            file,
            line: lineNo,
            seq,
            message: 'content does not match its hash',
          });
        }
      } else {
        const expectedSeq = prev.seq + 1;
        if (seq === expectedSeq) {
          if (chainHash(prev.hash, parsed.canonical) !== parsed.hash) {
            const message = 'content does not match its hash (this line or its hash was changed)';
            return fail({ kind: 'edited', file, line: lineNo, seq, expectedSeq, message });
          }
        } else if (seq > expectedSeq) {
          const later = pieces.slice(i + 1).some((p) => parseChainedLine(p)?.seq === expectedSeq);
          const kind = later ? 'reordered' : 'missing';
          const message = later
            ? `seq ${seq} comes before seq ${expectedSeq}`
            : `seq ${expectedSeq}..${seq - 1} missing`;
          return fail({ kind, file, line: lineNo, seq, expectedSeq, message });
        } else {
          const message = `seq ${seq} after seq ${prev.seq}`;
          return fail({ kind: 'reordered', file, line: lineNo, seq, expectedSeq, message });
        }
      }
      prev = parsed;
      result.lines++;
      result.lastSeq = seq;
      result.lastHash = parsed.hash;
    }
  }
  return result;
}
