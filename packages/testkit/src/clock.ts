// Clocks for tests: a hand-moved `Clock` for code that takes one, and vitest's fake timers with the sets the
// tests use (wrapping `vi.useFakeTimers` so every file fakes the same names).
import type { Clock } from '@rediver/core';
import { vi } from 'vitest';

/** A `Clock` the test moves by hand. */
export interface ManualClock extends Clock {
  set(ms: number): void;
  advance(ms: number): void;
}

/** The default start of manual clocks: 2026-01-15T10:30:00Z. */
export const MANUAL_CLOCK_START_MS = Date.UTC(2026, 0, 15, 10, 30, 0, 0);

/** A clock at `startMs` that moves only when the test says so. */
export function manualClock(startMs = MANUAL_CLOCK_START_MS): ManualClock {
  let now = startMs;
  return {
    now: () => now,
    set: (ms) => {
      now = ms;
    },
    advance: (ms) => {
      now += ms;
    },
  };
}

/** Which timers `fakeTimers` fakes. */
export type FakeTimerSet =
  /** `setTimeout`/`clearTimeout` and `Date`: retry delays and deadlines. */
  | 'timeouts'
  /** `setInterval`/`clearInterval` only: periodic maintenance, real time otherwise. */
  | 'intervals'
  /** Both, and `Date`. */
  | 'all';

const TO_FAKE = {
  timeouts: ['setTimeout', 'clearTimeout', 'Date'],
  intervals: ['setInterval', 'clearInterval'],
  all: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'],
} as const;

/**
 * Installs vitest's fake timers for `set` (optionally with `Date.now()` at `now`); undo with `vi.useRealTimers()`
 * (or `realTimers()`) in `afterEach`. Promises, `setImmediate` and I/O stay real.
 */
export function fakeTimers(set: FakeTimerSet, now?: number): void {
  vi.useFakeTimers({ toFake: [...TO_FAKE[set]], ...(now === undefined ? {} : { now }) });
}

/** Restores real timers (idempotent). */
export function realTimers(): void {
  vi.useRealTimers();
}
