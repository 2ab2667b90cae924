// Test double at the boundary the pipeline owns: a ReportUploader whose calls the test settles by hand.
import type { Report, ReportUploader, UploadAttemptOptions, UploadResult } from '@rediver/core';

/** One uploadReport call, settled by the test. */
export interface FakeCall {
  readonly report: Report;
  readonly signal: AbortSignal | undefined;
  readonly idempotencyKey: string | undefined;
  settled: boolean;
  /** The signal fired while the call was open. */
  aborted: boolean;
  resolve(result?: UploadResult): void;
  reject(error: unknown): void;
}

/** A successful result for `report`. */
export function okResult(report: Report): UploadResult {
  return {
    reportId: report.metadata.id,
    assetsCreated: 0,
    assetsUpdated: 0,
    findingsCreated: report.findings?.length ?? 0,
    findingsUpdated: 0,
    findingsSkipped: 0,
  };
}

/** Records calls; counts how many are open at once. */
export class FakeUploader implements ReportUploader {
  readonly calls: FakeCall[] = [];
  active = 0;
  maxActive = 0;
  /** When false the uploader ignores its signal (a broken uploader). */
  honourAbort = true;

  uploadReport(report: Report, options?: UploadAttemptOptions): Promise<UploadResult> {
    return new Promise<UploadResult>((res, rej) => {
      this.active++;
      this.maxActive = Math.max(this.maxActive, this.active);
      const close = (): boolean => {
        if (call.settled) return false;
        call.settled = true;
        this.active--;
        return true;
      };
      const signal = options?.signal;
      const call: FakeCall = {
        report,
        signal,
        idempotencyKey: options?.idempotencyKey,
        settled: false,
        aborted: false,
        resolve: (result) => {
          if (close()) res(result ?? okResult(report));
        },
        reject: (error) => {
          // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- tests reject with anything, as a broken uploader may
          if (close()) rej(error);
        },
      };
      this.calls.push(call);
      if (this.honourAbort && signal !== undefined) {
        const onAbort = (): void => {
          call.aborted = true;
          call.reject(signal.reason);
        };
        if (signal.aborted) onAbort();
        else signal.addEventListener('abort', onAbort, { once: true });
      }
    });
  }

  /** Calls not settled yet, oldest first. */
  open(): FakeCall[] {
    return this.calls.filter((c) => !c.settled);
  }
}

/** Lets every queued microtask (and promise chain) run, using a real macrotask. */
export function tick(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
