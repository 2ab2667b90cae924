import { existsSync, statfsSync } from 'node:fs';
import { dirname } from 'node:path';
import { open, readFile } from 'node:fs/promises';
import { ChunkStore } from '@rediver/chunk';
import { parseCheckpoints, verifyAuditLog } from '@rediver/audit';
import type { AuditCheckpoint } from '@rediver/audit';
import { collectFigures } from '../figures';
import type { AgentFigures } from '../figures';
import { holderAlive, lockPath, readLock } from '../internal/dataDirLock';
import { withCode } from '../errors';
import { formatBytes } from '../progress';
import type { StoredReportInfo } from '../ports';
import { storedReportInfo, UNDELIVERED_STATUSES } from '../internal/storedReports';
import { auditLogPath, chunkStorePath } from '../paths';
import type { Io } from './common';
import { configFrom, EXIT, parse } from './common';

/** Help of `status`. */
export const STATUS_HELP = `Usage: rediver-agent status [--data-dir <dir>] [--config <file>] [--set <path=value>]... [--json] [--events <n>]

Shows what the data dir holds: reports pending delivery and dead-lettered ones (with their last error),
storage use against the quota, damaged chunk stores set aside, and the last audit events. Only reads: the
chunk store is opened read-only (works on a read-only data dir or a full disk, never changes a byte, never
sets a damaged file aside itself). Does not contact the platform.`;

/** Help of `audit verify`. */
export const AUDIT_HELP = `Usage: rediver-agent audit verify [<dir>] [--data-dir <dir>] [--key <key> | --key-file <file>]
                                 [--checkpoint <seq:hash | file>]

Checks the audit log's hash chain and seals (default folder: <data dir>/audit): reports the first break (file:line, seq) and its
kind (edited, missing, reordered, torn, truncated, forged, unsealed, rewritten...), or that it is intact and
which guarantees hold. Exit 0 when intact, 1 otherwise.
  --key         the verification key shown once at the first start (audit-key-v1:...): checks every seal
  --key-file    a file holding it (preferred: a command line is visible to other users)
  --secret-file a file holding the audit.sealSecret the key was derived from (unattended installs)
  --checkpoint  a checkpoint kept off the host (seq:hash, as sent in heartbeats), or a file of them:
                detects deleted newest lines or files up to it`;

/**
 * The last `n` complete lines of `file`, read backwards in blocks: never the whole file, and never a line cut
 * where a block starts (the first, partial line of a block is completed by the block before it).
 */
export async function lastLines(file: string, n: number): Promise<string[]> {
  if (n <= 0 || !existsSync(file)) return [];
  const fh = await open(file, 'r');
  try {
    const size = (await fh.stat()).size;
    const block = 64 * 1024;
    // Bounded: a log without newlines cannot make `status` read gigabytes.
    const maxBytes = Math.max(4 * 1024 * 1024, n * 16 * 1024);
    let pos = size;
    let tail = Buffer.alloc(0);
    let lines: string[] = [];
    while (pos > 0 && size - pos < maxBytes) {
      const len = Math.min(block, pos);
      pos -= len;
      const buf = Buffer.alloc(len);
      await fh.read(buf, 0, len, pos);
      tail = Buffer.concat([buf, tail]);
      const text = tail.toString('utf8');
      const parts = text.split('\n');
      // Unless the file's start was reached, the first part may be the end of a longer line: not a line yet.
      lines = (pos > 0 ? parts.slice(1) : parts).filter((l) => l.trim() !== '');
      if (lines.length >= n) break;
    }
    return lines.slice(-n);
  } finally {
    await fh.close();
  }
}

/** When a file was set aside, from its name (`chunks.db.corrupt-2026-12-03T16-20-00-000Z`). */
function setAsideTime(movedTo: string): string | undefined {
  const m = /\.corrupt-(\d{4}-\d{2}-\d{2})T(\d{2})-(\d{2})-(\d{2})-(\d{3})Z/.exec(movedTo);
  return m === null ? undefined : `${m[1]}T${m[2]}:${m[3]}:${m[4]}.${m[5]}Z`;
}

/** Free and total bytes of the file system holding `dir` (null where it cannot be read). */
function diskSpace(dir: string): { freeBytes: number; totalBytes: number } | null {
  try {
    const st = statfsSync(existsSync(dir) ? dir : dirname(dir));
    return { freeBytes: st.bavail * st.bsize, totalBytes: st.blocks * st.bsize };
  } catch {
    return null;
  }
}

/** `damaged` when SQLite says the file is not a sound database, else `unreadable` (permissions, I/O). */
function storeProblem(e: unknown): 'damaged' | 'unreadable' {
  const raw = (e as { code?: unknown } | null)?.code;
  const code = typeof raw === 'string' ? raw : '';
  return code.startsWith('SQLITE_CORRUPT') || code === 'SQLITE_NOTADB' ? 'damaged' : 'unreadable';
}

