import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AUDIT_EVENT_TYPES as T, isRediverError } from '@rediver/core';
import type { Agent } from './agent';
import type { PlatformPort } from './ports';

/**
 * A platform command whose job ran and whose reports are on their way: kept in `<dataDir>/commands/` until the
 * platform was told how they ended, so that an agent stopped (or killed) meanwhile tells it at its next start.
 */
export interface CommandRecord {
  commandId: string;
  jobId: string;
  /** Reports of the job not yet acknowledged when the record was written. */
  reports: string[];
  /** What the completion carries. */
  findings: number;
  durationMs: number;
  /** Every report of the job (the completion lists them). */
  allReports: string[];
}

/** Backoff between two attempts to tell the platform, ms: doubling from 1 s, at most 30 s. */
const PLATFORM_RETRY_MS = [1000, 2000, 4000, 8000, 16_000, 30_000] as const;

function fileOf(dir: string, commandId: string): string {
  // Command ids come from the platform: never a path of theirs.
  return join(dir, `${createHash('sha256').update(commandId).digest('hex').slice(0, 32)}.json`);
}

/**
 * Completes platform commands only once their reports are acknowledged, and fails them (with the reason) when a
 * report was refused for good or could not be stored — never while a report sits in the chunk store waiting for
 * the platform to come back, however long that takes. What is still waiting when the agent stops is recorded on
 * disk and finished by the next start (`resume`).
 */
export class CommandTracker {
  readonly #agent: Agent;
  readonly #platform: PlatformPort;
  readonly #dir: string;
  /** Fires at shutdown: waits for reports end (the records stay for the next start). */
  readonly #stop = new AbortController();
  readonly #inflight = new Set<Promise<void>>();
  readonly #tracked = new Set<string>();

  constructor(agent: Agent, platform: PlatformPort, dataDir: string) {
    this.#agent = agent;
    this.#platform = platform;
    this.#dir = join(dataDir, 'commands');
    agent.addShutdownStep(() => this.close());
  }

  /** Commands in hand (waiting for their reports, or telling the platform). */
  get pending(): number {
    return this.#inflight.size;
  }

  /** Picks up the commands an earlier run left waiting for their reports. Returns how many. */
  async resume(): Promise<number> {
    const names = await readdir(this.#dir).catch(() => [] as string[]);
    let n = 0;
    for (const name of names.filter((f) => f.endsWith('.json'))) {
      let record: CommandRecord;
      try {
        record = JSON.parse(await readFile(join(this.#dir, name), 'utf8')) as CommandRecord;
        if (typeof record.commandId !== 'string' || !Array.isArray(record.reports))
          throw new Error('not a record');
      } catch (e) {
        this.#audit('WARN', `unreadable command record ${name} set aside: ${(e as Error).message}`);
        await rename(join(this.#dir, name), join(this.#dir, `${name}.unreadable`)).catch(() => {});
        continue;
      }
      if (this.#tracked.has(record.commandId)) continue;
      n++;
      this.#track(record);
    }
    return n;
  }

  /**
   * A job of command `commandId` completed: once its reports are durable, records it, then completes the command
   * when they are all acknowledged (or fails it when one was refused for good).
   */
  jobCompleted(
    commandId: string,
    jobId: string,
    result: { findings: number; durationMs: number },
  ): Promise<void> {
    const p = (async (): Promise<void> => {
      // Until every report is acknowledged or on disk, a crash would lose it: no record of a lost report.
      await this.#agent.whenDurable(jobId);
      const allReports = this.#agent.reportsOf(jobId);
      const reports = allReports.filter((id) => this.#agent.deliveries.get(id)?.state !== 'delivered');
      const record: CommandRecord = { commandId, jobId, reports, allReports, ...result };
      await this.#save(record);
      await this.#settle(record);
    })();
    return this.#hold(p, commandId);
  }

  /** Stops waiting (records stay for the next start) and lets calls to the platform in progress finish. */
  async close(): Promise<void> {
    this.#stop.abort();
    await Promise.allSettled([...this.#inflight]);
  }

  #track(record: CommandRecord): void {
    void this.#hold(this.#settle(record), record.commandId);
  }

  #hold(p: Promise<void>, commandId: string): Promise<void> {
    this.#tracked.add(commandId);
    const held = p
      .catch((e: unknown) => {
        this.#audit('ERROR', `command ${commandId}: ${(e as Error).message}`, commandId, e);
      })
      .finally(() => {
        this.#inflight.delete(held);
        this.#tracked.delete(commandId);
      });
    this.#inflight.add(held);
    return held;
  }

  async #settle(record: CommandRecord): Promise<void> {
    const r = await this.#agent.whenReportsSettled(record.reports, this.#stop.signal);
    if (r.outcome === 'stopped') return; // the record stays: the next start finishes it
    const told =
      r.outcome === 'delivered'
        ? await this.#tell(record.commandId, 'complete', () =>
            this.#platform.complete(record.commandId, {
              findings: record.findings,
              duration_ms: record.durationMs,
              reports: record.allReports,
            }),
          )
        : await this.#tell(record.commandId, 'fail', () =>
            this.#platform.fail(record.commandId, `not every report was delivered: ${r.reason}`),
          );
    if (told) await rm(fileOf(this.#dir, record.commandId), { force: true });
    if (r.outcome === 'failed') {
      this.#audit('ERROR', `command ${record.commandId} failed: ${r.reason}`, record.commandId);
    }
  }

  /**
   * Tells the platform, retrying transient failures (it may be down as long as it likes) until it answers or the
   * agent stops. False when it could not be told (stopping: the record stays for the next start). A refusal for
   * good (the command expired, or another agent holds it) is audited and ends the command here.
   */
  async #tell(commandId: string, what: string, call: () => Promise<unknown>): Promise<boolean> {
    for (let attempt = 0; ; attempt++) {
      try {
        await call();
        return true;
      } catch (e) {
        if (isRediverError(e) && !e.retryable) {
          this.#audit('WARN', `platform refused to ${what} command ${commandId}: ${e.message}`, commandId, e);
          return true;
        }
        if (this.#stop.signal.aborted) return false;
        if (attempt === 0 || attempt % 10 === 0) {
          this.#audit(
            'WARN',
            `could not ${what} command ${commandId} yet (retrying): ${(e as Error).message}`,
            commandId,
            e,
          );
        }
        const delay = PLATFORM_RETRY_MS[Math.min(attempt, PLATFORM_RETRY_MS.length - 1)]!;
        await new Promise<void>((resolve) => {
          const done = (): void => {
            clearTimeout(t);
            this.#stop.signal.removeEventListener('abort', done);
            resolve();
          };
          const t = setTimeout(done, delay);
          this.#stop.signal.addEventListener('abort', done, { once: true });
        });
        if (this.#stop.signal.aborted) return false;
      }
    }
  }

  async #save(record: CommandRecord): Promise<void> {
    await mkdir(this.#dir, { recursive: true, mode: 0o700 });
    const file = fileOf(this.#dir, record.commandId);
    const tmp = `${file}.tmp`;
    await writeFile(tmp, JSON.stringify(record), { mode: 0o600 });
    await rename(tmp, file);
  }

  #audit(severity: 'WARN' | 'ERROR', message: string, commandId?: string, error?: unknown): void {
    try {
      this.#agent.deps.audit.log({
        type: T.agentError,
        severity,
        message,
        ...(commandId === undefined ? {} : { jobId: commandId }),
        ...(error === undefined ? {} : { error }),
      });
    } catch {
      // The audit logger reports its own failures.
    }
  }
}
