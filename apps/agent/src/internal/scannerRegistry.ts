import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { processGroup, procStat, removeCgroupDirs } from './containment';

/*
 * A file per running scanner (`<dataDir>/run/scanner-<pid>.json`) naming its process group, the start time of
 * its first process (so that a reused pid is never taken for it) and its cgroups. An agent killed with SIGKILL
 * cannot stop its scanners; the next agent on the data dir finds their files and stops what is still running.
 */

/** What is recorded of one running scanner. */
export interface ScannerRecord {
  pid: number;
  /** Start time of `pid` after boot, clock ticks (/proc/<pid>/stat field 22). */
  startTicks: number;
  /** The boot the record was made in (a pid of another boot means nothing). */
  bootId: string;
  agentPid: number;
  /** Scanner argv[0] and name, for the audit line. */
  command: string;
  startedAt: number;
  /** Cgroup directories made for it. */
  cgroups: string[];
}

/** A scanner the sweep stopped or cleaned up after. */
export interface SweptScanner extends ScannerRecord {
  /** Processes of its group still running and stopped now. */
  stopped: number;
}

/** This boot's id (a pid recorded in another boot means nothing now). */
export function bootId(): string {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return 'unknown';
  }
}

/** The folder of the records. */
export function registryDir(dataDir: string): string {
  return join(dataDir, 'run');
}

/** Records a scanner that just started; returns the function that removes the record. */
export function recordScanner(
  dir: string,
  entry: Omit<ScannerRecord, 'startTicks' | 'bootId' | 'agentPid' | 'startedAt'>,
): () => void {
  const file = join(dir, `scanner-${entry.pid}.json`);
  const record: ScannerRecord = {
    ...entry,
    startTicks: procStat(entry.pid)?.startTicks ?? 0,
    bootId: bootId(),
    agentPid: process.pid,
    startedAt: Date.now(),
  };
  try {
    mkdirSync(dir, { recursive: true });
    writeFileSync(file, JSON.stringify(record));
  } catch {
    // A read-only data dir: the scanner still runs, only a crash of the agent would leave it behind.
  }
  return () => rmSync(file, { force: true });
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/**
 * Stops every scanner an earlier agent on this data dir left running (it was killed before it could), removes
 * their cgroups and records. Call with the data dir locked (so no live agent's scanner is touched). A record of
 * another boot, or whose pid now belongs to another process, is only removed.
 */
export async function sweepLeftScanners(dir: string, procRoot = '/proc'): Promise<SweptScanner[]> {
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => /^scanner-\d+\.json$/.test(n));
  } catch {
    return [];
  }
  const boot = bootId();
  const out: SweptScanner[] = [];
  for (const name of names) {
    const file = join(dir, name);
    let rec: ScannerRecord;
    try {
      rec = JSON.parse(readFileSync(file, 'utf8')) as ScannerRecord;
    } catch {
      rmSync(file, { force: true });
      continue;
    }
    let stopped = 0;
    if (rec.bootId === boot && Number.isInteger(rec.pid) && rec.pid > 1) {
      const leader = procStat(rec.pid, procRoot);
      // The leader alive as itself, or gone while members of its group (which the kernel keeps from being
      // reused as a group id) still run.
      const ours =
        leader === undefined
          ? processGroup(rec.pid, procRoot).filter((p) => p.startTicks >= rec.startTicks)
          : leader.startTicks === rec.startTicks
            ? processGroup(rec.pid, procRoot)
            : [];
      if (ours.length > 0) {
        stopped = ours.length;
        try {
          process.kill(-rec.pid, 'SIGKILL');
        } catch {
          for (const p of ours) {
            try {
              process.kill(p.pid, 'SIGKILL');
            } catch {
              // gone
            }
          }
        }
        for (let i = 0; i < 100 && processGroup(rec.pid, procRoot).length > 0; i++) await sleep(20);
      }
    }
    await removeCgroupDirs(rec.cgroups ?? []);
    rmSync(file, { force: true });
    out.push({ ...rec, stopped });
  }
  return out;
}
