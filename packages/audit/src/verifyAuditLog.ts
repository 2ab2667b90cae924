import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { AuditError } from './auditError';
import type { AuditCheckpoint } from './events';
import { chainHash, GENESIS_HASH, parseChainedLine } from './internal/hashChain';
import type { ChainedLineParts } from './internal/hashChain';
import { listRotated, logFamily, readLogText } from './internal/logFiles';
import { expandPath, refuseUnknownOptions } from './internal/resolveOptions';
import { KeySchedule, keyFromSecret, parseVerificationKey, sealMac } from './internal/sealKey';

/** What is wrong with a line. */
export type AuditVerifyProblemKind =
  /** The line's content (or hash) does not match its hash chain. */
  | 'edited'
  /** Lines are missing before this one (a gap in `seq`, or the oldest files deleted without a retention record). */
  | 'missing'
  /** The line is out of order (its `seq` comes later, or came before). */
  | 'reordered'
  /** The last line is incomplete (no newline: a write was cut). */
  | 'torn'
  /** The line is not JSON. */
  | 'malformed'
  /** The line has no `seq`/`hash` (written without the hash chain, or inserted). */
  | 'unchained'
  /** The newest lines are gone: the log ends before a checkpoint, or the active file is missing after a rotation. */
  | 'truncated'
  /** A seal does not verify with the key, or seals were removed or replaced: lines were rewritten or forged. */
  | 'forged'
  /** With a key: lines after the last seal (appended by someone without the key, or cut off by a power loss). */
  | 'unsealed'
  /** A checkpoint's hash differs from the line at its `seq`: the log was rewritten and re-chained since. */
  | 'rewritten';

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
  /** True when every line of every file is intact and in order (and sealed and checkpointed, as far as checked). */
  ok: boolean;
  /** Files checked, oldest first (rotated files, then the active file). */
  files: string[];
  /** Lines checked and found intact. */
  lines: number;
  /** `seq` of the first line (a value above 1 means older files were removed, by retention when recorded). */
  firstSeq?: number;
  /** `seq` of the last intact line. */
  lastSeq?: number;
  /** `hash` of the last intact line. */
  lastHash?: string;
  /** Sealed lines seen (each batch's last line is sealed when the log is sealed). */
  seals: number;
  /** `seq` of the last sealed line. */
  lastSealedSeq?: number;
  /** Whether the seals were checked with a verification key. */
  keyChecked: boolean;
  /** Checkpoints found in the log with their hash. */
  checkpointsChecked: number;
  /** Checkpoints older than the first line (removed by retention) that no record could confirm. */
  checkpointsSkipped: number;
  /** What this result proves and what it does not, in plain words. */
  guarantees: string[];
  /** The first problem, when not ok. */
  problem?: AuditVerifyProblem;
}

/** Options of `verifyAuditLog`. */
export interface AuditVerifyOptions {
  /** Name of the active file when `path` is a folder (default `audit.log`). */
  fileName?: string;
  /** Verification keys (`audit-key-v1:<id>:<hex>`, shown once when the key was created): every seal is checked. */
  keys?: readonly string[];
  /** Operator secrets a key was derived from (`sealSecret`): as good as the key itself. */
  secrets?: readonly string[];
  /** Checkpoints kept off the host (`{ seq, hash }` or `"seq:hash"`): truncation and rewriting up to them is caught. */
  checkpoints?: readonly (AuditCheckpoint | string)[];
}

const VERIFY_OPTION_KEYS = ['fileName', 'keys', 'secrets', 'checkpoints'] as const;
/** Characters of log text kept in memory between the two passes. */
const KEEP_TEXT_BUDGET = 64 * 1024 * 1024;
const REMOVED_TYPE = '"type":"audit_removed"';
const RECORD_PREFIX = '"type":"audit_';

/**
 * The type of a line the logger wrote about the log itself (`audit_rotated`, `audit_removed`, `audit_key`), read
 * from the line's own `type` member — the second, right after the timestamp — never from text a caller logged in
 * `details` (which could otherwise forge a record).
 */
function recordType(line: string): string | undefined {
  if (!line.startsWith('{"timestamp":"')) return undefined;
  const end = line.indexOf('"', 14);
  if (end < 0 || !line.startsWith(',' + RECORD_PREFIX, end + 1)) return undefined;
  const start = end + 2 + RECORD_PREFIX.length - 'audit_'.length;
  const close = line.indexOf('"', start);
  return close < 0 ? undefined : line.slice(start, close);
}

