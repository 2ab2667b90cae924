import type { QueueItem, UploadAttemptOptions } from '@rediver/core';

/** One upload attempt in flight. */
export class Attempt {
  /**
   * Created only when the uploader reads `signal`: an `AbortController` per upload costs more than
   * the rest of an attempt on Node 20 (and retained signals weigh on the GC); an uploader that never
   * looks needs none.
   */
  controller: AbortController | undefined = undefined;
  /** Why the attempt was aborted (timeout or stop), once it was. */
  abortReason: Error | undefined = undefined;
  timedOut = false;
  /** The outcome is decided (delivered, failed, retried or handed back); later news is ignored. */
  settled = false;

  constructor(
    readonly item: QueueItem,
    /** Clock ms at which the attempt times out (or, once timed out, the end of the abort grace). */
    public deadline: number,
  ) {}

  /** The signal handed to the uploader (created on first use, already aborted if it is late). */
  signal(): AbortSignal {
    let controller = this.controller;
    if (controller === undefined) {
      controller = this.controller = new AbortController();
      if (this.abortReason !== undefined) controller.abort(this.abortReason);
    }
    return controller.signal;
  }

  /** Fires the signal (if anyone holds it); only the first reason counts. */
  abort(reason: Error): void {
    if (this.abortReason !== undefined) return;
    this.abortReason = reason;
    this.controller?.abort(reason);
  }
}

/**
 * What the uploader receives. `signal` is a getter so that the `AbortController` only exists when
 * read: read or destructure it (`options.signal`, `const { signal } = options`) — a spread copy
 * (`{ ...options }`) does not carry it. (An object literal with an own getter would survive a spread
 * but costs microseconds per upload in V8.)
 */
export class AttemptOptions implements UploadAttemptOptions {
  readonly idempotencyKey: string;
  readonly #attempt: Attempt;

  constructor(attempt: Attempt) {
    this.#attempt = attempt;
    this.idempotencyKey = attempt.item.id;
  }

  /** Fires at `uploadTimeoutMs` and when the pipeline stops without drain. */
  get signal(): AbortSignal {
    return this.#attempt.signal();
  }
}