/** `rediver-agent status`. */
export async function statusCommand(args: string[], io: Io): Promise<number> {
  const { values } = parse(args, {
    config: { type: 'string', short: 'c' },
    'data-dir': { type: 'string' },
    'tenant-id': { type: 'string' },
    json: { type: 'boolean' },
    events: { type: 'string' },
    set: { type: 'string', multiple: true },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help === true) {
    io.out.write(`${STATUS_HELP}\n`);
    return EXIT.ok;
  }
  const config = await configFrom(values, io.env);
  const nEvents = values.events === undefined ? 10 : Number(values.events);
  const out: Record<string, unknown> = { dataDir: config.dataDir, tenantId: config.tenantId };
  let reports: StoredReportInfo[] = [];
  let figures: AgentFigures | undefined;
  // A live agent on this data dir (its lock) serving metrics gives its own figures; else what the data dir holds.
  const holder = existsSync(lockPath(config.dataDir)) ? readLock(lockPath(config.dataDir)) : 'missing';
  if (typeof holder === 'object') {
    const live = holderAlive(holder);
    out.agent = {
      running: live,
      pid: holder.pid,
      command: holder.command,
      since: new Date(holder.startedAt).toISOString(),
      metrics: holder.metrics ?? null,
    };
    if (live && holder.metrics !== undefined) {
      figures = await fetch(`${holder.metrics}/figures`, { signal: AbortSignal.timeout(2000) })
        .then((r) => (r.ok ? (r.json() as Promise<AgentFigures>) : undefined))
        .catch(() => undefined);
    }
  } else {
    out.agent = { running: false };
  }
  const storePath = chunkStorePath(config);
  const setAside = ChunkStore.listSetAside(storePath).map((f) => ({
    movedTo: f.movedTo,
    bytes: f.bytes,
    setAsideAt: setAsideTime(f.movedTo) ?? new Date(f.at).toISOString(),
  }));
  out.disk = diskSpace(config.dataDir);
  out.chunkStore = { path: storePath, state: 'missing' };
  out.setAside = setAside;
  if (existsSync(storePath)) {
    // The store alone (no upload engine), read-only: status never changes what a running agent is doing.
    try {
      const store = new ChunkStore({ ...(config.chunk as object), databasePath: storePath, readOnly: true });
      try {
        const stats = await store.getStats(config.tenantId);
        reports = (
          await store.listReports(config.tenantId, { statuses: UNDELIVERED_STATUSES, limit: 100 })
        ).map(storedReportInfo);
        out.chunkStore = { path: storePath, state: 'ok' };
        out.reports = stats.reports;
        out.chunks = stats.chunks;
        out.storage = {
          storedBytes: stats.storedBytes,
          maxStorageBytes: stats.maxStorageBytes,
          quotaUsed: stats.quotaUsed,
        };
        out.undelivered = reports;
        figures ??= await collectFigures({ chunkStats: () => Promise.resolve(stats) });
      } finally {
        await store.close();
      }
    } catch (e) {
      // A damaged (or unreadable) store is a finding of status, not its failure.
      out.chunkStore = { path: storePath, state: storeProblem(e), problem: withCode(e) };
      reports = [];
    }
  }
  const auditLog = auditLogPath(config);
  const events = (await lastLines(auditLog, nEvents)).map((l) => {
    try {
      return JSON.parse(l) as Record<string, unknown>;
    } catch {
      return { malformed: l };
    }
  });
  out.auditLog = auditLog;
  out.lastEvents = events;
  if (figures !== undefined) out.figures = figures;
  if (values.json === true) {
    io.out.write(`${JSON.stringify(out, null, 2)}\n`);
    return EXIT.ok;
  }
  io.out.write(`data dir: ${config.dataDir} (tenant ${config.tenantId})\n`);
  const agentInfo = out.agent as {
    running: boolean;
    pid?: number;
    command?: string;
    since?: string;
    metrics?: string | null;
  };
  if (agentInfo.pid !== undefined)
    io.out.write(
      `agent: ${agentInfo.running ? `running, pid ${agentInfo.pid} (${agentInfo.command}, since ${agentInfo.since})${agentInfo.metrics === null ? '' : `, metrics ${agentInfo.metrics}/metrics`}` : `not running (stale lock of pid ${agentInfo.pid})`}\n`,
    );
  const disk = out.disk as { freeBytes: number; totalBytes: number } | null;
  if (disk !== null) {
    const full = disk.freeBytes < 1024 * 1024;
    io.out.write(
      `disk: ${formatBytes(disk.freeBytes)} free of ${formatBytes(disk.totalBytes)}${full ? ' — FULL: reports cannot be stored (DISK_FULL); free space' : ''}\n`,
    );
  }
  const cs = out.chunkStore as { path: string; state: string; problem?: string };
  if (cs.state === 'damaged') {
    io.out.write(
      `chunk store: DAMAGED ${cs.path} (${cs.problem}): the next scan, deliver or run moves it aside (kept) and starts a fresh store\n`,
    );
  } else if (cs.state === 'unreadable') {
    io.out.write(`chunk store: cannot be read: ${cs.path} (${cs.problem})\n`);
  } else if (out.reports === undefined) {
    io.out.write('chunk store: none yet (nothing was ever kept for delivery)\n');
  } else {
    const r = out.reports as Record<string, number>;
    const s = out.storage as { storedBytes: number; maxStorageBytes: number; quotaUsed: number };
    io.out.write(
      `reports: ${r.pending ?? 0} pending, ${r.uploading ?? 0} uploading, ${r.failed ?? 0} failed, ${r.partial ?? 0} partial, ${r.completed ?? 0} completed\n`,
    );
    io.out.write(
      `storage: ${formatBytes(s.storedBytes)} of ${formatBytes(s.maxStorageBytes)} (${(s.quotaUsed * 100).toFixed(1)}%)\n`,
    );
    for (const rep of reports) {
      io.out.write(
        `  ${rep.reportId}  ${rep.status}  ${rep.uploadedChunks}/${rep.totalChunks} chunk(s) delivered  ${new Date(rep.createdAt ?? 0).toISOString()}${rep.lastError === undefined ? '' : `  ${rep.lastError}`}\n`,
      );
    }
  }
  for (const f of setAside) {
    io.out.write(
      `set aside: damaged chunk store moved to ${f.movedTo} (${formatBytes(f.bytes)}, ${f.setAsideAt}); kept for forensics, its reports were not delivered\n`,
    );
  }
  io.out.write(`audit log: ${auditLog}${events.length === 0 ? ' (empty)' : ''}\n`);
  for (const e of events) {
    const f = (v: unknown): string => (typeof v === 'string' || typeof v === 'number' ? String(v) : '');
    io.out.write(
      e.malformed === undefined
        ? `  ${f(e.timestamp)} ${f(e.severity).padEnd(5)} ${f(e.type)}: ${f(e.message)}\n`
        : `  (unreadable line, e.g. torn by a crash or a full disk: ${f(e.malformed).slice(0, 60)}…)\n`,
    );
  }
  return EXIT.ok;
}

/** `rediver-agent audit verify`. */
export async function auditCommand(args: string[], io: Io): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === undefined || sub === '--help' || sub === '-h' || sub === 'help') {
    io.out.write(`${AUDIT_HELP}\n`);
    return sub === undefined ? EXIT.usage : EXIT.ok;
  }
  if (sub !== 'verify') {
    io.err.write(`rediver-agent audit: unknown subcommand ${sub} (only: verify)\n`);
    return EXIT.usage;
  }
  const { values, positionals } = parse(
    rest,
    {
      'data-dir': { type: 'string' },
      config: { type: 'string', short: 'c' },
      key: { type: 'string', multiple: true },
      'key-file': { type: 'string', multiple: true },
      'secret-file': { type: 'string', multiple: true },
      checkpoint: { type: 'string', multiple: true },
      help: { type: 'boolean', short: 'h' },
    },
    true,
  );
  if (values.help === true) {
    io.out.write(`${AUDIT_HELP}\n`);
    return EXIT.ok;
  }
  const dir = positionals[0] ?? dirname(auditLogPath(await configFrom(values, io.env)));
  const keys = [...(values.key ?? [])];
  for (const f of values['key-file'] ?? []) {
    keys.push(
      ...(await readFile(f, 'utf8'))
        .split('\n')
        .map((l) => l.trim())
        .filter((l) => l.startsWith('audit-key-')),
    );
  }
  const secrets: string[] = [];
  for (const f of values['secret-file'] ?? []) {
    secrets.push(
      ...(await readFile(f, 'utf8'))
        .split('\n')
        .map((l) => l.trim())
        .filter((l) => l !== ''),
    );
  }
  const checkpoints: (AuditCheckpoint | string)[] = [];
  for (const c of values.checkpoint ?? []) {
    checkpoints.push(...(/^\d+:[0-9a-f]{64}/.test(c) ? [c] : parseCheckpoints(await readFile(c, 'utf8'))));
  }
  const result = await verifyAuditLog(dir, { keys, secrets, checkpoints });
  if (result.ok) {
    io.out.write(
      `audit log intact: ${result.lines} line(s) in ${result.files.length} file(s)${result.lastSeq === undefined ? '' : `, seq ${result.firstSeq ?? 1}..${result.lastSeq}`}\n`,
    );
    for (const g of result.guarantees) io.out.write(`  - ${g}\n`);
    return EXIT.ok;
  }
  const p = result.problem;
  io.out.write(
    `audit log NOT intact: ${p === undefined ? 'unknown problem' : `${p.kind} at ${p.file}:${p.line}${p.seq === undefined ? '' : ` (seq ${p.seq})`} — ${p.message}`}\n`,
  );
  return EXIT.failed;
}