/** `"seq:hash"`: the form `--checkpoint` takes. */
export function formatCheckpoint(cp: Pick<AuditCheckpoint, 'seq' | 'hash'>): string {
  return `${cp.seq}:${cp.hash}`;
}

function checkpointFrom(value: unknown): AuditCheckpoint | undefined {
  if (typeof value === 'string') {
    const m = /^\s*(\d{1,15}):([0-9a-f]{64})(?::(\d{1,15}))?\s*$/.exec(value);
    if (!m) return undefined;
    const cp: AuditCheckpoint = { seq: Number(m[1]), hash: m[2]! };
    if (m[3] !== undefined) cp.epoch = Number(m[3]);
    return cp;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const o = value as Record<string, unknown>;
  if (typeof o.seq === 'number' && typeof o.hash === 'string' && /^[0-9a-f]{64}$/.test(o.hash)) {
    return { seq: o.seq, hash: o.hash };
  }
  // A checkpoint line of the remote endpoint, or a heartbeat's properties.
  const nested =
    o.details ??
    o.audit_checkpoint ??
    (o.properties as Record<string, unknown> | undefined)?.audit_checkpoint;
  return nested === undefined ? undefined : checkpointFrom(nested);
}

/**
 * Parses checkpoints from text: one per line as `seq:hash`, or JSON (a checkpoint object, a remote
 * `audit_checkpoint` line, a heartbeat body with `properties.audit_checkpoint`, or an array of these). Lines
 * that hold none are ignored.
 */
export function parseCheckpoints(text: string): AuditCheckpoint[] {
  const out: AuditCheckpoint[] = [];
  const add = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(add);
    else {
      const cp = checkpointFrom(v);
      if (cp) out.push(cp);
    }
  };
  const trimmed = text.trim();
  if (trimmed.startsWith('[')) {
    try {
      add(JSON.parse(trimmed));
      return out;
    } catch {
      // not one JSON array: line by line
    }
  }
  for (const line of text.split('\n')) {
    const t = line.trim();
    if (t === '') continue;
    if (t.startsWith('{') || t.startsWith('[')) {
      try {
        add(JSON.parse(t));
      } catch {
        // not JSON
      }
    } else add(t);
  }
  return out;
}

interface Removal {
  lastSeq: number;
  lastHash: string;
  epoch?: number;
  keyId?: string;
}

function classify(line: string): ChainedLineParts | { kind: AuditVerifyProblemKind; message: string } {
  // The chain covers the exact bytes the logger wrote (always JSON), so a chained line needs no JSON parse: an
  // edit that breaks the JSON breaks the hash too. Only lines that are not chained are parsed, to say why.
  const parts = line.charCodeAt(0) === 123 ? parseChainedLine(line) : undefined;
  if (parts) return parts;
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return { kind: 'malformed', message: 'the line is not valid JSON' };
  }
  const o = value as Record<string, unknown> | null;
  if (o && typeof o === 'object' && ('hash' in o || 'seq' in o || 'seal' in o)) {
    return { kind: 'edited', message: 'the seq/hash/seal members were altered' };
  }
  return { kind: 'unchained', message: 'the line has no seq/hash (written without hashChain, or inserted)' };
}

