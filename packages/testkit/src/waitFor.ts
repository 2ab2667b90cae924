// Bounded polling on real time, for conditions that arrive asynchronously (a server's view, a child's output).

/** Options of `waitFor`. */
export interface WaitForOptions {
  /** Give up after this long, ms (default 20 s: generous for a loaded 2-core CI machine). */
  timeoutMs?: number;
  /** Poll every this many ms (default 10). */
  intervalMs?: number;
  /** What is awaited, for the timeout message. */
  what?: string;
}

/**
 * Resolves once `check()` returns true; rejects with `timed out after N ms waiting for <what>` otherwise.
 * `options` may be a plain timeout in ms.
 */
export async function waitFor(
  check: () => boolean | Promise<boolean>,
  options: number | WaitForOptions = {},
): Promise<void> {
  const {
    timeoutMs = 10_000,
    intervalMs = 10,
    what = 'a condition',
  } = typeof options === 'number' ? { timeoutMs: options } : options;
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** Rejects after `ms` with `what` when `promise` has not settled by then (bounds every wait in a test). */
export function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
