import { randomBytes } from 'node:crypto';
import {
  closeSync,
  linkSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { AgentError } from '../errors';
import { procStat } from './containment';
import { bootId } from './scannerRegistry';

/*
 * One agent per data dir: `<dataDir>/agent.lock` names the holder (pid, its start time, host, boot, command). Two
 * agents on one data dir would interleave the audit chain and repair each other's "torn" lines. A lock whose
 * holder is dead (or whose pid now belongs to another process: the start time differs) is stale and taken over.
 * `status` only reads and never takes it.
 */

/** What the lock file says. */
export interface LockHolder {
  pid: number;
  /** Start time of `pid` after boot, clock ticks; 0 where /proc is not available. */
  startTicks: number;
  host: string;
  bootId: string;
  command: string;
  startedAt: number;
  token: string;
  /** The metrics endpoint of the holder, when it serves one (for `status`). */
  metrics?: string;
}

/** The lock file of a data dir. */
export function lockPath(dataDir: string): string {
  return join(dataDir, 'agent.lock');
}

/** Reads the lock file: the holder, `missing`, or undefined when unreadable (treated as stale). */
export function readLock(path: string): LockHolder | 'missing' | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return 'missing';
    throw e;
  }
  try {
    const o = JSON.parse(text) as Partial<LockHolder>;
    if (typeof o.pid === 'number' && typeof o.token === 'string') return o as LockHolder;
  } catch {
    // torn or foreign content: stale
  }
  return undefined;
}

/** True when the holder is a live process (the same one: same host, boot, pid and start time). */
export function holderAlive(h: LockHolder): boolean {
  // Another host sharing the folder (NFS): it cannot be checked from here; assume it is live.
  if (h.host !== hostname()) return true;
  if (h.bootId !== bootId()) return false;
  try {
    process.kill(h.pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  const stat = procStat(h.pid);
  if (stat === undefined) return h.startTicks === 0;
  return h.startTicks === 0 || stat.startTicks === h.startTicks;
}

/** Describes the holder for a message. */
export function describeHolder(h: LockHolder): string {
  const since = new Date(h.startedAt).toISOString();
  return `process ${h.pid}${h.host === hostname() ? '' : ` on ${h.host}`} (${h.command}, since ${since})`;
}

/** A held data-dir lock. */
export class DataDirLock {
  #released = false;

  private constructor(
    readonly path: string,
    readonly holder: LockHolder,
  ) {}

  /**
   * Takes the lock of `dataDir` or throws `LOCKED` naming the live holder. A stale lock (dead holder, reused pid,
   * another boot, unreadable file) is taken over.
   */
  static acquire(dataDir: string, command: string): DataDirLock {
    mkdirSync(dataDir, { recursive: true });
    const path = lockPath(dataDir);
    const holder: LockHolder = {
      pid: process.pid,
      startTicks: procStat(process.pid)?.startTicks ?? 0,
      host: hostname(),
      bootId: bootId(),
      command,
      startedAt: Date.now(),
      token: randomBytes(12).toString('hex'),
    };
    const tmp = `${path}.${holder.token}.tmp`;
    const fd = openSync(tmp, 'wx', 0o640);
    try {
      writeSync(fd, `${JSON.stringify(holder)}\n`);
    } finally {
      closeSync(fd);
    }
    try {
      for (let attempt = 0; attempt < 8; attempt++) {
        try {
          // link() publishes the lock with its whole content in one step, and fails when any lock exists.
          linkSync(tmp, path);
          return new DataDirLock(path, holder);
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
        }
        const current = readLock(path);
        if (current === 'missing') continue;
        if (current !== undefined && holderAlive(current)) {
          throw new AgentError(
            'LOCKED',
            `data dir ${dataDir} is in use by another agent: ${describeHolder(current)}; stop it, give this one another --data-dir, or pass --wait-lock to wait for it`,
            {
              details: {
                lockFile: path,
                holderPid: current.pid,
                holderHost: current.host,
                holderCommand: current.command,
              },
            },
          );
        }
        // Stale: move it aside atomically, then check that what moved is what was judged stale (a racer may have
        // replaced it with its own live lock in between: that one is put back).
        const aside = `${path}.${holder.token}.stale`;
        try {
          renameSync(path, aside);
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue;
          throw e;
        }
        const moved = readLock(aside);
        const same =
          moved !== 'missing' &&
          (moved === undefined || current === undefined ? moved === current : moved.token === current.token);
        if (!same) {
          try {
            linkSync(aside, path);
          } catch {
            // another agent holds it now: the next round reads it
          }
        }
        unlinkSync(aside);
      }
      throw new AgentError(
        'LOCKED',
        `data dir ${dataDir}: could not take ${path}, other agents keep taking it`,
        {
          details: { lockFile: path },
        },
      );
    } finally {
      try {
        unlinkSync(tmp);
      } catch {
        // gone
      }
    }
  }

  /**
   * Like `acquire`, but waits (re-trying every `pollMs`) while a live agent holds the lock, until `signal` fires
   * (then `ABORTED`). `onWait` is called once with the holder's description.
   */
  static async acquireWaiting(
    dataDir: string,
    command: string,
    options: { signal?: AbortSignal; pollMs?: number; onWait?: (holder: string) => void } = {},
  ): Promise<DataDirLock> {
    let told = false;
    for (;;) {
      try {
        return DataDirLock.acquire(dataDir, command);
      } catch (e) {
        if ((e as AgentError).code !== 'LOCKED') throw e;
        if (options.signal?.aborted === true)
          throw new AgentError('ABORTED', `stopped waiting for data dir ${dataDir}`);
        if (!told) {
          told = true;
          const h = readLock(lockPath(dataDir));
          options.onWait?.(typeof h === 'object' ? describeHolder(h) : 'another agent');
        }
        await new Promise<void>((resolve) => {
          const t = setTimeout(done, options.pollMs ?? 500);
          function done(): void {
            clearTimeout(t);
            options.signal?.removeEventListener('abort', done);
            resolve();
          }
          options.signal?.addEventListener('abort', done, { once: true });
        });
      }
    }
  }

  /** Adds the metrics endpoint to the lock file (so that `status` can find the live figures). */
  advertise(metrics: string): void {
    this.holder.metrics = metrics;
    const tmp = `${this.path}.${this.holder.token}.tmp`;
    try {
      const fd = openSync(tmp, 'w', 0o640);
      try {
        writeSync(fd, `${JSON.stringify(this.holder)}\n`);
      } finally {
        closeSync(fd);
      }
      renameSync(tmp, this.path);
    } catch {
      // best effort: status then shows only what the data dir holds
    }
  }

  /** Removes the lock if it is still this one; idempotent. */
  release(): void {
    if (this.#released) return;
    this.#released = true;
    const current = readLock(this.path);
    if (typeof current === 'object' && current.token === this.holder.token) {
      try {
        unlinkSync(this.path);
      } catch {
        // gone
      }
    }
  }
}