function detailsOf(line: string): Record<string, unknown> | undefined {
  try {
    const d = (JSON.parse(line) as { details?: unknown }).details;
    return typeof d === 'object' && d !== null ? (d as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** Retention records of the whole log (they anchor its first line and first seal), read before the main pass. */
function scanRemovals(text: string, into: Removal[]): void {
  let at = text.indexOf(REMOVED_TYPE);
  while (at >= 0) {
    const start = text.lastIndexOf('\n', at) + 1;
    const nl = text.indexOf('\n', at);
    const line = text.slice(start, nl < 0 ? text.length : nl);
    const d = recordType(line) === 'audit_removed' ? detailsOf(line) : undefined;
    if (d && typeof d.last_seq === 'number' && typeof d.last_hash === 'string') {
      const r: Removal = { lastSeq: d.last_seq, lastHash: d.last_hash };
      if (typeof d.epoch === 'number') r.epoch = d.epoch;
      if (typeof d.key_id === 'string') r.keyId = d.key_id;
      into.push(r);
    }
    at = nl < 0 ? -1 : text.indexOf(REMOVED_TYPE, nl);
  }
}

/**
 * Verifies an audit log: `path` is the log's folder (active file `options.fileName`, default `audit.log`) or the
 * active file; `~` is the home folder. Reads rotated files (plain or gzipped) oldest first, then the active file,
 * and reports the first break (file, line, `seq`, kind): an edited, missing, reordered, torn, malformed or
 * unchained line; with `keys`, a seal that does not verify (`forged`) or lines after the last seal (`unsealed`);
 * with `checkpoints`, a log that ends before one (`truncated`) or differs at one (`rewritten`). `guarantees` says
 * in words what the result proves.
 */
export async function verifyAuditLog(
  path: string,
  options: AuditVerifyOptions = {},
): Promise<AuditVerifyResult> {
  refuseUnknownOptions('verifyAuditLog', options, VERIFY_OPTION_KEYS);
  let active = expandPath(path);
  const info = await stat(active).catch(() => undefined);
  if (info?.isDirectory()) active = join(active, options.fileName ?? 'audit.log');
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

  const schedules = new Map<string, KeySchedule>();
  for (const k of options.keys ?? []) {
    const parsed = parseVerificationKey(k);
    if (!parsed) {
      throw new AuditError(
        'INVALID_OPTION',
        'verifyAuditLog: a key is not an audit-key-v1:<id>:<64 hex> key',
        {
          details: { option: 'keys' },
        },
      );
    }
    schedules.set(parsed.keyId, new KeySchedule(parsed.k0));
  }
  const secrets = options.secrets ?? [];
  const keyed = schedules.size > 0 || secrets.length > 0;
  const checkpoints = new Map<number, string>();
  for (const c of options.checkpoints ?? []) {
    const cp = checkpointFrom(c);
    if (!cp) {
      const shown = typeof c === 'string' ? c : JSON.stringify(c);
      throw new AuditError('INVALID_OPTION', `verifyAuditLog: checkpoint ${shown} is not seq:hash`, {
        details: { option: 'checkpoints' },
      });
    }
    checkpoints.set(cp.seq, cp.hash);
  }

  const result: AuditVerifyResult = {
    ok: true,
    files,
    lines: 0,
    seals: 0,
    keyChecked: keyed,
    checkpointsChecked: 0,
    checkpointsSkipped: 0,
    guarantees: [],
  };
  const fail = (problem: AuditVerifyProblem): AuditVerifyResult => {
    result.ok = false;
    result.problem = problem;
    result.guarantees = [`Broken at ${problem.file}:${problem.line}: ${problem.message}.`];
    return result;
  };

  const texts = new Map<string, string>();
  const removals: Removal[] = [];
  // Retention records anchor the first line, so they are read first; texts are kept for the main pass while
  // they fit a budget (a month of 100 MiB files does not), the rest is read again.
  let kept = 0;
  for (const file of files) {
    const text = await readLogText(file);
    scanRemovals(text, removals);
    if (kept + text.length <= KEEP_TEXT_BUDGET) {
      texts.set(file, text);
      kept += text.length;
    }
  }

  let prev: ChainedLineParts | undefined;
  let anchored: 'genesis' | 'retention' | 'unanchored' = 'genesis';
  /** Key id and epoch of the last seal; last seal that verified. */
  let lastSeal: { keyId: string; epoch: number } | undefined;
  const lastEpochOf = new Map<string, number>();
  const announced = new Set<string>();
  let lastGoodSealSeq = 0;
  let firstUnsealed: { file: string; line: number; seq: number } | undefined;
  const fileIsNewList: boolean[] = [];
  let lastFileLines = 0;
  for (const file of files) {
    const pieces = (texts.get(file) ?? (await readLogText(file))).split('\n');
    texts.delete(file);
    let fileIsNew = false;
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
      const record = recordType(text);
      const isRecord = record !== undefined;
      if (isRecord || parsed.seal) fileIsNew = true;
      if (prev === undefined) {
        result.firstSeq = seq;
        if (seq === 1) {
          if (chainHash(GENESIS_HASH, parsed.canonical) !== parsed.hash) {
            return fail({
              kind: 'edited',
              file,
              line: lineNo,
              seq,
              message: 'content does not match its hash',
            });
          }
        } else {
          const removal = removals.find((r) => r.lastSeq === seq - 1);
          if (removal) {
            anchored = 'retention';
            if (chainHash(removal.lastHash, parsed.canonical) !== parsed.hash) {
              return fail({
                kind: 'edited',
                file,
                line: lineNo,
                seq,
                message: `content does not match its hash linked to the retention record of seq ${seq - 1}`,
              });
            }
          } else if (isLegacyStart(pieces)) {
            anchored = 'unanchored';
          } else {
            return fail({
              kind: 'missing',
              file,
              line: lineNo,
              seq,
              expectedSeq: 1,
              message: `seq 1..${seq - 1} missing and no retention record names them: the oldest file(s) were deleted by hand`,
            });
          }
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
      const expected = checkpoints.get(seq);
      if (expected !== undefined) {
        if (expected !== parsed.hash) {
          return fail({
            kind: 'rewritten',
            file,
            line: lineNo,
            seq,
            message: `hash differs from the checkpoint of seq ${seq}: the log was rewritten and re-chained since`,
          });
        }
        result.checkpointsChecked++;
      }
      if (record === 'audit_key') {
        const id = detailsOf(text)?.key_id;
        if (typeof id === 'string') announced.add(id);
      }
      const seal = parsed.seal;
      if (seal) {
        const where = { file, line: lineNo, seq };
        const known = lastEpochOf.get(seal.keyId);
        if (known !== undefined) {
          if (seal.epoch < known || seal.epoch > known + 1) {
            return fail({
              kind: 'forged',
              ...where,
              message: `seal epoch ${seal.epoch} follows epoch ${known}: seals were removed or forged`,
            });
          }
        } else {
          // A key's first seal: epoch 0, or later epochs whose files retention removed (recorded).
          const covered =
            seal.epoch === 0 ||
            removals.some(
              (r) => r.keyId === seal.keyId && r.epoch !== undefined && r.epoch >= seal.epoch - 1,
            );
          if (!covered) {
            return fail({
              kind: 'forged',
              ...where,
              message: `the first seal of key ${seal.keyId} has epoch ${seal.epoch}: the seals of earlier epochs are missing`,
            });
          }
          if (lastSeal !== undefined && !announced.has(seal.keyId)) {
            return fail({
              kind: 'forged',
              ...where,
              message: `sealed with key ${seal.keyId} from here, and no record says a new key was created`,
            });
          }
        }
        if (keyed) {
          let schedule = schedules.get(seal.keyId);
          if (schedule === undefined) {
            for (const secret of secrets) {
              // A secret-derived K₀ depends on the key id, known only now.
              schedule = new KeySchedule(keyFromSecret(secret, seal.keyId));
              if (sealMac(schedule.at(seal.epoch), parsed.hash) === seal.mac) {
                schedules.set(seal.keyId, schedule);
                break;
              }
              schedule = undefined;
            }
          }
          if (schedule === undefined) {
            return fail({
              kind: 'forged',
              ...where,
              message: `sealed with key ${seal.keyId}, which was not given (or the seal is forged)`,
            });
          }
          if (sealMac(schedule.at(seal.epoch), parsed.hash) !== seal.mac) {
            return fail({
              kind: 'forged',
              ...where,
              message: `the seal does not verify: lines seq ${lastGoodSealSeq + 1}..${seq} were rewritten (and re-chained) or forged`,
            });
          }
        }
        lastEpochOf.set(seal.keyId, seal.epoch);
        lastSeal = { keyId: seal.keyId, epoch: seal.epoch };
        lastGoodSealSeq = seq;
        result.seals++;
        result.lastSealedSeq = seq;
        firstUnsealed = undefined;
      } else {
        firstUnsealed ??= { file, line: lineNo, seq };
      }
      prev = parsed;
      result.lines++;
      result.lastSeq = seq;
      result.lastHash = parsed.hash;
    }
    fileIsNewList.push(fileIsNew);
    lastFileLines = Math.max(0, pieces.length - 1);
  }

  const lastFile = files.at(-1)!;
  // After a rotation the active file always starts with a rotation record: one missing or empty was deleted.
  const newestRotatedIsNew = activeExists ? fileIsNewList.at(-2) === true : fileIsNewList.at(-1) === true;
  if (newestRotatedIsNew && (!activeExists || lastFileLines === 0)) {
    return fail({
      kind: 'truncated',
      file: active,
      line: 1,
      ...(result.lastSeq === undefined ? {} : { seq: result.lastSeq + 1 }),
      message: activeExists
        ? 'the active file is empty, although a rotation always opens it with a record (emptied by hand)'
        : 'the active file is missing (deleted), although rotated files exist',
    });
  }
  const lastSeq = result.lastSeq ?? 0;
  const beyond = [...checkpoints.keys()].filter((s) => s > lastSeq).sort((a, b) => b - a);
  if (beyond.length > 0) {
    return fail({
      kind: 'truncated',
      file: lastFile,
      line: lastFileLines + 1,
      seq: lastSeq + 1,
      message: `the log ends at seq ${lastSeq} but checkpoint seq ${beyond[0]} was taken: seq ${lastSeq + 1}..${beyond[0]} deleted`,
    });
  }
  for (const [seq, hash] of checkpoints) {
    if (seq >= (result.firstSeq ?? 1)) continue;
    const r = removals.find((x) => x.lastSeq === seq);
    if (r === undefined) result.checkpointsSkipped++;
    else if (r.lastHash === hash) result.checkpointsChecked++;
    else {
      return fail({
        kind: 'rewritten',
        file: files[0]!,
        line: 1,
        seq,
        message: `the retention record of seq ${seq} differs from its checkpoint`,
      });
    }
  }
  if (keyed && firstUnsealed !== undefined) {
    return fail({
      kind: 'unsealed',
      ...firstUnsealed,
      message:
        result.seals === 0
          ? 'no line is sealed (the log was written without sealing, or its seals were stripped)'
          : `seq ${firstUnsealed.seq}..${lastSeq} come after the last seal: appended without the key, or cut by a power loss`,
    });
  }
  result.guarantees = describe(result, anchored, lastSeal);
  return result;
}

/** A first file written before records existed: no seal and no record line in it. */
function isLegacyStart(pieces: readonly string[]): boolean {
  return !pieces.some((p) => recordType(p) !== undefined || parseChainedLine(p)?.seal !== undefined);
}

function describe(
  r: AuditVerifyResult,
  anchored: 'genesis' | 'retention' | 'unanchored',
  lastSeal: { keyId: string; epoch: number } | undefined,
): string[] {
  const g: string[] = [];
  if (r.lines === 0) return ['The log is empty.'];
  g.push(
    `Lines seq ${r.firstSeq}..${r.lastSeq} are complete, in order and consistent with their hash chain.`,
  );
  if (anchored === 'genesis') g.push('The log starts at its first line (seq 1).');
  else if (anchored === 'retention')
    g.push(`Lines before seq ${r.firstSeq} were removed by retention (recorded).`);
  else
    g.push(
      `Lines before seq ${r.firstSeq} were removed before removals were recorded: the first line is not anchored.`,
    );
  if (r.seals === 0) {
    g.push(
      'Not sealed (plain SHA-256 chain): this proves integrity relative to the log itself only; anyone able to write the files can rewrite them and recompute the chain.',
    );
  } else if (r.keyChecked) {
    g.push(
      `Every line up to seq ${r.lastSealedSeq} is sealed with the forward-secure key (key ${lastSeal?.keyId}, last epoch ${lastSeal?.epoch}): it cannot have been rewritten or added by anyone who did not hold that epoch's key, even with the host in hand later.`,
    );
  } else {
    g.push(
      `Sealed (${r.seals} seals, the last at seq ${r.lastSealedSeq}), but no key was given, so the seals were not checked: anyone able to write the files could have rewritten them and recomputed the chain. Give the verification key to check them.`,
    );
  }
  if (r.checkpointsChecked > 0) {
    g.push(`${r.checkpointsChecked} checkpoint(s) matched: nothing up to them was deleted or rewritten.`);
  } else {
    g.push(
      'No checkpoint was checked: deleting the newest lines or files cannot be detected without one kept off the host.',
    );
  }
  if (r.checkpointsSkipped > 0) {
    g.push(
      `${r.checkpointsSkipped} checkpoint(s) predate the oldest line (removed by retention) and were not checked.`,
    );
  }
  return g;
}
