import { backoffDelayMs, parseRetryAfter } from '@rediver/core';
import { AuditError } from '../auditError';

/** Settings of remote shipping. */
export interface RemoteShipperConfig {
  url: string;
  format: 'json' | 'ndjson';
  headers: Readonly<Record<string, string>>;
  batchSize: number;
  maxBacklog: number;
  timeoutMs: number;
  retryBaseMs: number;
  retryMaxMs: number;
  random: () => number;
  /** Epoch ms, for `Retry-After` dates. */
  now: () => number;
  hooks: RemoteShipperHooks;
}

/** Why remote lines were dropped. */
export type RemoteDropReason = 'remote_backlog_full' | 'remote_rejected' | 'remote_closed';

/** What the shipper reports. */
export interface RemoteShipperHooks {
  sent(lines: number, attempt: number): void;
  retry(attempt: number, delayMs: number, error: AuditError): void;
  dropped(count: number, reason: RemoteDropReason, error?: AuditError): void;
  /** Called after a success that followed drops: the total dropped since the last report. */
  recovered(droppedSinceLastReport: number): void;
}

/** A backoff wait: idle background work (nothing a caller awaits depends on it until close, which has its own timer). */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    timer.unref();
    signal.addEventListener('abort', done, { once: true });
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
  });
}

/**
 * Ships written lines to an HTTP endpoint in order, one batch at a time, with exponential backoff and equal
 * jitter (core's `backoffDelayMs`: half the step fixed, half random; a `Retry-After` is a minimum, capped at
 * `retryMaxMs`). The backlog is bounded: when full, the oldest lines are dropped (counted and reported). Nothing here
 * ever blocks or fails local logging.
 */
export class RemoteShipper {
  private backlog: string[] = [];
  /** Index of the first queued line in `backlog`. */
  private head = 0;
  /** Lines removed from the array's front by compaction (absolute index = removed + index). */
  private removed = 0;
  private running: Promise<void> | undefined;
  private readonly stop = new AbortController();
  private wake = new AbortController();
  private closing: Promise<number> | undefined;
  private unreportedDrops = 0;

  constructor(private readonly config: RemoteShipperConfig) {}

  /** Whether `close()` was called (later lines are dropped). */
  get closingStarted(): boolean {
    return this.closing !== undefined;
  }

  /** Lines currently queued for the endpoint. */
  get backlogSize(): number {
    return this.backlog.length - this.head;
  }

  /** Queues written lines (`text`: lines each ending in a newline; `count` of them). */
  enqueue(text: string, count: number): void {
    if (this.closing) {
      if (count > 0) this.drop(count, 'remote_closed');
      return;
    }
    let pos = 0;
    while (pos < text.length) {
      const nl = text.indexOf('\n', pos);
      const end = nl < 0 ? text.length : nl;
      this.backlog.push(text.slice(pos, end));
      pos = end + 1;
    }
    const over = this.backlogSize - this.config.maxBacklog;
    if (over > 0) {
      this.head += over;
      this.drop(over, 'remote_backlog_full');
    }
    this.compact();
    this.running ??= this.loop().finally(() => {
      this.running = undefined;
    });
  }

  private compact(): void {
    if (this.head > 1024 && this.head * 2 > this.backlog.length) {
      this.backlog = this.backlog.slice(this.head);
      this.removed += this.head;
      this.head = 0;
    }
  }

  private drop(count: number, reason: RemoteDropReason, error?: AuditError): void {
    this.unreportedDrops += count;
    this.config.hooks.dropped(count, reason, error);
  }

