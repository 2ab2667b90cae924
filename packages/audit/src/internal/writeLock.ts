import { randomBytes } from 'node:crypto';
import { closeSync, linkSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { AuditError } from '../auditError';

/**
 * One writer per log file: `<logFile>.lock` holds the writer's pid, host and a random token. A lock whose pid is
 * dead is stale and taken over; so is one with this process's pid (a container restarted as pid 1) whose token
 * no instance in this process holds. Any live holder makes `acquire` throw, naming its pid.
 */

/** Tokens of locks held in this process, shared by every copy of the package loaded in it. */
const HELD_KEY = Symbol.for('@rediver/audit.heldLocks');
const held: Set<string> =
  ((globalThis as Record<symbol, unknown>)[HELD_KEY] as Set<string> | undefined) ??
  ((globalThis as Record<symbol, unknown>)[HELD_KEY] = new Set<string>());

interface LockContent {
  pid: number;
  host: string;
  token: string;
}

function readLock(path: string): LockContent | undefined | 'missing' {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 'missing';
    throw err;
  }
  try {
    const o = JSON.parse(text) as Partial<LockContent>;
    if (typeof o.pid === 'number' && typeof o.token === 'string') {
      return { pid: o.pid, host: typeof o.host === 'string' ? o.host : '', token: o.token };
    }
  } catch {
    // unreadable: treated as stale below
  }
  return undefined;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function isLive(c: LockContent): boolean {
  if (c.host !== hostname()) return true; // another host sharing the folder: cannot tell, assume live
  if (c.pid === process.pid) return held.has(c.token);
  return alive(c.pid);
}

/** A held lock; `release()` removes the file if it is still ours. */
export class WriteLock {
  private constructor(
    readonly path: string,
    private readonly token: string,
  ) {}

  /** Takes the lock of `logFile` or throws `AuditError` (`LOCKED`, `details.option` `logFile`) naming the holder. */
  static acquire(logFile: string): WriteLock {
    const path = `${logFile}.lock`;
    const token = randomBytes(12).toString('hex');
    const body = JSON.stringify({ pid: process.pid, host: hostname(), token }) + '\n';
    const tmp = `${path}.${token}.tmp`;
    const fd = openSync(tmp, 'wx', 0o640);
    try {
      writeSync(fd, body);
    } finally {
      closeSync(fd);
    }
    try {
      for (let attempt = 0; attempt < 5; attempt++) {
        try {
          // link() creates the lock with its content in one step, and fails if any lock exists.
          linkSync(tmp, path);
          held.add(token);
          return new WriteLock(path, token);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        }
        const current = readLock(path);
        if (current === 'missing') continue;
        if (current !== undefined && isLive(current)) {
          throw new AuditError(
            'LOCKED',
            `audit: logFile ${logFile} is in use by another audit logger (pid ${current.pid}` +
              `${current.host === hostname() ? '' : ` on ${current.host}`}, lock ${path}); use another logFile or ` +
              `stop that process (if pid ${current.pid} is not an audit writer, delete the lock file)`,
            {
              details: {
                option: 'logFile',
                lockFile: path,
                holderPid: current.pid,
                holderHost: current.host,
              },
            },
          );
        }
        // Stale: move it aside (atomic), then make sure what was moved is what was judged stale; a racer may
        // have replaced it with a live lock in between, which is then put back.
        const aside = `${path}.${token}.stale`;
        try {
          renameSync(path, aside);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
          throw err;
        }
        const moved = readLock(aside);
        const same =
          moved !== 'missing' &&
          (moved === undefined || current === undefined
            ? moved === current
            : moved.token === current.token && moved.pid === current.pid);
        if (!same) {
          try {
            linkSync(aside, path);
          } catch {
            // someone else holds it now; the loop re-reads it
          }
        }
        unlinkSync(aside);
      }
      throw new AuditError(
        'LOCKED',
        `audit: could not lock logFile ${logFile} (${path}): other writers keep taking it`,
        { details: { option: 'logFile', lockFile: path } },
      );
    } finally {
      try {
        unlinkSync(tmp);
      } catch {
        // gone already
      }
    }
  }

  /** Removes the lock file if it still holds this token; idempotent. */
  release(): void {
    if (!held.delete(this.token)) return;
    const current = readLock(this.path);
    if (current !== 'missing' && current?.token === this.token) {
      try {
        unlinkSync(this.path);
      } catch {
        // already gone
      }
    }
  }
}