  private async loop(): Promise<void> {
    let attempt = 0;
    while (this.backlogSize > 0 && !this.stop.signal.aborted) {
      const batch = this.backlog.slice(this.head, this.head + this.config.batchSize);
      const endAbs = this.removed + this.head + batch.length;
      attempt++;
      const outcome = await this.send(batch);
      if (outcome === 'ok' || outcome === 'rejected') {
        // Drops for space only move the front forward; skip what is left of this batch.
        const headAbs = this.removed + this.head;
        if (headAbs < endAbs) this.head = endAbs - this.removed;
        if (outcome === 'ok') {
          this.config.hooks.sent(batch.length, attempt);
          if (this.unreportedDrops > 0) this.config.hooks.recovered(this.takeUnreportedDrops());
        }
        attempt = 0;
        this.compact();
        continue;
      }
      if (this.stop.signal.aborted) return;
      const delay = backoffDelayMs(
        {
          baseDelayMs: this.config.retryBaseMs,
          maxDelayMs: this.config.retryMaxMs,
          jitter: 'equal',
          maxRetryAfterMs: this.config.retryMaxMs,
        },
        { retry: attempt, random: this.config.random(), retryAfterMs: outcome.retryAfterMs },
      );
      this.config.hooks.retry(attempt, delay, outcome.error);
      this.wake = new AbortController();
      await sleep(delay, AbortSignal.any([this.stop.signal, this.wake.signal]));
    }
  }

  private async send(
    batch: readonly string[],
  ): Promise<'ok' | 'rejected' | { error: AuditError; retryAfterMs?: number }> {
    const body = this.config.format === 'ndjson' ? batch.join('\n') + '\n' : '[' + batch.join(',') + ']';
    const signal = AbortSignal.any([this.stop.signal, AbortSignal.timeout(this.config.timeoutMs)]);
    try {
      const res = await fetch(this.config.url, {
        method: 'POST',
        headers: {
          'content-type': this.config.format === 'ndjson' ? 'application/x-ndjson' : 'application/json',
          ...this.config.headers,
        },
        body,
        signal,
      });
      await res.arrayBuffer().catch(() => undefined);
      if (res.ok) return 'ok';
      const status = res.status;
      if (status === 408 || status === 429 || status >= 500) {
        const ra = parseRetryAfter(res.headers.get('retry-after'), this.config.now());
        const code = status === 429 ? 'RATE_LIMITED' : 'SERVER_ERROR';
        const error = new AuditError(code, `audit remote endpoint answered ${status}`, { status });
        return ra === undefined ? { error } : { error, retryAfterMs: ra };
      }
      // Any other 4xx will not change by sending the same batch again (the Go SDK retried these forever).
      const error = new AuditError(
        status === 401 || status === 403 ? 'AUTH_FAILED' : 'REQUEST_REJECTED',
        `audit remote endpoint refused a batch with ${status}; the batch is dropped`,
        { status },
      );
      this.drop(batch.length, 'remote_rejected', error);
      return 'rejected';
    } catch (err) {
      const timedOut = (err as { name?: string } | null)?.name === 'TimeoutError';
      const message = `audit remote endpoint unreachable: ${String(err)}`;
      return { error: new AuditError(timedOut ? 'TIMEOUT' : 'NETWORK', message, { cause: err }) };
    }
  }

  /**
   * Keeps trying (without waiting out the current backoff) until the backlog is delivered or `deadlineMs`
   * passes, then drops and reports what is left. Resolves with the number of lines dropped; idempotent.
   */
  close(deadlineMs: number): Promise<number> {
    this.closing ??= this.doClose(deadlineMs);
    return this.closing;
  }

  private async doClose(deadlineMs: number): Promise<number> {
    // Referenced: close() awaits this loop, so the deadline must keep the process alive until it fires.
    const timer = setTimeout(() => this.stop.abort(), deadlineMs);
    this.wake.abort();
    if (this.running) await this.running;
    clearTimeout(timer);
    this.stop.abort();
    const left = this.backlogSize;
    this.backlog = [];
    this.head = 0;
    if (left > 0) this.drop(left, 'remote_closed');
    return left;
  }

  /** Lines dropped and not yet reported as an audit line (resets the count). */
  takeUnreportedDrops(): number {
    const n = this.unreportedDrops;
    this.unreportedDrops = 0;
    return n;
  }
}
